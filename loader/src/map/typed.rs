//! The typed handles: keys and values as plain-old-data types, their sizes
//! checked against the map once, when the handle is made.

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::{Map, MapBuilder, Pod, UpdateFlag, possible_cpus};
use crate::MapType;
use crate::error::{Error, Result};

/// Reads a `T` from the front of `bytes` (which the callers size exactly).
fn read<T: Pod>(bytes: &[u8]) -> T {
    T::read_from_prefix(bytes)
        .map(|(v, _)| v)
        .unwrap_or_else(|_| T::new_zeroed())
}

/// Implements the parts every typed handle shares: `AsFd`, `Debug`,
/// `TryFrom<Map>`, `into_map`, `map`.
macro_rules! handle {
    ($name:ident < $($p:ident),* >, $types:expr, $key:ty, $value:ty, $what:literal) => {
        impl<$($p: Pod),*> TryFrom<Map> for $name<$($p),*> {
            type Error = Error;

            /// Checks the map's type and sizes against the handle's.
            fn try_from(map: Map) -> Result<Self> {
                map.check_types($types, size_of::<$key>(), size_of::<$value>(), $what)?;
                Ok($name { map, _t: PhantomData })
            }
        }

        impl<$($p: Pod),*> $name<$($p),*> {
            /// The untyped handle.
            pub fn map(&self) -> &Map {
                &self.map
            }

            /// The untyped handle, owned.
            pub fn into_map(self) -> Map {
                self.map
            }
        }

        impl<$($p),*> AsFd for $name<$($p),*> {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.map.as_fd()
            }
        }

        impl<$($p),*> From<$name<$($p),*>> for OwnedFd {
            fn from(m: $name<$($p),*>) -> OwnedFd {
                m.map.into()
            }
        }

        impl<$($p),*> fmt::Debug for $name<$($p),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.map.describe())
                    .field(&self.map.as_fd().as_raw_fd())
                    .finish()
            }
        }
    };
}

/// An array map (`BPF_MAP_TYPE_ARRAY`): `max_entries` values of type `V`
/// indexed by `u32`, every one present (zero until written). Arrays have no
/// delete.
///
/// ```no_run
/// use bpf_loader::Array;
///
/// let counts = Array::<u64>::create("counts", 256)?;
/// counts.set(6, &1500)?;
/// assert_eq!(counts.get(6)?, Some(1500));
/// assert_eq!(counts.get(256)?, None); // beyond the end
/// let total: u64 = counts.iter().map(|e| e.map(|(_, v)| v)).sum::<Result<_, _>>()?;
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct Array<V> {
    map: Map,
    _t: PhantomData<fn() -> V>,
}

handle!(Array<V>, &[MapType::Array], u32, V, "Array<V>");

impl<V: Pod> Array<V> {
    /// Creates an array map of `max_entries` values.
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`].
    pub fn create(name: &str, max_entries: u32) -> Result<Self> {
        Map::builder(MapType::Array)
            .name(name)
            .key::<u32>()
            .value::<V>()
            .max_entries(max_entries)
            .create()?
            .try_into()
    }

    /// The number of entries (`max_entries`).
    pub fn len(&self) -> u32 {
        self.map.max_entries()
    }

    /// Whether the array has no entries (never, for a created map).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`; `None` beyond the end.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn get(&self, index: u32) -> Result<Option<V>> {
        let mut v = V::new_zeroed();
        let found = self
            .map
            .lookup_into(index.as_bytes_ref(), v.as_mut_bytes())?;
        Ok(found.then_some(v))
    }

    /// Writes `value` at `index`.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] with `E2BIG` beyond the end.
    pub fn set(&self, index: u32, value: &V) -> Result<()> {
        self.map
            .update(index.as_bytes_ref(), value.as_bytes(), UpdateFlag::Any)
    }

    /// Every `(index, value)`, in index order.
    pub fn iter(&self) -> impl Iterator<Item = Result<(u32, V)>> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i).map(|v| v.map(|v| (i, v))).transpose())
    }

    /// Every value, read with `BPF_MAP_LOOKUP_BATCH` (Linux 5.6; element by
    /// element on older kernels).
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn values_batch(&self) -> Result<Vec<V>> {
        let (_, values, n) = self.map.lookup_batch(self.len().min(4096))?;
        let vs = self.map.value_len();
        Ok((0..n).map(|i| read(&values[i * vs..])).collect())
    }
}

/// `as_bytes` on a `u32` key without an import at every call.
trait AsBytesRef {
    fn as_bytes_ref(&self) -> &[u8];
}

impl AsBytesRef for u32 {
    fn as_bytes_ref(&self) -> &[u8] {
        zerocopy::IntoBytes::as_bytes(self)
    }
}

use zerocopy::IntoBytes as _;

/// A hash map (`BPF_MAP_TYPE_HASH` or `BPF_MAP_TYPE_LRU_HASH`) from `K` to
/// `V`.
///
/// ```no_run
/// use bpf_loader::{HashMap, UpdateFlag};
///
/// let flows = HashMap::<[u8; 12], u64>::create("flows", 1024)?;
/// flows.insert(&[1; 12], &42, UpdateFlag::NoExist)?;
/// assert_eq!(flows.get(&[1; 12])?, Some(42));
/// for entry in flows.iter() {
///     let (key, bytes) = entry?;
///     println!("{key:?}: {bytes}");
/// }
/// flows.remove(&[1; 12])?;
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct HashMap<K, V> {
    map: Map,
    _t: PhantomData<fn() -> (K, V)>,
}

handle!(
    HashMap<K, V>,
    &[MapType::Hash, MapType::LruHash],
    K,
    V,
    "HashMap<K, V>"
);

impl<K: Pod, V: Pod> HashMap<K, V> {
    /// Creates a hash map of at most `max_entries` entries.
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`].
    pub fn create(name: &str, max_entries: u32) -> Result<Self> {
        Self::builder(MapType::Hash, max_entries)
            .name(name)
            .create()?
            .try_into()
    }

    /// A builder with `K` and `V`'s sizes, for another type
    /// ([`MapType::LruHash`]) or flags (`BPF_F_NO_PREALLOC`); finish with
    /// `.create()?.try_into()`.
    pub fn builder(map_type: MapType, max_entries: u32) -> MapBuilder {
        Map::builder(map_type)
            .key::<K>()
            .value::<V>()
            .max_entries(max_entries)
    }

    /// The value of `key`, `None` when absent.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        // Straight into a `V`: no allocation.
        let mut v = V::new_zeroed();
        let found = self.map.lookup_into(key.as_bytes(), v.as_mut_bytes())?;
        Ok(found.then_some(v))
    }

    /// Inserts or replaces, as `flag` says.
    ///
    /// # Errors
    ///
    /// [`Error::KeyExists`], [`Error::KeyNotFound`] as the flag says;
    /// [`Error::MapSyscall`] with `E2BIG` when the map is full.
    pub fn insert(&self, key: &K, value: &V, flag: UpdateFlag) -> Result<()> {
        self.map.update(key.as_bytes(), value.as_bytes(), flag)
    }

    /// Deletes `key`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`] when it is absent.
    pub fn remove(&self, key: &K) -> Result<()> {
        self.map.delete(key.as_bytes())
    }

    /// The keys (see [`Map::keys`]: deleting while iterating is fine).
    pub fn keys(&self) -> impl Iterator<Item = Result<K>> + '_ {
        self.map.keys().map(|k| k.map(|k| read(&k)))
    }

    /// Every entry (entries deleted meanwhile are skipped).
    pub fn iter(&self) -> impl Iterator<Item = Result<(K, V)>> + '_ {
        self.map
            .entries()
            .map(|e| e.map(|(k, v)| (read(&k), read(&v))))
    }

    /// Every entry, read with `BPF_MAP_LOOKUP_BATCH` (Linux 5.6) `chunk`
    /// at a time, or entry by entry where batches are unavailable.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn entries_batch(&self, chunk: u32) -> Result<Vec<(K, V)>> {
        let (keys, values, n) = self.map.lookup_batch(chunk)?;
        let (ks, vs) = (size_of::<K>(), self.map.value_len());
        Ok((0..n)
            .map(|i| (read(&keys[i * ks..]), read(&values[i * vs..])))
            .collect())
    }

    /// Writes every entry with `BPF_MAP_UPDATE_BATCH` (or one by one).
    ///
    /// # Errors
    ///
    /// As [`Map::update_batch`].
    pub fn insert_batch(&self, entries: &[(K, V)], flag: UpdateFlag) -> Result<()> {
        let mut keys = Vec::with_capacity(entries.len() * size_of::<K>());
        let mut values = Vec::with_capacity(entries.len() * size_of::<V>());
        for (k, v) in entries {
            keys.extend_from_slice(k.as_bytes());
            values.extend_from_slice(v.as_bytes());
        }
        self.map.update_batch(&keys, &values, flag)
    }

    /// Deletes every key with `BPF_MAP_DELETE_BATCH` (or one by one);
    /// returns how many were deleted.
    ///
    /// # Errors
    ///
    /// As [`Map::delete_batch`].
    pub fn remove_batch(&self, keys: &[K]) -> Result<usize> {
        self.map.delete_batch(keys.as_bytes_slice())
    }
}

/// The bytes of a slice of `Pod`s.
trait SliceBytes {
    fn as_bytes_slice(&self) -> &[u8];
}

impl<T: Pod> SliceBytes for [T] {
    fn as_bytes_slice(&self) -> &[u8] {
        zerocopy::IntoBytes::as_bytes(self)
    }
}

/// Splits a per-CPU value buffer (values 8-byte aligned, one per possible
/// CPU) into values.
fn split_per_cpu<V: Pod>(buf: &[u8]) -> Vec<V> {
    let stride = size_of::<V>().next_multiple_of(8);
    buf.chunks(stride).map(read).collect()
}

/// The buffer of per-CPU `values`, which must be one per possible CPU.
fn join_per_cpu<V: Pod>(map: &Map, values: &[V]) -> Result<Vec<u8>> {
    let cpus = possible_cpus()?;
    if values.len() != cpus {
        return Err(Error::InvalidMap {
            map: map.describe().to_owned(),
            reason: format!(
                "{} values given; a per-CPU map takes one per possible CPU ({cpus})",
                values.len()
            ),
        });
    }
    let stride = size_of::<V>().next_multiple_of(8);
    let mut buf = vec![0u8; stride * cpus];
    for (chunk, v) in buf.chunks_mut(stride).zip(values) {
        chunk[..size_of::<V>()].copy_from_slice(v.as_bytes());
    }
    Ok(buf)
}

/// A per-CPU array (`BPF_MAP_TYPE_PERCPU_ARRAY`): per index, one `V` per
/// *possible* CPU ([`possible_cpus`](crate::possible_cpus)), which the
/// program on each CPU updates without atomics.
///
/// ```no_run
/// use bpf_loader::PerCpuArray;
///
/// let counts = PerCpuArray::<u64>::create("pcpu", 4)?;
/// let per_cpu: Vec<u64> = counts.get(0)?.unwrap();
/// let total: u64 = per_cpu.iter().sum();
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct PerCpuArray<V> {
    map: Map,
    _t: PhantomData<fn() -> V>,
}

handle!(
    PerCpuArray<V>,
    &[MapType::PercpuArray],
    u32,
    V,
    "PerCpuArray<V>"
);

impl<V: Pod> PerCpuArray<V> {
    /// Creates a per-CPU array of `max_entries` indexes.
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`].
    pub fn create(name: &str, max_entries: u32) -> Result<Self> {
        Map::builder(MapType::PercpuArray)
            .name(name)
            .key::<u32>()
            .value::<V>()
            .max_entries(max_entries)
            .create()?
            .try_into()
    }

    /// The values at `index`, one per possible CPU; `None` beyond the end.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn get(&self, index: u32) -> Result<Option<Vec<V>>> {
        let v = self.map.lookup(index.as_bytes_ref())?;
        Ok(v.map(|v| split_per_cpu(&v)))
    }

    /// Writes one value per possible CPU at `index`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMap`] unless there is one value per possible CPU.
    pub fn set(&self, index: u32, values: &[V]) -> Result<()> {
        let buf = join_per_cpu(&self.map, values)?;
        self.map.update(index.as_bytes_ref(), &buf, UpdateFlag::Any)
    }
}

/// A per-CPU hash map (`BPF_MAP_TYPE_PERCPU_HASH` or
/// `BPF_MAP_TYPE_LRU_PERCPU_HASH`): per key, one `V` per possible CPU.
pub struct PerCpuHashMap<K, V> {
    map: Map,
    _t: PhantomData<fn() -> (K, V)>,
}

handle!(
    PerCpuHashMap<K, V>,
    &[MapType::PercpuHash, MapType::LruPercpuHash],
    K,
    V,
    "PerCpuHashMap<K, V>"
);

impl<K: Pod, V: Pod> PerCpuHashMap<K, V> {
    /// Creates a per-CPU hash map of at most `max_entries` keys.
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`].
    pub fn create(name: &str, max_entries: u32) -> Result<Self> {
        HashMap::<K, V>::builder(MapType::PercpuHash, max_entries)
            .name(name)
            .create()?
            .try_into()
    }

    /// The values of `key`, one per possible CPU; `None` when absent.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn get(&self, key: &K) -> Result<Option<Vec<V>>> {
        Ok(self.map.lookup(key.as_bytes())?.map(|v| split_per_cpu(&v)))
    }

    /// Sets `key` to one value per possible CPU.
    ///
    /// # Errors
    ///
    /// As [`HashMap::insert`]; [`Error::InvalidMap`] unless there is one
    /// value per possible CPU.
    pub fn insert(&self, key: &K, values: &[V], flag: UpdateFlag) -> Result<()> {
        let buf = join_per_cpu(&self.map, values)?;
        self.map.update(key.as_bytes(), &buf, flag)
    }

    /// Deletes `key`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`] when it is absent.
    pub fn remove(&self, key: &K) -> Result<()> {
        self.map.delete(key.as_bytes())
    }

    /// Every entry, values per CPU.
    pub fn iter(&self) -> impl Iterator<Item = Result<(K, Vec<V>)>> + '_ {
        self.map
            .entries()
            .map(|e| e.map(|(k, v)| (read(&k), split_per_cpu(&v))))
    }

    /// Every entry, by `BPF_MAP_LOOKUP_BATCH` (or entry by entry).
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] when the kernel refuses.
    pub fn entries_batch(&self, chunk: u32) -> Result<Vec<(K, Vec<V>)>> {
        let (keys, values, n) = self.map.lookup_batch(chunk)?;
        let (ks, vs) = (size_of::<K>(), self.map.value_len());
        Ok((0..n)
            .map(|i| {
                (
                    read(&keys[i * ks..]),
                    split_per_cpu(&values[i * vs..(i + 1) * vs]),
                )
            })
            .collect())
    }
}

/// A program array (`BPF_MAP_TYPE_PROG_ARRAY`), the jump table of
/// `call tail_call`: index to program.
///
/// ```no_run
/// use bpf_loader::{ProgramArray, bpf_prog};
///
/// const LEAF: bpf_loader::Program = bpf_prog! { mov r0, 7; exit };
/// let jumps = ProgramArray::create("jumps", 4)?;
/// let leaf = bpf_loader::load(&LEAF)?;
/// jumps.set(0, &leaf)?;
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct ProgramArray {
    map: Map,
    _t: PhantomData<()>,
}

#[rustfmt::skip]
handle!(ProgramArray<>, &[MapType::ProgArray], u32, u32, "ProgramArray");

impl ProgramArray {
    /// Creates a program array of `max_entries` slots.
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`].
    pub fn create(name: &str, max_entries: u32) -> Result<Self> {
        Map::builder(MapType::ProgArray)
            .name(name)
            .key_size(4)
            .value_size(4)
            .max_entries(max_entries)
            .create()?
            .try_into()
    }

    /// Puts `program` at `index` (a tail call to `index` then runs it).
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] (`EINVAL` for a program of another type than
    /// the array's other programs, `E2BIG` beyond the end).
    pub fn set(&self, index: u32, program: &impl AsFd) -> Result<()> {
        let fd = u32::try_from(program.as_fd().as_raw_fd()).unwrap_or(u32::MAX);
        self.map
            .update(index.as_bytes_ref(), fd.as_bytes(), UpdateFlag::Any)
    }

    /// Empties slot `index`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`] when it is empty.
    pub fn clear(&self, index: u32) -> Result<()> {
        self.map.delete(index.as_bytes_ref())
    }
}
