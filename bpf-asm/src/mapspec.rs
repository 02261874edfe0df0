//! Map declarations: [`MapSpec`], and the rules of `BPF_MAP_CREATE` that
//! both the macro (at compile time) and the loader (before the system call)
//! check.

use std::borrow::Cow;

use bpf_sys::MapType;

/// A map the program declares (`#![map(NAME: TYPE, key = K, value = V,
/// max_entries = N)]`): what the loader needs to create it, and what the
/// checks know about `map_fd(NAME)` and `map_value(NAME, off)`.
///
/// `const`-constructible, so `bpf_prog!` stores its declarations in the
/// program constant:
///
/// ```
/// use bpf_asm::MapSpec;
/// use bpf_sys::MapType;
///
/// const COUNTS: MapSpec = MapSpec::new("counts", MapType::Array, 4, 8, 256, 0);
/// assert_eq!((COUNTS.key_size, COUNTS.value_size), (4, 8));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapSpec {
    /// The name the program's `map_fd(NAME)` / `map_value(NAME, off)` use;
    /// also the kernel-visible map name (its first 15 bytes).
    pub name: Cow<'static, str>,
    /// The map type.
    pub map_type: MapType,
    /// Bytes per key (0 for ring buffers).
    pub key_size: u32,
    /// Bytes per value (per CPU, for per-CPU maps; 0 for ring buffers).
    pub value_size: u32,
    /// The most entries (for a ring buffer: its size in bytes).
    pub max_entries: u32,
    /// `map_flags`: `BPF_F_NO_PREALLOC`, `BPF_F_RDONLY_PROG`,
    /// `BPF_F_MMAPABLE`, ...
    pub flags: u32,
}

impl MapSpec {
    /// A map spec (used by `bpf_prog!` in constants).
    pub const fn new(
        name: &'static str,
        map_type: MapType,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        flags: u32,
    ) -> Self {
        MapSpec {
            name: Cow::Borrowed(name),
            map_type,
            key_size,
            value_size,
            max_entries,
            flags,
        }
    }
}

/// The `BPF_F_*` map flags by name.
const FLAG_NAMES: &[(u32, &str)] = &[
    (bpf_sys::BPF_F_NO_PREALLOC, "BPF_F_NO_PREALLOC"),
    (bpf_sys::BPF_F_NO_COMMON_LRU, "BPF_F_NO_COMMON_LRU"),
    (bpf_sys::BPF_F_NUMA_NODE, "BPF_F_NUMA_NODE"),
    (bpf_sys::BPF_F_RDONLY, "BPF_F_RDONLY"),
    (bpf_sys::BPF_F_WRONLY, "BPF_F_WRONLY"),
    (bpf_sys::BPF_F_RDONLY_PROG, "BPF_F_RDONLY_PROG"),
    (bpf_sys::BPF_F_WRONLY_PROG, "BPF_F_WRONLY_PROG"),
    (bpf_sys::BPF_F_MMAPABLE, "BPF_F_MMAPABLE"),
];

impl MapSpec {
    /// The `BPF_F_*` names of `flags`, joined by ` | ` (unknown bits in hex).
    ///
    /// ```
    /// assert_eq!(bpf_asm::MapSpec::flag_names(1 | 128), "BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG");
    /// ```
    pub fn flag_names(flags: u32) -> String {
        let mut out: Vec<String> = FLAG_NAMES
            .iter()
            .filter(|(f, _)| flags & f != 0)
            .map(|(_, n)| (*n).to_owned())
            .collect();
        let rest = flags & !FLAG_NAMES.iter().fold(0, |a, (f, _)| a | f);
        if rest != 0 {
            out.push(format!("{rest:#x}"));
        }
        out.join(" | ")
    }

    /// The flag names `#![map(..., flags = ...)]` accepts: the `BPF_F_*`
    /// names in lower case without the prefix (`no_prealloc`,
    /// `rdonly_prog`, `mmapable`, ...), with their values.
    pub fn flag_by_name(name: &str) -> Option<u32> {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("BPF_F_") {
            upper
        } else {
            format!("BPF_F_{upper}")
        };
        FLAG_NAMES.iter().find(|(_, n)| *n == full).map(|(f, _)| *f)
    }

    /// Every flag name [`flag_by_name`](Self::flag_by_name) accepts, in
    /// lower case (`no_prealloc`, ...).
    pub fn flag_spellings() -> Vec<String> {
        FLAG_NAMES
            .iter()
            .map(|(_, n)| n.strip_prefix("BPF_F_").unwrap_or(n).to_ascii_lowercase())
            .collect()
    }

    /// What `BPF_MAP_CREATE` would surely refuse about this spec: a bad
    /// name, a zero or wrong size for the type (arrays take 4-byte keys,
    /// program arrays 4-byte values, ring buffers neither), no entries, a
    /// ring buffer size that is not a power of two or not a multiple of the
    /// page size, a flag the type does not take. Without a `page_size`
    /// (at compile time), a ring buffer must be a power of two of at least
    /// 4096 bytes, the smallest page size.
    ///
    /// ```
    /// use bpf_asm::MapSpec;
    /// use bpf_sys::MapType;
    ///
    /// assert!(MapSpec::new("ok", MapType::Array, 4, 8, 16, 0).check(None).is_ok());
    /// let e = MapSpec::new("rb", MapType::Ringbuf, 0, 0, 5000, 0).check(Some(4096)).unwrap_err();
    /// assert!(e.contains("power of two"), "{e}");
    /// ```
    ///
    /// # Errors
    ///
    /// What is wrong, and what would be accepted.
    pub fn check(&self, page_size: Option<u64>) -> Result<(), String> {
        if let Some(c) = self
            .name
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        {
            return Err(format!(
                "map names may hold ASCII letters, digits, `_` and `.`, not {c:?}"
            ));
        }
        let t = self.map_type;
        let (k, v, n) = (self.key_size, self.value_size, self.max_entries);
        match t {
            MapType::Array | MapType::PercpuArray | MapType::ProgArray if k != 4 => {
                return Err(format!("{t} maps take 4-byte keys (u32 indexes), not {k}"));
            }
            MapType::ProgArray if v != 4 => {
                return Err(format!(
                    "prog_array values are 4-byte program fds, not {v} bytes"
                ));
            }
            MapType::Hash | MapType::LruHash | MapType::PercpuHash | MapType::LruPercpuHash
                if k == 0 =>
            {
                return Err(format!("{t} maps need a key size above 0"));
            }
            MapType::Ringbuf if k != 0 || v != 0 => {
                return Err(format!(
                    "ring buffers have no keys or values (key and value size 0, not {k} and \
                     {v}): max_entries is the buffer's size in bytes"
                ));
            }
            MapType::Ringbuf => {
                let n = u64::from(n);
                let page = page_size.unwrap_or(4096);
                let bad = !n.is_power_of_two() || n < page || !n.is_multiple_of(page);
                if bad {
                    let next = n.max(page).next_power_of_two();
                    let of = match page_size {
                        Some(p) => format!("the page size ({p} bytes)"),
                        None => "the page size (at least 4096 bytes)".to_owned(),
                    };
                    return Err(format!(
                        "a ring buffer's size (max_entries) must be a power of two and a \
                         multiple of {of}, not {n}: for example {next}"
                    ));
                }
            }
            _ => {}
        }
        let keyed = matches!(
            t,
            MapType::Array
                | MapType::PercpuArray
                | MapType::ProgArray
                | MapType::Hash
                | MapType::LruHash
                | MapType::PercpuHash
                | MapType::LruPercpuHash
        );
        if keyed && v == 0 {
            return Err(format!("{t} maps need a value size above 0"));
        }
        if keyed && n == 0 {
            return Err(format!("{t} maps need max_entries above 0"));
        }
        if let Some(allowed) = allowed_flags(t)
            && self.flags & !allowed != 0
        {
            let bad = Self::flag_names(self.flags & !allowed);
            let ok = if allowed == 0 {
                "none".to_owned()
            } else {
                Self::flag_names(allowed)
            };
            return Err(format!("{t} maps do not take {bad} (they take: {ok})"));
        }
        if self.flags & bpf_sys::BPF_F_RDONLY != 0 && self.flags & bpf_sys::BPF_F_WRONLY != 0 {
            return Err("BPF_F_RDONLY and BPF_F_WRONLY exclude each other".to_owned());
        }
        Ok(())
    }
}

/// The flags a map type takes at creation, for the types checked here
/// (`None`: left to the kernel).
fn allowed_flags(t: MapType) -> Option<u32> {
    let access = bpf_sys::BPF_F_RDONLY
        | bpf_sys::BPF_F_WRONLY
        | bpf_sys::BPF_F_RDONLY_PROG
        | bpf_sys::BPF_F_WRONLY_PROG;
    let numa = bpf_sys::BPF_F_NUMA_NODE;
    Some(match t {
        MapType::Array => access | numa | bpf_sys::BPF_F_MMAPABLE,
        MapType::PercpuArray => access | numa,
        MapType::ProgArray => bpf_sys::BPF_F_RDONLY | bpf_sys::BPF_F_WRONLY | numa,
        MapType::Hash | MapType::PercpuHash => access | numa | bpf_sys::BPF_F_NO_PREALLOC,
        MapType::LruHash | MapType::LruPercpuHash => access | numa | bpf_sys::BPF_F_NO_COMMON_LRU,
        MapType::Ringbuf => numa,
        _ => return None,
    })
}
