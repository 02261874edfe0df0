//! Maps: creating them (`BPF_MAP_CREATE`), the untyped handle [`Map`], and
//! the typed handles built on it ([`Array`], [`HashMap`], [`PerCpuArray`],
//! [`PerCpuHashMap`], [`ProgramArray`], [`RingBuf`]).
//!
//! Keys and values of the typed handles are plain-old-data types: anything
//! that implements zerocopy's `FromBytes`, `IntoBytes` and `Immutable`
//! (integers, arrays of them, and `#[repr(C)]` structs without padding that
//! derive them). Their sizes are checked against the map once, when the
//! handle is made.

use std::collections::HashSet;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::error::{ENOTSUPP, Error, Result, Syscall};
use crate::sys::{self, Bpf, MapRef};
use crate::{MapSpec, MapType};

pub(crate) mod memory;
mod ringbuf;
mod typed;

pub use ringbuf::{RingBuf, RingBufRecord};
pub use typed::{Array, HashMap, PerCpuArray, PerCpuHashMap, ProgramArray};

/// A plain-old-data key or value: any bit pattern is a value, and its bytes
/// can be read (zerocopy's `FromBytes + IntoBytes + Immutable`, which
/// `#[derive(FromBytes, IntoBytes, Immutable)]` gives `#[repr(C)]` structs
/// without padding). Implemented for every such type.
///
/// ```
/// use zerocopy::{FromBytes, Immutable, IntoBytes};
///
/// #[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
/// #[repr(C)]
/// struct FlowKey { src: u32, dst: u32, proto: u32 }
///
/// fn is_pod<T: bpf_loader::Pod>() {}
/// is_pod::<FlowKey>();
/// is_pod::<[u8; 6]>();
/// ```
pub trait Pod: FromBytes + IntoBytes + Immutable + Sized {}

impl<T: FromBytes + IntoBytes + Immutable + Sized> Pod for T {}

/// How an update treats an existing key: `BPF_ANY`, `BPF_NOEXIST`,
/// `BPF_EXIST`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UpdateFlag {
    /// Create or replace (`BPF_ANY`).
    #[default]
    Any,
    /// Create only: [`Error::KeyExists`] if the key is present
    /// (`BPF_NOEXIST`).
    NoExist,
    /// Replace only: [`Error::KeyNotFound`] if the key is absent
    /// (`BPF_EXIST`).
    Exist,
}

impl UpdateFlag {
    /// The kernel's value.
    pub fn as_raw(self) -> u64 {
        u64::from(match self {
            UpdateFlag::Any => bpf_sys::BPF_ANY,
            UpdateFlag::NoExist => bpf_sys::BPF_NOEXIST,
            UpdateFlag::Exist => bpf_sys::BPF_EXIST,
        })
    }
}

/// The number of *possible* CPUs (`/sys/devices/system/cpu/possible`, not
/// the online count): how many values a per-CPU map holds per key, one per
/// possible CPU, in CPU order.
///
/// # Errors
///
/// [`Error::MapSyscall`] with [`Syscall::PossibleCpus`] if the file cannot be
/// read or parsed.
pub fn possible_cpus() -> Result<usize> {
    static CPUS: OnceLock<std::result::Result<usize, String>> = OnceLock::new();
    CPUS.get_or_init(|| {
        let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .map_err(|e| e.to_string())?;
        parse_cpu_list(&text).ok_or_else(|| format!("cannot parse {text:?}"))
    })
    .clone()
    .map_err(|e| {
        Error::map_call(
            Syscall::PossibleCpus,
            "per-CPU map",
            std::io::Error::other(e),
        )
    })
}

/// The number of CPUs in a list such as `0-3,5,7-8`.
fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut n = 0;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let a = part.parse::<usize>().ok()?;
                (a, a)
            }
        };
        n += b.checked_sub(a)? + 1;
    }
    (n > 0).then_some(n)
}

/// Whether values of this type are stored once per possible CPU.
fn is_per_cpu(t: MapType) -> bool {
    matches!(
        t,
        MapType::PercpuArray
            | MapType::PercpuHash
            | MapType::LruPercpuHash
            | MapType::PercpuCgroupStorage
    )
}

/// ``array map `counts` (key 4 B, value 8 B, 256 entries)``.
pub(crate) fn describe(spec: &MapSpec) -> String {
    let what = if spec.map_type == MapType::Ringbuf {
        format!("{} bytes", spec.max_entries)
    } else {
        format!(
            "key {} B, value {} B, {} entries",
            spec.key_size, spec.value_size, spec.max_entries
        )
    };
    let flags = if spec.flags == 0 {
        String::new()
    } else {
        format!(", flags {}", flag_names(spec.flags))
    };
    if spec.name.is_empty() {
        format!("unnamed {} map ({what}{flags})", spec.map_type)
    } else {
        format!("{} map `{}` ({what}{flags})", spec.map_type, spec.name)
    }
}

fn flag_names(flags: u32) -> String {
    MapSpec::flag_names(flags)
}

/// What the kernel would refuse about `spec`, checked before the system
/// call.
pub(crate) fn validate(spec: &MapSpec) -> std::result::Result<(), String> {
    spec.check(Some(sys::page_size() as u64))
}

/// Builds a `bpf(BPF_MAP_CREATE)` request: type, name, sizes, entries and
/// flags, checked before the call.
///
/// ```no_run
/// use bpf_loader::{Map, MapType};
///
/// let counts = Map::builder(MapType::Array)
///     .name("counts")
///     .key::<u32>()
///     .value::<u64>()
///     .max_entries(256)
///     .create()?;
/// assert_eq!(counts.value_size(), 8);
/// # Ok::<(), bpf_loader::Error>(())
/// ```
///
/// Kernel call: `bpf(BPF_MAP_CREATE)`, Linux 3.18 (arrays and hashes 3.19,
/// per-CPU maps 4.6, LRU 4.10, names 4.15, ring buffers 5.8); see bpf(2).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct MapBuilder {
    spec: MapSpec,
}

impl MapBuilder {
    /// A request for a map of type `map_type`, with every size 0 and no
    /// name.
    pub fn new(map_type: MapType) -> Self {
        MapBuilder {
            spec: MapSpec::new("", map_type, 0, 0, 0, 0),
        }
    }

    /// A request for exactly `spec` (a declaration of a program's
    /// `#![map(...)]`, for example).
    pub fn from_spec(spec: &MapSpec) -> Self {
        MapBuilder { spec: spec.clone() }
    }

    /// The kernel-visible name: ASCII letters, digits, `_` and `.`; the
    /// kernel keeps the first 15 bytes.
    pub fn name(mut self, name: &str) -> Self {
        self.spec.name = name.to_owned().into();
        self
    }

    /// Bytes per key.
    pub fn key_size(mut self, bytes: u32) -> Self {
        self.spec.key_size = bytes;
        self
    }

    /// Bytes per value (per CPU, for per-CPU maps).
    pub fn value_size(mut self, bytes: u32) -> Self {
        self.spec.value_size = bytes;
        self
    }

    /// The key size of `K`.
    pub fn key<K: Pod>(self) -> Self {
        self.key_size(size_u32::<K>())
    }

    /// The value size of `V`.
    pub fn value<V: Pod>(self) -> Self {
        self.value_size(size_u32::<V>())
    }

    /// The most entries (for a ring buffer: its size in bytes, a
    /// power-of-two multiple of the page size).
    pub fn max_entries(mut self, n: u32) -> Self {
        self.spec.max_entries = n;
        self
    }

    /// `map_flags`, or-ed `bpf_sys::BPF_F_*` constants (`BPF_F_NO_PREALLOC`
    /// for hashes, `BPF_F_RDONLY_PROG`, `BPF_F_MMAPABLE` for arrays, ...).
    pub fn flags(mut self, flags: u32) -> Self {
        self.spec.flags = flags;
        self
    }

    /// The request as it stands.
    pub fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// Creates the map.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMap`] before the call for what the kernel would
    /// refuse (zero sizes, a ring buffer size that is not a power-of-two
    /// multiple of the page size, a flag the type does not take, a bad
    /// name); [`Error::MapSyscall`] when the kernel refuses (`EPERM`:
    /// privilege; `E2BIG`/`ENOMEM`: too large; `EINVAL`: a field), each with
    /// a hint.
    pub fn create(&self) -> Result<Map> {
        self.create_with(&sys::Kernel)
    }

    pub(crate) fn create_with(&self, bpf: &dyn Bpf) -> Result<Map> {
        let spec = &self.spec;
        validate(spec).map_err(|reason| Error::InvalidMap {
            map: describe(spec),
            reason,
        })?;
        let max = bpf_sys::BPF_OBJ_NAME_LEN as usize - 1;
        let name = &spec.name.as_bytes()[..spec.name.len().min(max)];
        let attrs = sys::MapCreateAttrs {
            map_type: spec.map_type,
            key_size: spec.key_size,
            value_size: spec.value_size,
            max_entries: spec.max_entries,
            flags: spec.flags,
            name,
        };
        let fd = bpf
            .map_create(&attrs)
            .map_err(|e| Error::map_call(Syscall::MapCreate, describe(spec), e))?;
        Map::new(fd, spec.clone())
    }
}

fn size_u32<T>() -> u32 {
    u32::try_from(size_of::<T>()).unwrap_or(u32::MAX)
}

/// A map of any type, its layout known at run time: keys and values are
/// byte slices of the map's sizes. The typed handles wrap one; it owns the
/// map's fd (the kernel keeps the map while a program uses it).
///
/// ```no_run
/// use bpf_loader::{Map, MapType, UpdateFlag};
///
/// let map = Map::builder(MapType::Hash).key_size(2).value_size(3).max_entries(8).create()?;
/// map.update(&[1, 2], &[7, 8, 9], UpdateFlag::Any)?;
/// assert_eq!(map.lookup(&[1, 2])?, Some(vec![7, 8, 9]));
/// for key in map.keys() {
///     println!("{:?}", key?);
/// }
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct Map {
    fd: OwnedFd,
    spec: MapSpec,
    /// Bytes of one value buffer (per-CPU: 8-rounded value × possible CPUs).
    value_len: usize,
    described: String,
    /// The storage of an in-memory map ([`Map::in_memory`]), which answers
    /// the map commands instead of the kernel.
    memory: Option<memory::Shared>,
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("fd", &self.fd.as_raw_fd())
            .field("spec", &self.spec)
            .finish()
    }
}

impl Map {
    /// A builder for a new map of type `map_type`.
    pub fn builder(map_type: MapType) -> MapBuilder {
        MapBuilder::new(map_type)
    }

    /// Creates the map `spec` describes (as [`MapBuilder::create`]).
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`].
    pub fn create(spec: &MapSpec) -> Result<Map> {
        MapBuilder::from_spec(spec).create()
    }

    /// A handle on an existing map's fd, its type and sizes asked of the
    /// kernel (`BPF_OBJ_GET_INFO_BY_FD`, Linux 4.13). (Opening by pinned
    /// path or map id will build on this.)
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] with [`Syscall::ObjGetInfo`] when the fd is not
    /// a map.
    pub fn from_fd(fd: OwnedFd) -> Result<Map> {
        let info = info_of(&sys::Kernel, fd.as_fd())?;
        Map::new(fd, info)
    }

    fn new(fd: OwnedFd, spec: MapSpec) -> Result<Map> {
        let mut value_len = spec.value_size as usize;
        if is_per_cpu(spec.map_type) {
            value_len = value_len.next_multiple_of(8) * possible_cpus()?;
        }
        let described = describe(&spec);
        Ok(Map {
            fd,
            spec,
            value_len,
            described,
            memory: None,
        })
    }

    /// Who answers this map's commands: the kernel, or the in-memory map.
    fn bpf(&self) -> &dyn Bpf {
        match &self.memory {
            Some(m) => &**m,
            None => &sys::Kernel,
        }
    }

    /// The kernel's id of the map (`BPF_OBJ_GET_INFO_BY_FD`), as `bpftool
    /// map` shows it.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] with [`Syscall::ObjGetInfo`].
    pub fn id(&self) -> Result<u32> {
        self.bpf()
            .map_info(self.fd.as_fd())
            .map(|i| i.id)
            .map_err(|e| Error::map_call(Syscall::ObjGetInfo, self.described.clone(), e))
    }

    /// The map's type, sizes and flags.
    pub fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The map type.
    pub fn map_type(&self) -> MapType {
        self.spec.map_type
    }

    /// Bytes per key.
    pub fn key_size(&self) -> u32 {
        self.spec.key_size
    }

    /// Bytes per value (per CPU for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.spec.value_size
    }

    /// The most entries.
    pub fn max_entries(&self) -> u32 {
        self.spec.max_entries
    }

    /// The bytes a value buffer of [`lookup_into`](Self::lookup_into) needs:
    /// the value size, or for per-CPU maps the value size rounded up to 8
    /// times [`possible_cpus`].
    pub fn value_len(&self) -> usize {
        self.value_len
    }

    /// How messages name the map: ``hash map `flows` (key 12 B, ...)``.
    pub fn describe(&self) -> &str {
        &self.described
    }

    pub(crate) fn r(&self) -> MapRef<'_> {
        MapRef {
            fd: self.fd.as_fd(),
            key: self.spec.key_size as usize,
            value: self.value_len,
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() == self.spec.key_size as usize {
            return Ok(());
        }
        Err(Error::InvalidMap {
            map: self.described.clone(),
            reason: format!(
                "a key of {} bytes; the map's keys are {} bytes",
                key.len(),
                self.spec.key_size
            ),
        })
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() == self.value_len {
            return Ok(());
        }
        Err(Error::InvalidMap {
            map: self.described.clone(),
            reason: format!(
                "a value of {} bytes; the map's values take {} bytes",
                value.len(),
                self.value_len
            ),
        })
    }

    /// Looks `key` up into `value` (exactly [`value_len`](Self::value_len)
    /// bytes); `Ok(false)` when the key is absent. `bpf(BPF_MAP_LOOKUP_ELEM)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMap`] for buffers of the wrong size,
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn lookup_into(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        self.lookup_into_with(self.bpf(), key, value)
    }

    pub(crate) fn lookup_into_with(
        &self,
        bpf: &dyn Bpf,
        key: &[u8],
        value: &mut [u8],
    ) -> Result<bool> {
        self.check_key(key)?;
        self.check_value(value)?;
        match bpf.map_lookup_elem(self.r(), key, value) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(Error::map_call(
                Syscall::MapLookup,
                self.described.clone(),
                e,
            )),
        }
    }

    /// The value of `key`, or `None` when absent.
    ///
    /// # Errors
    ///
    /// As [`lookup_into`](Self::lookup_into).
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut value = vec![0; self.value_len];
        Ok(self.lookup_into(key, &mut value)?.then_some(value))
    }

    /// Sets `key` to `value` (`bpf(BPF_MAP_UPDATE_ELEM)`).
    ///
    /// # Errors
    ///
    /// [`Error::KeyExists`] (`EEXIST`, with [`UpdateFlag::NoExist`]),
    /// [`Error::KeyNotFound`] (`ENOENT`, with [`UpdateFlag::Exist`]),
    /// [`Error::MapSyscall`] otherwise (`E2BIG`: the map is full).
    pub fn update(&self, key: &[u8], value: &[u8], flag: UpdateFlag) -> Result<()> {
        self.update_with(self.bpf(), key, value, flag)
    }

    pub(crate) fn update_with(
        &self,
        bpf: &dyn Bpf,
        key: &[u8],
        value: &[u8],
        flag: UpdateFlag,
    ) -> Result<()> {
        self.check_key(key)?;
        self.check_value(value)?;
        bpf.map_update_elem(self.r(), key, value, flag.as_raw())
            .map_err(|e| self.elem_error(Syscall::MapUpdate, e))
    }

    /// Deletes `key` (`bpf(BPF_MAP_DELETE_ELEM)`).
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`] when it is absent; [`Error::MapSyscall`]
    /// otherwise (`EINVAL` for arrays, which have no delete).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.delete_with(self.bpf(), key)
    }

    pub(crate) fn delete_with(&self, bpf: &dyn Bpf, key: &[u8]) -> Result<()> {
        self.check_key(key)?;
        bpf.map_delete_elem(self.r(), key)
            .map_err(|e| self.elem_error(Syscall::MapDelete, e))
    }

    fn elem_error(&self, call: Syscall, e: std::io::Error) -> Error {
        let map = self.described.clone();
        match e.raw_os_error() {
            Some(libc::EEXIST) => Error::KeyExists { map },
            Some(libc::ENOENT) => Error::KeyNotFound { map },
            _ => Error::map_call(call, map, e),
        }
    }

    /// The keys, by `bpf(BPF_MAP_GET_NEXT_KEY)`. Deleting the key just
    /// returned (or any other) while iterating is fine: the iterator fetches
    /// each next key before handing out the current one, never returns a key
    /// twice, and when the kernel restarts from the first key (because the
    /// key it was asked to continue from was deleted) skips the keys already
    /// returned.
    pub fn keys(&self) -> Keys<'_> {
        self.keys_with(self.bpf())
    }

    pub(crate) fn keys_with<'m>(&'m self, bpf: &'m dyn Bpf) -> Keys<'m> {
        Keys {
            map: self,
            bpf,
            next: None,
            started: false,
            done: false,
            seen: HashSet::new(),
            budget: u64::from(self.spec.max_entries).saturating_mul(4) + 64,
        }
    }

    /// Every entry, by [`keys`](Self::keys) and a lookup each (entries
    /// deleted in between are skipped).
    pub fn entries(&self) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        self.entries_with(self.bpf())
    }

    fn entries_with<'m>(
        &'m self,
        bpf: &'m dyn Bpf,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'm {
        self.keys_with(bpf).filter_map(move |k| match k {
            Err(e) => Some(Err(e)),
            Ok(k) => {
                let mut v = vec![0; self.value_len];
                match self.lookup_into_with(bpf, &k, &mut v) {
                    Ok(true) => Some(Ok((k, v))),
                    Ok(false) => None,
                    Err(e) => Some(Err(e)),
                }
            }
        })
    }

    /// Every entry as two byte vectors (keys, values: `n` of each, in the
    /// map's sizes), read with `bpf(BPF_MAP_LOOKUP_BATCH)` (Linux 5.6)
    /// `chunk` entries at a time; for map types or kernels without batch
    /// operations, entry by entry instead.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn lookup_batch(&self, chunk: u32) -> Result<(Vec<u8>, Vec<u8>, usize)> {
        self.lookup_batch_with(self.bpf(), chunk)
    }

    pub(crate) fn lookup_batch_with(
        &self,
        bpf: &dyn Bpf,
        chunk: u32,
    ) -> Result<(Vec<u8>, Vec<u8>, usize)> {
        let (ks, vs) = (self.spec.key_size as usize, self.value_len);
        let token = ks.max(sys::BATCH_TOKEN);
        let mut chunk = chunk.max(1);
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        let mut total = 0usize;
        let mut in_batch: Option<Vec<u8>> = None;
        let mut out_batch = vec![0u8; token];
        loop {
            let n = chunk as usize;
            keys.resize((total + n) * ks, 0);
            values.resize((total + n) * vs, 0);
            let mut b = sys::Batch {
                in_batch: in_batch.as_deref(),
                out_batch: &mut out_batch,
                keys: &mut keys[total * ks..],
                values: &mut values[total * vs..],
                count: chunk,
                elem_flags: 0,
            };
            let r = bpf.map_lookup_batch(self.r(), &mut b);
            let got = b.count as usize;
            match r {
                Ok(()) => {
                    total += got;
                    in_batch = Some(out_batch.clone());
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    total += got;
                    break;
                }
                // A hash bucket holds more entries than the chunk.
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && chunk < (1 << 24) => {
                    chunk = chunk.saturating_mul(2);
                }
                Err(e) if total == 0 && in_batch.is_none() && no_batch(&e) => {
                    return self.lookup_one_by_one(bpf);
                }
                Err(e) => {
                    return Err(Error::map_call(
                        Syscall::MapLookupBatch,
                        self.described.clone(),
                        e,
                    ));
                }
            }
        }
        keys.truncate(total * ks);
        values.truncate(total * vs);
        Ok((keys, values, total))
    }

    fn lookup_one_by_one(&self, bpf: &dyn Bpf) -> Result<(Vec<u8>, Vec<u8>, usize)> {
        let (mut keys, mut values, mut n) = (Vec::new(), Vec::new(), 0);
        for e in self.entries_with(bpf) {
            let (k, v) = e?;
            keys.extend_from_slice(&k);
            values.extend_from_slice(&v);
            n += 1;
        }
        Ok((keys, values, n))
    }

    /// Writes `n` entries (`keys` and `values` concatenated in the map's
    /// sizes) with `bpf(BPF_MAP_UPDATE_BATCH)` (Linux 5.6), or one by one
    /// where the map type has no batch update.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMap`] for buffers of the wrong size;
    /// [`Error::MapSyscall`] when the kernel refuses (`E2BIG`: full).
    pub fn update_batch(&self, keys: &[u8], values: &[u8], flag: UpdateFlag) -> Result<()> {
        self.update_batch_with(self.bpf(), keys, values, flag)
    }

    pub(crate) fn update_batch_with(
        &self,
        bpf: &dyn Bpf,
        keys: &[u8],
        values: &[u8],
        flag: UpdateFlag,
    ) -> Result<()> {
        let n = self.batch_count(keys, Some(values))?;
        if n == 0 {
            return Ok(());
        }
        let (mut k, mut v) = (keys.to_vec(), values.to_vec());
        let mut token = vec![0u8; self.spec.key_size.max(8) as usize];
        let mut b = sys::Batch {
            in_batch: None,
            out_batch: &mut token,
            keys: &mut k,
            values: &mut v,
            count: u32::try_from(n).unwrap_or(u32::MAX),
            elem_flags: flag.as_raw(),
        };
        match bpf.map_update_batch(self.r(), &mut b) {
            Ok(()) => Ok(()),
            Err(e) if no_batch(&e) => {
                let (ks, vs) = (self.spec.key_size as usize, self.value_len);
                for i in 0..n {
                    self.update_with(
                        bpf,
                        &keys[i * ks..(i + 1) * ks],
                        &values[i * vs..(i + 1) * vs],
                        flag,
                    )?;
                }
                Ok(())
            }
            Err(e) => Err(Error::map_call(
                Syscall::MapUpdateBatch,
                self.described.clone(),
                e,
            )),
        }
    }

    /// Deletes `n` keys (concatenated) with `bpf(BPF_MAP_DELETE_BATCH)`
    /// (Linux 5.6), or one by one where the map type has no batch delete;
    /// returns how many were deleted.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`] when a key is absent (the keys before it are
    /// deleted); [`Error::MapSyscall`] otherwise (arrays have no delete).
    pub fn delete_batch(&self, keys: &[u8]) -> Result<usize> {
        self.delete_batch_with(self.bpf(), keys)
    }

    pub(crate) fn delete_batch_with(&self, bpf: &dyn Bpf, keys: &[u8]) -> Result<usize> {
        let n = self.batch_count(keys, None)?;
        if n == 0 {
            return Ok(0);
        }
        let mut k = keys.to_vec();
        let mut token = vec![0u8; self.spec.key_size.max(8) as usize];
        let mut b = sys::Batch {
            in_batch: None,
            out_batch: &mut token,
            keys: &mut k,
            values: &mut [],
            count: u32::try_from(n).unwrap_or(u32::MAX),
            elem_flags: 0,
        };
        match bpf.map_delete_batch(self.r(), &mut b) {
            Ok(()) => Ok(b.count as usize),
            Err(e) if no_batch(&e) && self.spec.map_type != MapType::Array => {
                let ks = self.spec.key_size as usize;
                for i in 0..n {
                    self.delete_with(bpf, &keys[i * ks..(i + 1) * ks])?;
                }
                Ok(n)
            }
            Err(e) => Err(self.elem_error(Syscall::MapDeleteBatch, e)),
        }
    }

    fn batch_count(&self, keys: &[u8], values: Option<&[u8]>) -> Result<usize> {
        let ks = self.spec.key_size as usize;
        let bad = |reason: String| Error::InvalidMap {
            map: self.described.clone(),
            reason,
        };
        if ks == 0 || !keys.len().is_multiple_of(ks) {
            return Err(bad(format!(
                "{} bytes of keys is not a whole number of {ks}-byte keys",
                keys.len()
            )));
        }
        let n = keys.len() / ks;
        if let Some(values) = values
            && values.len() != n * self.value_len
        {
            return Err(bad(format!(
                "{n} keys but {} bytes of values ({} per value)",
                values.len(),
                self.value_len
            )));
        }
        Ok(n)
    }

    /// A typed view check: `K` and `V` must have the map's key and value
    /// sizes, and the map one of `types`.
    pub(crate) fn check_types(
        &self,
        types: &[MapType],
        key: usize,
        value: usize,
        handle: &str,
    ) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidMap {
                map: self.described.clone(),
                reason,
            })
        };
        if !types.contains(&self.spec.map_type) {
            let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
            return bad(format!(
                "{handle} handles {} maps, not {}",
                names.join(" or "),
                self.spec.map_type
            ));
        }
        if key != self.spec.key_size as usize {
            return bad(format!(
                "{handle}: the key type has {key} bytes, the map's keys {}",
                self.spec.key_size
            ));
        }
        if value != self.spec.value_size as usize {
            return bad(format!(
                "{handle}: the value type has {value} bytes, the map's values {}",
                self.spec.value_size
            ));
        }
        Ok(())
    }
}

/// Whether a batch command failed because the map type has no batch
/// operations (`ENOTSUPP`) or the kernel no batch commands (before 5.6:
/// `EINVAL`). The kernel refuses before touching any element then.
fn no_batch(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | ENOTSUPP | libc::EOPNOTSUPP | libc::ENOSYS)
    )
}

/// The spec of the map behind `fd`, from the kernel.
pub(crate) fn info_of(bpf: &dyn Bpf, fd: BorrowedFd<'_>) -> Result<MapSpec> {
    let info = bpf.map_info(fd).map_err(|e| {
        Error::map_call(
            Syscall::ObjGetInfo,
            format!("map (fd {})", fd.as_raw_fd()),
            e,
        )
    })?;
    let map_type = MapType::from_raw(info.map_type).ok_or_else(|| Error::InvalidMap {
        map: format!("map `{}` (id {})", info.name, info.id),
        reason: format!(
            "map type {} is unknown to the headers bpf-sys was built from",
            info.map_type
        ),
    })?;
    Ok(MapSpec {
        name: info.name.into(),
        map_type,
        key_size: info.key_size,
        value_size: info.value_size,
        max_entries: info.max_entries,
        flags: info.flags,
    })
}

impl AsFd for Map {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<Map> for OwnedFd {
    fn from(m: Map) -> OwnedFd {
        m.fd
    }
}

/// The keys of a map: see [`Map::keys`].
pub struct Keys<'m> {
    map: &'m Map,
    bpf: &'m dyn Bpf,
    /// The key fetched ahead, to return next.
    next: Option<Vec<u8>>,
    started: bool,
    done: bool,
    seen: HashSet<Vec<u8>>,
    /// Calls left: a guard against a map changing faster than it is walked.
    budget: u64,
}

impl fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("map", &self.map.described)
            .field("returned", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl Keys<'_> {
    /// The first key after `from` (the first key for `None`) not returned
    /// yet.
    fn fetch(&mut self, mut from: Option<Vec<u8>>) -> Result<Option<Vec<u8>>> {
        loop {
            if self.budget == 0 {
                return Ok(None);
            }
            self.budget -= 1;
            let mut next = vec![0u8; self.map.spec.key_size as usize];
            match self
                .bpf
                .map_get_next_key(self.map.r(), from.as_deref(), &mut next)
            {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
                Err(e) => {
                    return Err(Error::map_call(
                        Syscall::MapGetNextKey,
                        self.map.described.clone(),
                        e,
                    ));
                }
            }
            if !self.seen.contains(&next) && from.as_ref() != Some(&next) {
                return Ok(Some(next));
            }
            from = Some(next);
        }
    }
}

impl Iterator for Keys<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            match self.fetch(None) {
                Ok(k) => self.next = k,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let Some(cur) = self.next.take() else {
            self.done = true;
            return None;
        };
        self.seen.insert(cur.clone());
        match self.fetch(Some(cur.clone())) {
            Ok(k) => self.next = k,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        }
        Some(Ok(cur))
    }
}

#[cfg(test)]
mod tests;
