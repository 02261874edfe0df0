//! In-memory maps for the interpreter, with the kernel's key and value
//! checks and update semantics: arrays (every index exists, values zeroed,
//! no delete), hashes (`max_entries` bounded, `E2BIG` when full), LRU hashes
//! (the least recently used entry makes room), per-CPU variants (one value
//! per CPU, the program sees its CPU's), ring buffers and program arrays.

use std::collections::{HashMap, VecDeque};

use bpf_sys::MapType;

use crate::Program;

/// `BPF_NOEXIST`, `BPF_EXIST` (`BPF_ANY` is 0).
const NOEXIST: u64 = bpf_sys::BPF_NOEXIST as u64;
const EXIST: u64 = bpf_sys::BPF_EXIST as u64;

/// Why a map operation failed, as the kernel's errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapError {
    /// `ENOENT`: no such key (or index out of range for a lookup).
    NotFound,
    /// `EEXIST`: the key exists and `BPF_NOEXIST` was given.
    Exists,
    /// `E2BIG`: the map is full (or the index is past `max_entries`).
    Full,
    /// `EINVAL`: bad flags, a delete on an array, a wrong size.
    Invalid,
}

impl MapError {
    /// The negative errno a helper returns.
    pub(crate) fn errno(self) -> i64 {
        -i64::from(match self {
            MapError::NotFound => libc::ENOENT,
            MapError::Exists => libc::EEXIST,
            MapError::Full => libc::E2BIG,
            MapError::Invalid => libc::EINVAL,
        })
    }
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MapError::NotFound => "no such key (ENOENT)",
            MapError::Exists => "the key exists (EEXIST)",
            MapError::Full => "the map is full (E2BIG)",
            MapError::Invalid => "invalid argument (EINVAL)",
        })
    }
}

impl std::error::Error for MapError {}

/// What a map holds.
#[derive(Debug)]
enum Store {
    /// Arrays: `max_entries * cpus` values, in index-major order.
    Array(Vec<u8>),
    /// Hashes: entries in a slab (stable slots, so a value pointer stays
    /// valid while the entry lives), an index by key, and the use order
    /// (LRU hashes evict its front).
    Hash {
        slots: Vec<Option<(Vec<u8>, Vec<u8>)>>,
        index: HashMap<Vec<u8>, usize>,
        free: Vec<usize>,
        order: VecDeque<usize>,
    },
    /// Ring buffers: committed records, and the bytes still free.
    Ring {
        records: VecDeque<Vec<u8>>,
        reserved: HashMap<u64, Vec<u8>>,
        next_id: u64,
        used: usize,
    },
    /// Program arrays: the programs tail calls may enter.
    Progs(Vec<Option<Program>>),
}

/// The storage of an in-memory map, with the kernel's semantics for the
/// program's helpers; users reach it through [`Map::in_memory`](crate::Map::in_memory)
/// and the typed handles.
#[derive(Debug)]
pub(crate) struct MemMap {
    map_type: MapType,
    key_size: usize,
    value_size: usize,
    max_entries: usize,
    cpus: usize,
    cpu: usize,
    store: Store,
}

impl MemMap {
    /// A map of `map_type` with these sizes (one CPU for per-CPU maps; see
    /// [`with_cpus`](Self::with_cpus)).
    pub(crate) fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        let (key_size, value_size, max_entries) =
            (key_size as usize, value_size as usize, max_entries as usize);
        let store = Self::empty(map_type, value_size, max_entries, 1);
        MemMap {
            map_type,
            key_size,
            value_size,
            max_entries,
            cpus: 1,
            cpu: 0,
            store,
        }
    }

    fn empty(map_type: MapType, value_size: usize, max_entries: usize, cpus: usize) -> Store {
        match map_type {
            MapType::Array | MapType::PercpuArray => {
                Store::Array(vec![0; value_size * max_entries * cpus])
            }
            MapType::Ringbuf => Store::Ring {
                records: VecDeque::new(),
                reserved: HashMap::new(),
                next_id: 1,
                used: 0,
            },
            MapType::ProgArray => Store::Progs(vec![None; max_entries]),
            _ => Store::Hash {
                slots: Vec::new(),
                index: HashMap::new(),
                free: Vec::new(),
                order: VecDeque::new(),
            },
        }
    }

    /// The same map with `cpus` CPUs (per-CPU maps keep a value for each).
    #[must_use]
    pub(crate) fn with_cpus(mut self, cpus: usize) -> Self {
        self.cpus = cpus.max(1);
        self.store = Self::empty(self.map_type, self.value_size, self.max_entries, self.cpus);
        self
    }

    /// The map type.
    pub(crate) fn map_type(&self) -> MapType {
        self.map_type
    }

    /// Key size in bytes.
    pub(crate) fn key_size(&self) -> usize {
        self.key_size
    }

    /// Value size in bytes.
    pub(crate) fn value_size(&self) -> usize {
        self.value_size
    }

    pub(crate) fn per_cpu(&self) -> bool {
        matches!(
            self.map_type,
            MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
        )
    }

    fn lru(&self) -> bool {
        matches!(self.map_type, MapType::LruHash | MapType::LruPercpuHash)
    }

    /// Bytes one entry's value takes: a value per CPU for per-CPU maps.
    fn stride(&self) -> usize {
        if self.per_cpu() {
            self.value_size * self.cpus
        } else {
            self.value_size
        }
    }

    /// The CPU whose per-CPU values the program sees.
    pub(crate) fn set_cpu(&mut self, cpu: usize) {
        self.cpu = cpu.min(self.cpus - 1);
    }

    fn array_index(&self, key: &[u8]) -> Option<usize> {
        let k: [u8; 4] = key.try_into().ok()?;
        let i = u32::from_ne_bytes(k) as usize;
        (i < self.max_entries).then_some(i)
    }

    /// The slot of `key` (array index or hash slot), if present, marking
    /// it used for LRU.
    pub(crate) fn find(&mut self, key: &[u8]) -> Option<usize> {
        if key.len() != self.key_size {
            return None;
        }
        if matches!(self.store, Store::Array(_)) {
            return self.array_index(key);
        }
        let lru = self.lru();
        let Store::Hash { index, order, .. } = &mut self.store else {
            return None;
        };
        let slot = *index.get(key)?;
        if lru {
            order.retain(|&s| s != slot);
            order.push_back(slot);
        }
        Some(slot)
    }

    /// The value bytes of `slot` (this CPU's for per-CPU maps).
    pub(crate) fn value_mut(&mut self, slot: usize) -> Option<&mut [u8]> {
        let (stride, size) = (self.stride(), self.value_size);
        let at = if self.per_cpu() { self.cpu * size } else { 0 };
        match &mut self.store {
            Store::Array(bytes) => bytes.get_mut(slot * stride + at..slot * stride + at + size),
            Store::Hash { slots, .. } => slots
                .get_mut(slot)?
                .as_mut()
                .and_then(|(_, v)| v.get_mut(at..at + size)),
            _ => None,
        }
    }

    /// Looks `key` up: this CPU's value for per-CPU maps.
    #[cfg(test)]
    pub(crate) fn lookup(&mut self, key: &[u8]) -> Option<&[u8]> {
        let slot = self.find(key)?;
        self.value_mut(slot).map(|v| &*v)
    }

    /// Every CPU's value of `key`, for per-CPU maps (one value otherwise).
    pub(crate) fn lookup_all_cpus(&mut self, key: &[u8]) -> Option<Vec<Vec<u8>>> {
        let slot = self.find(key)?;
        let (stride, size) = (self.stride(), self.value_size);
        let all: &[u8] = match &self.store {
            Store::Array(bytes) => &bytes[slot * stride..slot * stride + stride],
            Store::Hash { slots, .. } => &slots.get(slot)?.as_ref()?.1,
            _ => return None,
        };
        Some(all.chunks(size).map(<[u8]>::to_vec).collect())
    }

    /// Inserts or replaces, with the kernel's flags (`BPF_ANY`,
    /// `BPF_NOEXIST`, `BPF_EXIST`); for per-CPU maps the value is this CPU's.
    pub(crate) fn update(&mut self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if key.len() != self.key_size || value.len() != self.value_size || flags > EXIST {
            return Err(MapError::Invalid);
        }
        if matches!(self.store, Store::Array(_)) {
            let Some(i) = self.array_index(key) else {
                return Err(MapError::Full);
            };
            if flags == NOEXIST {
                return Err(MapError::Exists);
            }
            let v = self.value_mut(i).ok_or(MapError::Invalid)?;
            v.copy_from_slice(value);
            return Ok(());
        }
        let (stride, size, cpu, per_cpu, lru, max) = (
            self.stride(),
            self.value_size,
            self.cpu,
            self.per_cpu(),
            self.lru(),
            self.max_entries,
        );
        let Store::Hash {
            slots,
            index,
            free,
            order,
        } = &mut self.store
        else {
            return Err(MapError::Invalid);
        };
        let at = if per_cpu { cpu * size } else { 0 };
        if let Some(&slot) = index.get(key) {
            if flags == NOEXIST {
                return Err(MapError::Exists);
            }
            if let Some((_, v)) = slots[slot].as_mut() {
                v[at..at + size].copy_from_slice(value);
            }
            if lru {
                order.retain(|&s| s != slot);
                order.push_back(slot);
            }
            return Ok(());
        }
        if flags == EXIST {
            return Err(MapError::NotFound);
        }
        if index.len() >= max {
            // An LRU hash makes room; a plain hash is full.
            let victim = if lru { order.pop_front() } else { None };
            let Some(victim) = victim else {
                return Err(MapError::Full);
            };
            if let Some((k, _)) = slots[victim].take() {
                index.remove(&k);
            }
            free.push(victim);
        }
        let mut v = vec![0; stride];
        v[at..at + size].copy_from_slice(value);
        let slot = match free.pop() {
            Some(s) => {
                slots[s] = Some((key.to_vec(), v));
                s
            }
            None => {
                slots.push(Some((key.to_vec(), v)));
                slots.len() - 1
            }
        };
        index.insert(key.to_vec(), slot);
        order.push_back(slot);
        Ok(())
    }

    /// Inserts or replaces every CPU's value of `key` at once (per-CPU
    /// maps; `values` has one per CPU).
    pub(crate) fn update_all_cpus(
        &mut self,
        key: &[u8],
        values: &[&[u8]],
        flags: u64,
    ) -> Result<(), MapError> {
        if !self.per_cpu() || values.len() != self.cpus {
            return match values.first() {
                Some(v) if values.len() == 1 => self.update(key, v, flags),
                _ => Err(MapError::Invalid),
            };
        }
        let cpu = self.cpu;
        let mut result = Ok(());
        for (i, v) in values.iter().enumerate() {
            self.cpu = i;
            // The first write honours the flags; the others update it.
            let f = if i == 0 { flags } else { EXIST };
            if let Err(e) = self.update(key, v, f) {
                result = Err(e);
                break;
            }
        }
        self.cpu = cpu;
        result
    }

    /// Removes `key`: `ENOENT` if absent, `EINVAL` for arrays.
    pub(crate) fn delete(&mut self, key: &[u8]) -> Result<(), MapError> {
        let Store::Hash {
            slots,
            index,
            free,
            order,
        } = &mut self.store
        else {
            return Err(MapError::Invalid);
        };
        let slot = index.remove(key).ok_or(MapError::NotFound)?;
        slots[slot] = None;
        order.retain(|&s| s != slot);
        free.push(slot);
        Ok(())
    }

    /// The keys, in slot order.
    pub(crate) fn keys(&self) -> Vec<Vec<u8>> {
        match &self.store {
            Store::Array(_) => (0..self.max_entries as u32)
                .map(|i| i.to_ne_bytes().to_vec())
                .collect(),
            Store::Hash { slots, .. } => slots.iter().flatten().map(|(k, _)| k.clone()).collect(),
            _ => Vec::new(),
        }
    }

    /// The number of entries (`max_entries` for arrays).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match &self.store {
            Store::Array(_) => self.max_entries,
            Store::Hash { index, .. } => index.len(),
            Store::Ring { records, .. } => records.len(),
            Store::Progs(p) => p.iter().flatten().count(),
        }
    }

    /// For a program array: puts `prog` at `index` for tail calls.
    pub(crate) fn set_program(&mut self, index: u32, prog: Program) -> Result<(), MapError> {
        match &mut self.store {
            Store::Progs(p) => {
                let slot = p.get_mut(index as usize).ok_or(MapError::Full)?;
                *slot = Some(prog);
                Ok(())
            }
            _ => Err(MapError::Invalid),
        }
    }

    pub(crate) fn program(&self, index: u64) -> Option<&Program> {
        match &self.store {
            Store::Progs(p) => p.get(usize::try_from(index).ok()?)?.as_ref(),
            _ => None,
        }
    }

    /// For a ring buffer: takes the oldest committed record.
    pub(crate) fn pop_record(&mut self) -> Option<Vec<u8>> {
        match &mut self.store {
            Store::Ring { records, used, .. } => {
                let r = records.pop_front()?;
                *used -= ring_cost(r.len());
                Some(r)
            }
            _ => None,
        }
    }

    /// Reserves `size` bytes of the ring (its `max_entries` is the size in
    /// bytes; each record also takes its 8-byte header, rounded to 8).
    pub(crate) fn reserve(&mut self, size: usize) -> Option<u64> {
        let cap = self.max_entries;
        let Store::Ring {
            reserved,
            next_id,
            used,
            ..
        } = &mut self.store
        else {
            return None;
        };
        if *used + ring_cost(size) > cap {
            return None;
        }
        *used += ring_cost(size);
        let id = *next_id;
        *next_id += 1;
        reserved.insert(id, vec![0; size]);
        Some(id)
    }

    pub(crate) fn record_mut(&mut self, id: u64) -> Option<&mut Vec<u8>> {
        match &mut self.store {
            Store::Ring { reserved, .. } => reserved.get_mut(&id),
            _ => None,
        }
    }

    /// Commits (`submit`) or drops (`discard`) a reserved record.
    pub(crate) fn finish_record(&mut self, id: u64, submit: bool) -> bool {
        let Store::Ring {
            records,
            reserved,
            used,
            ..
        } = &mut self.store
        else {
            return false;
        };
        let Some(r) = reserved.remove(&id) else {
            return false;
        };
        if submit {
            records.push_back(r);
        } else {
            *used -= ring_cost(r.len());
        }
        true
    }
}

/// Bytes a record of `size` takes in a ring buffer.
fn ring_cost(size: usize) -> usize {
    (size + bpf_sys::BPF_RINGBUF_HDR_SZ as usize).next_multiple_of(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: u64 = bpf_sys::BPF_ANY as u64;

    #[test]
    fn hash_flags_and_capacity() {
        let mut m = MemMap::new(MapType::Hash, 4, 4, 2);
        let k = |x: u32| x.to_ne_bytes();
        m.update(&k(1), &k(10), ANY).unwrap();
        assert_eq!(m.update(&k(1), &k(11), NOEXIST), Err(MapError::Exists));
        assert_eq!(m.update(&k(2), &k(20), EXIST), Err(MapError::NotFound));
        m.update(&k(2), &k(20), ANY).unwrap();
        assert_eq!(m.update(&k(3), &k(30), ANY), Err(MapError::Full));
        m.delete(&k(1)).unwrap();
        assert_eq!(m.delete(&k(1)), Err(MapError::NotFound));
        m.update(&k(3), &k(30), ANY).unwrap();
        assert_eq!(m.lookup(&k(3)), Some(&k(30)[..]));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut m = MemMap::new(MapType::LruHash, 4, 4, 2);
        let k = |x: u32| x.to_ne_bytes();
        m.update(&k(1), &k(10), ANY).unwrap();
        m.update(&k(2), &k(20), ANY).unwrap();
        assert!(m.lookup(&k(1)).is_some());
        m.update(&k(3), &k(30), ANY).unwrap();
        assert!(m.lookup(&k(2)).is_none(), "2 was used least recently");
        assert!(m.lookup(&k(1)).is_some());
    }

    #[test]
    fn arrays_and_per_cpu_values() {
        let mut m = MemMap::new(MapType::PercpuArray, 4, 8, 4).with_cpus(2);
        m.set_cpu(1);
        m.update(&2u32.to_ne_bytes(), &5u64.to_ne_bytes(), ANY)
            .unwrap();
        let all = m.lookup_all_cpus(&2u32.to_ne_bytes()).unwrap();
        assert_eq!(all, [vec![0; 8], 5u64.to_ne_bytes().to_vec()]);
        assert_eq!(m.delete(&2u32.to_ne_bytes()), Err(MapError::Invalid));
        assert_eq!(
            m.update(&9u32.to_ne_bytes(), &5u64.to_ne_bytes(), ANY),
            Err(MapError::Full)
        );
    }

    #[test]
    fn ring_reserve_submit_discard() {
        let mut m = MemMap::new(MapType::Ringbuf, 0, 0, 64);
        let a = m.reserve(20).unwrap();
        assert!(m.reserve(40).is_none(), "28 + 48 > 64");
        m.record_mut(a).unwrap()[0] = 7;
        assert!(m.finish_record(a, true));
        let b = m.reserve(8).unwrap();
        assert!(m.finish_record(b, false));
        assert_eq!(m.pop_record().unwrap()[0], 7);
        assert!(m.pop_record().is_none());
    }
}
