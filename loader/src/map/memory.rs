//! Maps that live in this process, for the interpreter: the same [`Map`]
//! and typed handles as kernel maps, backed by a [`MemMap`] that answers
//! the map commands of the `Bpf` seam the way the kernel does. No
//! privileges, no syscalls.

use std::fs::File;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Map, possible_cpus};
use crate::error::{Error, Result};
use crate::sys::{Bpf, MapRef, ProgLoadAttrs, TestRunOut};
use crate::vm::{MapError, MemMap};
use crate::{MapSpec, MapType};

/// The most bytes an in-memory array or program array may preallocate.
const MAX_PREALLOCATED: usize = 1 << 30;

/// An in-memory map shared by the handles on it and the interpreters it is
/// bound to.
pub(crate) type Shared = Arc<Mutex<MemMap>>;

/// Locks `m`; a panic elsewhere while it was held leaves a usable map.
pub(crate) fn lock(m: &Mutex<MemMap>) -> MutexGuard<'_, MemMap> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn errno(e: MapError) -> io::Error {
    io::Error::from_raw_os_error(-e.errno() as i32)
}

impl Bpf for Mutex<MemMap> {
    fn prog_load(&self, _: &mut ProgLoadAttrs<'_>) -> io::Result<OwnedFd> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    fn prog_test_run(&self, _: BorrowedFd<'_>, _: &[u8], _: u32) -> io::Result<TestRunOut> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    /// Per-CPU values come as the kernel lays them out: one per CPU, each
    /// rounded up to 8 bytes.
    fn map_lookup_elem(&self, _: MapRef<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        let mut m = lock(self);
        let values = m
            .lookup_all_cpus(key)
            .ok_or_else(|| errno(MapError::NotFound))?;
        let stride = if values.len() > 1 || m.per_cpu() {
            m.value_size().next_multiple_of(8)
        } else {
            m.value_size()
        };
        for (i, v) in values.iter().enumerate() {
            if let Some(out) = value.get_mut(i * stride..i * stride + v.len()) {
                out.copy_from_slice(v);
            }
        }
        Ok(())
    }

    fn map_update_elem(
        &self,
        _: MapRef<'_>,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> io::Result<()> {
        let mut m = lock(self);
        if m.per_cpu() {
            let (size, stride) = (m.value_size(), m.value_size().next_multiple_of(8));
            let values: Vec<&[u8]> = value
                .chunks(stride)
                .map(|c| c.get(..size).unwrap_or(c))
                .collect();
            return m.update_all_cpus(key, &values, flags).map_err(errno);
        }
        m.update(key, value, flags).map_err(errno)
    }

    fn map_delete_elem(&self, _: MapRef<'_>, key: &[u8]) -> io::Result<()> {
        lock(self).delete(key).map_err(errno)
    }

    fn map_get_next_key(
        &self,
        _: MapRef<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()> {
        let keys = lock(self).keys();
        // Like the kernel: after an absent key comes the first one.
        let at = match key.and_then(|k| keys.iter().position(|x| x == k)) {
            Some(i) => i + 1,
            None => 0,
        };
        let k = keys.get(at).ok_or_else(|| errno(MapError::NotFound))?;
        if next.len() != k.len() {
            return Err(errno(MapError::Invalid));
        }
        next.copy_from_slice(k);
        Ok(())
    }
}

impl Map {
    /// A map in this process's memory with the type and sizes `spec` gives
    /// (checked as for a kernel map), for the interpreter
    /// ([`Vm::map`](crate::vm::Vm::map)): the same operations and typed
    /// handles as a kernel map, no privileges. Its fd (`/dev/null`) is no
    /// BPF map: a kernel program cannot use it.
    ///
    /// ```
    /// use bpf_loader::{Array, Map, MapSpec, MapType};
    /// let spec = MapSpec::new("counts", MapType::Array, 4, 8, 256, 0);
    /// let counts = Array::<u64>::try_from(Map::in_memory(&spec)?)?;
    /// counts.set(6, &1500)?;
    /// assert_eq!(counts.get(6)?, Some(1500));
    /// # Ok::<(), bpf_loader::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMap`] for a spec the kernel would refuse.
    pub fn in_memory(spec: &MapSpec) -> Result<Map> {
        super::validate(spec).map_err(|reason| Error::InvalidMap {
            map: super::describe(spec),
            reason,
        })?;
        // Arrays and program arrays are allocated whole, as the kernel
        // preallocates them; refuse what this process could not hold.
        let cpus = if super::is_per_cpu(spec.map_type) {
            possible_cpus()?
        } else {
            1
        };
        let whole = match spec.map_type {
            MapType::Array | MapType::PercpuArray => (spec.value_size as usize)
                .checked_mul(spec.max_entries as usize)
                .and_then(|b| b.checked_mul(cpus)),
            MapType::ProgArray => (spec.max_entries as usize)
                .checked_mul(std::mem::size_of::<Option<crate::Program>>()),
            _ => Some(0),
        };
        if whole.is_none_or(|b| b > MAX_PREALLOCATED) {
            return Err(Error::InvalidMap {
                map: super::describe(spec),
                reason: format!(
                    "an in-memory {} of {} entries takes more than the {} MiB the \
                     interpreter preallocates (the kernel would likely refuse it with ENOMEM \
                     too)",
                    spec.map_type,
                    spec.max_entries,
                    MAX_PREALLOCATED >> 20
                ),
            });
        }
        let mut mem = MemMap::new(
            spec.map_type,
            spec.key_size,
            spec.value_size,
            spec.max_entries,
        );
        if cpus > 1 {
            mem = mem.with_cpus(cpus);
        }
        Map::memory(spec.clone(), Arc::new(Mutex::new(mem)))
    }

    /// A handle on the in-memory map `shared`.
    pub(crate) fn memory(spec: MapSpec, shared: Shared) -> Result<Map> {
        let fd = File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|e| Error::InvalidMap {
                map: super::describe(&spec),
                reason: format!("opening /dev/null for the handle's fd: {e}"),
            })?;
        let mut map = Map::new(fd, spec)?;
        map.memory = Some(shared);
        Ok(map)
    }

    /// Another handle on the same map, if it is an in-memory one.
    pub fn share(&self) -> Option<Result<Map>> {
        let shared = self.memory.as_ref()?;
        Some(Map::memory(self.spec.clone(), Arc::clone(shared)))
    }

    /// Whether the map lives in this process ([`in_memory`](Self::in_memory)).
    pub fn is_in_memory(&self) -> bool {
        self.memory.is_some()
    }

    /// The storage of an in-memory map.
    pub(crate) fn shared(&self) -> Option<&Shared> {
        self.memory.as_ref()
    }
}
