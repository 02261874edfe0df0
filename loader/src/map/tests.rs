//! Map error paths and iteration against a fake kernel (no root needed).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use super::*;
use crate::sys::{Batch, MapCreateAttrs, MapInfo, MapRef};

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

/// A kernel holding one hash map in a `BTreeMap`, with no batch
/// operations (so the fallbacks run).
/// (type, key size, value size, entries, name) of a `BPF_MAP_CREATE`.
type Created = (u32, u32, u32, u32, Vec<u8>);

#[derive(Default)]
struct FakeMaps {
    entries: RefCell<BTreeMap<Vec<u8>, Vec<u8>>>,
    max: usize,
    created: RefCell<Vec<Created>>,
    refuse_create: Option<i32>,
    /// Keys deleted by the fake "program" when `get_next_key` is asked for
    /// them (to test deletion behind the iterator's back).
    delete_on_next: RefCell<Vec<Vec<u8>>>,
}

impl Bpf for FakeMaps {
    fn prog_load(&self, a: &mut sys::ProgLoadAttrs<'_>) -> io::Result<OwnedFd> {
        assert_eq!(a.insns[0].src(), 1, "map_fd pseudo source");
        Ok(std::fs::File::open("/dev/null")?.into())
    }

    fn prog_test_run(&self, _: BorrowedFd<'_>, _: &[u8], _: u32) -> io::Result<sys::TestRunOut> {
        Err(errno(libc::ENOSYS))
    }

    fn map_create(&self, a: &MapCreateAttrs<'_>) -> io::Result<OwnedFd> {
        if let Some(e) = self.refuse_create {
            return Err(errno(e));
        }
        self.created.borrow_mut().push((
            a.map_type.as_raw(),
            a.key_size,
            a.value_size,
            a.max_entries,
            a.name.to_vec(),
        ));
        Ok(std::fs::File::open("/dev/null")?.into())
    }

    fn map_info(&self, _: BorrowedFd<'_>) -> io::Result<MapInfo> {
        Ok(MapInfo {
            map_type: bpf_sys::BPF_MAP_TYPE_HASH,
            id: 1,
            key_size: 4,
            value_size: 8,
            max_entries: self.max as u32,
            flags: 0,
            name: "fake".into(),
        })
    }

    fn map_lookup_elem(&self, _: MapRef<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        let e = self.entries.borrow();
        let v = e.get(key).ok_or_else(|| errno(libc::ENOENT))?;
        value.copy_from_slice(v);
        Ok(())
    }

    fn map_update_elem(&self, _: MapRef<'_>, k: &[u8], v: &[u8], flags: u64) -> io::Result<()> {
        let mut e = self.entries.borrow_mut();
        let present = e.contains_key(k);
        match flags as u32 {
            bpf_sys::BPF_NOEXIST if present => return Err(errno(libc::EEXIST)),
            bpf_sys::BPF_EXIST if !present => return Err(errno(libc::ENOENT)),
            _ => {}
        }
        if !present && e.len() >= self.max {
            return Err(errno(libc::E2BIG));
        }
        e.insert(k.to_vec(), v.to_vec());
        Ok(())
    }

    fn map_delete_elem(&self, _: MapRef<'_>, key: &[u8]) -> io::Result<()> {
        self.entries
            .borrow_mut()
            .remove(key)
            .map(drop)
            .ok_or_else(|| errno(libc::ENOENT))
    }

    fn map_get_next_key(
        &self,
        _: MapRef<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()> {
        if let Some(k) = key {
            let mut del = self.delete_on_next.borrow_mut();
            if let Some(i) = del.iter().position(|d| d.as_slice() == k) {
                let d = del.remove(i);
                // The program deletes the *next* key behind our back.
                let e = self.entries.borrow();
                let after = e.range(d.clone()..).nth(1).map(|(k, _)| k.clone());
                drop(e);
                if let Some(a) = after {
                    self.entries.borrow_mut().remove(&a);
                }
            }
        }
        let e = self.entries.borrow();
        // Like the kernel's hash maps: a key that is absent restarts at the
        // first key.
        let found = match key {
            Some(k) if e.contains_key(k) => e.range(k.to_vec()..).nth(1),
            _ => e.iter().next(),
        };
        let (k, _) = found.ok_or_else(|| errno(libc::ENOENT))?;
        next.copy_from_slice(k);
        Ok(())
    }

    fn map_lookup_batch(&self, _: MapRef<'_>, b: &mut Batch<'_>) -> io::Result<()> {
        b.count = 0;
        Err(errno(crate::error::ENOTSUPP))
    }
}

fn hash_map(fake: &FakeMaps) -> Map {
    MapBuilder::new(MapType::Hash)
        .name("fake")
        .key_size(4)
        .value_size(8)
        .max_entries(fake.max as u32)
        .create_with(fake)
        .unwrap()
}

fn key(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

#[test]
fn invalid_specs_are_refused_before_the_syscall() {
    let fake = FakeMaps::default();
    let cases: &[(MapBuilder, &str)] = &[
        (
            MapBuilder::new(MapType::Hash)
                .key_size(0)
                .value_size(8)
                .max_entries(1),
            "need a key size above 0",
        ),
        (
            MapBuilder::new(MapType::Array)
                .key_size(8)
                .value_size(8)
                .max_entries(1),
            "take 4-byte keys",
        ),
        (
            MapBuilder::new(MapType::Array)
                .key_size(4)
                .value_size(0)
                .max_entries(1),
            "need a value size above 0",
        ),
        (
            MapBuilder::new(MapType::Hash)
                .key_size(4)
                .value_size(4)
                .max_entries(0),
            "need max_entries above 0",
        ),
        (
            MapBuilder::new(MapType::Ringbuf).max_entries(5000),
            "power of two and a multiple of the page size",
        ),
        (
            MapBuilder::new(MapType::Ringbuf)
                .key_size(4)
                .max_entries(1 << 16),
            "no keys or values",
        ),
        (
            MapBuilder::new(MapType::Array)
                .key_size(4)
                .value_size(8)
                .max_entries(1)
                .flags(bpf_sys::BPF_F_NO_PREALLOC),
            "do not take BPF_F_NO_PREALLOC",
        ),
        (
            MapBuilder::new(MapType::LruHash)
                .key_size(4)
                .value_size(8)
                .max_entries(1)
                .flags(bpf_sys::BPF_F_NO_PREALLOC),
            "do not take BPF_F_NO_PREALLOC",
        ),
        (
            MapBuilder::new(MapType::PercpuArray)
                .key_size(4)
                .value_size(8)
                .max_entries(1)
                .flags(bpf_sys::BPF_F_MMAPABLE),
            "do not take BPF_F_MMAPABLE",
        ),
        (
            MapBuilder::new(MapType::ProgArray)
                .key_size(4)
                .value_size(8)
                .max_entries(1),
            "4-byte program fds",
        ),
        (
            MapBuilder::new(MapType::Hash)
                .name("bad name")
                .key_size(4)
                .value_size(8)
                .max_entries(1),
            "not ' '",
        ),
    ];
    for (b, want) in cases {
        let e = b.create_with(&fake).unwrap_err();
        assert!(matches!(e, Error::InvalidMap { .. }), "{e}");
        assert!(e.to_string().contains(want), "{e} lacks {want:?}");
    }
    assert!(fake.created.borrow().is_empty(), "no syscall was made");
}

#[test]
fn create_passes_the_spec_and_refusals_carry_hints() {
    let fake = FakeMaps {
        max: 3,
        ..FakeMaps::default()
    };
    let m = hash_map(&fake);
    assert_eq!(
        fake.created.borrow()[0],
        (bpf_sys::BPF_MAP_TYPE_HASH, 4, 8, 3, b"fake".to_vec())
    );
    assert_eq!(
        m.describe(),
        "hash map `fake` (key 4 B, value 8 B, 3 entries)"
    );
    for (errno, hint) in [
        (libc::EPERM, "needs root or CAP_BPF"),
        (libc::E2BIG, "the map is too large"),
        (libc::ENOMEM, "RLIMIT_MEMLOCK"),
        (libc::EINVAL, "the kernel refused a field"),
    ] {
        let fake = FakeMaps {
            refuse_create: Some(errno),
            ..FakeMaps::default()
        };
        let e = MapBuilder::new(MapType::Hash)
            .name("big")
            .key_size(4)
            .value_size(8)
            .max_entries(10)
            .create_with(&fake)
            .unwrap_err();
        assert_eq!(e.failed_call(), Some(Syscall::MapCreate));
        assert_eq!(e.raw_os_error(), Some(errno));
        let msg = e.to_string();
        assert!(
            msg.starts_with("bpf(BPF_MAP_CREATE) failed for hash map `big`"),
            "{msg}"
        );
        assert!(msg.contains(hint), "{msg} lacks {hint:?}");
        assert_eq!(e.is_permission_denied(), errno == libc::EPERM);
    }
}

#[test]
fn element_errors_are_typed() {
    let fake = FakeMaps {
        max: 2,
        ..FakeMaps::default()
    };
    let m = hash_map(&fake);
    let v = 7u64.to_ne_bytes();
    assert!(!m.lookup_into_with(&fake, &key(1), &mut [0; 8]).unwrap());
    m.update_with(&fake, &key(1), &v, UpdateFlag::NoExist)
        .unwrap();
    let e = m
        .update_with(&fake, &key(1), &v, UpdateFlag::NoExist)
        .unwrap_err();
    assert!(matches!(e, Error::KeyExists { .. }), "{e}");
    let e = m
        .update_with(&fake, &key(2), &v, UpdateFlag::Exist)
        .unwrap_err();
    assert!(matches!(e, Error::KeyNotFound { .. }), "{e}");
    m.update_with(&fake, &key(2), &v, UpdateFlag::Any).unwrap();
    let e = m
        .update_with(&fake, &key(3), &v, UpdateFlag::Any)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
    assert!(e.to_string().contains("the map is full"), "{e}");
    let e = m.delete_with(&fake, &key(9)).unwrap_err();
    assert!(matches!(e, Error::KeyNotFound { .. }), "{e}");
    // Wrong buffer sizes never reach the kernel.
    let e = m
        .update_with(&fake, &[1, 2], &v, UpdateFlag::Any)
        .unwrap_err();
    assert!(e.to_string().contains("a key of 2 bytes"), "{e}");
    let e = m
        .update_with(&fake, &key(1), &[0; 4], UpdateFlag::Any)
        .unwrap_err();
    assert!(e.to_string().contains("a value of 4 bytes"), "{e}");
}

#[test]
fn iteration_survives_deleting_the_current_key() {
    let fake = FakeMaps {
        max: 100,
        ..FakeMaps::default()
    };
    let m = hash_map(&fake);
    for i in 0..10 {
        m.update_with(&fake, &key(i), &[0; 8], UpdateFlag::Any)
            .unwrap();
    }
    let mut seen = Vec::new();
    for k in m.keys_with(&fake) {
        let k = k.unwrap();
        m.delete_with(&fake, &k).unwrap();
        seen.push(k);
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert!(fake.entries.borrow().is_empty());
}

#[test]
fn iteration_never_repeats_a_key_when_the_kernel_restarts() {
    let fake = FakeMaps {
        max: 100,
        ..FakeMaps::default()
    };
    let m = hash_map(&fake);
    for i in 0..10 {
        m.update_with(&fake, &key(i), &[0; 8], UpdateFlag::Any)
            .unwrap();
    }
    // When asked for the key after 3, the "program" deletes 4: the
    // iterator's look-ahead key; continuing from it restarts at the first.
    fake.delete_on_next.borrow_mut().push(key(3).to_vec());
    let keys: Vec<Vec<u8>> = m.keys_with(&fake).map(Result::unwrap).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "no duplicates: {keys:?}");
    // Every key present throughout (all but 4) is returned.
    for i in (0..10).filter(|&i| i != 4) {
        assert!(keys.contains(&key(i).to_vec()), "{i} missing: {keys:?}");
    }
}

#[test]
fn batch_ops_fall_back_where_the_type_has_none() {
    let fake = FakeMaps {
        max: 100,
        ..FakeMaps::default()
    };
    let m = hash_map(&fake);
    let keys: Vec<u8> = (0..5).flat_map(key).collect();
    let values: Vec<u8> = (0..5u64).flat_map(u64::to_ne_bytes).collect();
    m.update_batch_with(&fake, &keys, &values, UpdateFlag::Any)
        .unwrap();
    assert_eq!(fake.entries.borrow().len(), 5);
    let (k, v, n) = m.lookup_batch_with(&fake, 2).unwrap();
    assert_eq!((n, k.len(), v.len()), (5, 20, 40));
    assert_eq!(m.delete_batch_with(&fake, &keys[..8]).unwrap(), 2);
    assert_eq!(fake.entries.borrow().len(), 3);
    let e = m
        .update_batch_with(&fake, &keys[..6], &values, UpdateFlag::Any)
        .unwrap_err();
    assert!(e.to_string().contains("whole number of 4-byte keys"), "{e}");
}

#[test]
fn cpu_lists_parse() {
    assert_eq!(parse_cpu_list("0-3\n"), Some(4));
    assert_eq!(parse_cpu_list("0"), Some(1));
    assert_eq!(parse_cpu_list("0-1,4,6-7"), Some(5));
    assert_eq!(parse_cpu_list(""), None);
    assert_eq!(parse_cpu_list("x"), None);
    assert!(possible_cpus().unwrap() >= 1);
}

#[test]
fn flags_are_named() {
    assert_eq!(
        flag_names(bpf_sys::BPF_F_NO_PREALLOC | bpf_sys::BPF_F_RDONLY_PROG),
        "BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG"
    );
    assert_eq!(flag_names(1 << 30), "0x40000000");
}

/// `lddw r1, map_fd(counts); mov r0, 0; exit`, declaring `counts` as
/// `spec`.
fn declaring(spec: MapSpec) -> crate::Program {
    use crate::{Insn, MapReloc, Program};
    Program::new(
        vec![
            Insn::new(0x18, 1, 1, 0, 0),
            Insn::new(0, 0, 0, 0, 0),
            Insn::new(0xb7, 0, 0, 0, 0),
            Insn::new(0x95, 0, 0, 0, 0),
        ],
        vec![MapReloc::new(0, "counts")],
        vec![],
    )
    .with_maps(vec![spec])
}

#[test]
fn the_loader_creates_declared_maps_and_checks_bound_ones() {
    let fake = FakeMaps {
        max: 16,
        ..FakeMaps::default()
    };
    let spec = MapSpec::new("counts", MapType::Hash, 4, 8, 16, 0);
    let prog = declaring(spec.clone());
    let mut loaded = crate::ProgramLoader::new(&prog).load_with(&fake).unwrap();
    assert_eq!(fake.created.borrow().len(), 1);
    assert_eq!(loaded.maps().len(), 1);
    assert_eq!(loaded.map("counts").map(Map::spec), Some(&spec));
    let e = loaded.take_map::<Map>("nope").unwrap_err();
    assert!(
        e.to_string()
            .contains("no such map among those the loader created: counts"),
        "{e}"
    );
    // The wrong handle type for the map: refused when taken.
    let e = loaded
        .take_map::<crate::HashMap<u64, u64>>("counts")
        .unwrap_err();
    assert!(e.to_string().contains("the key type has 8 bytes"), "{e}");

    // Bound by the user: checked against the declaration (the fake says
    // 4/8/16 hash), not created.
    let fake = FakeMaps {
        max: 16,
        ..FakeMaps::default()
    };
    let stdin = io::stdin();
    let loaded = crate::ProgramLoader::new(&prog)
        .map("counts", &stdin)
        .load_with(&fake)
        .unwrap();
    assert!(fake.created.borrow().is_empty());
    assert!(loaded.maps().is_empty());
    let fake = FakeMaps {
        max: 32,
        ..FakeMaps::default()
    };
    let e = crate::ProgramLoader::new(&prog)
        .map("counts", &stdin)
        .load_with(&fake)
        .unwrap_err();
    assert!(
        matches!(&e, Error::MapMismatch { map, .. } if map == "counts"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("the program declares max_entries 16, the bound map has 32"),
        "{e}"
    );
    let prog = declaring(MapSpec::new("counts", MapType::Array, 4, 8, 16, 0));
    let e = crate::ProgramLoader::new(&prog)
        .map("counts", &stdin)
        .load_with(&fake)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("declares a array map, the bound map is a hash map"),
        "{e}"
    );
}
