//! Maps against the running kernel: every type this crate creates, filled,
//! read back, iterated, deleted and batch-read; per-CPU values; the error
//! paths; a filter counting live traffic; ring buffer records in order.
//!
//! Needs root (or CAP_BPF + CAP_NET_RAW); see `common::require_privilege`.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bpf_loader::{
    Array, Error, HashMap, Map, MapType, PerCpuArray, PerCpuHashMap, Program, ProgramArray,
    ProgramLoader, RingBuf, Syscall, UpdateFlag, attach_filter, bpf_prog, possible_cpus,
};
use common::{require_privilege, udp_socket};
use proptest::prelude::*;
use zerocopy::{FromBytes, Immutable, IntoBytes};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
struct Key {
    a: u32,
    b: u32,
}

#[test]
fn array_fill_read_iterate_batch() {
    require_privilege!();
    let a = Array::<u64>::create("t_array", 16).unwrap();
    assert_eq!(a.len(), 16);
    assert_eq!(a.get(3).unwrap(), Some(0), "arrays start zeroed");
    for i in 0..16 {
        a.set(i, &(u64::from(i) * 10)).unwrap();
    }
    assert_eq!(a.get(7).unwrap(), Some(70));
    assert_eq!(a.get(16).unwrap(), None, "beyond the end");
    let e = a.set(16, &1).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::E2BIG), "{e}");
    let all: Vec<(u32, u64)> = a.iter().map(Result::unwrap).collect();
    assert_eq!(all.len(), 16);
    assert_eq!(all[5], (5, 50));
    assert_eq!(
        a.values_batch().unwrap(),
        (0..16u64).map(|i| i * 10).collect::<Vec<_>>()
    );
    let keys: Vec<Vec<u8>> = a.map().keys().map(Result::unwrap).collect();
    assert_eq!(keys.len(), 16);
    // Arrays have no delete.
    let e = a.map().delete(&3u32.to_ne_bytes()).unwrap_err();
    assert_eq!(e.failed_call(), Some(Syscall::MapDelete));
    assert!(e.to_string().contains("arrays have no delete"), "{e}");
}

fn hash_round_trip(t: MapType) {
    let m: HashMap<Key, u64> = HashMap::<Key, u64>::builder(t, 64)
        .name("t_hash")
        .create()
        .unwrap()
        .try_into()
        .unwrap();
    let k = |i: u32| Key { a: i, b: !i };
    for i in 0..40 {
        m.insert(&k(i), &u64::from(i), UpdateFlag::NoExist).unwrap();
    }
    assert_eq!(m.get(&k(7)).unwrap(), Some(7));
    assert_eq!(m.get(&k(99)).unwrap(), None);
    let e = m.insert(&k(7), &0, UpdateFlag::NoExist).unwrap_err();
    assert!(matches!(e, Error::KeyExists { .. }), "{e}");
    let e = m.insert(&k(99), &0, UpdateFlag::Exist).unwrap_err();
    assert!(matches!(e, Error::KeyNotFound { .. }), "{e}");
    m.insert(&k(7), &700, UpdateFlag::Exist).unwrap();
    let got: BTreeSet<Key> = m.keys().map(Result::unwrap).collect();
    assert_eq!(got, (0..40).map(k).collect());
    let mut entries = m.entries_batch(8).unwrap();
    entries.sort();
    assert_eq!(entries.len(), 40);
    assert_eq!(entries.iter().find(|e| e.0 == k(7)).unwrap().1, 700);
    // Delete while iterating: every entry is seen once.
    let mut n = 0;
    for key in m.keys() {
        m.remove(&key.unwrap()).unwrap();
        n += 1;
    }
    assert_eq!(n, 40);
    assert_eq!(m.keys().count(), 0);
    let e = m.remove(&k(1)).unwrap_err();
    assert!(matches!(e, Error::KeyNotFound { .. }), "{e}");
    // Batch insert and delete.
    let batch: Vec<(Key, u64)> = (0..20).map(|i| (k(i), u64::from(i))).collect();
    m.insert_batch(&batch, UpdateFlag::Any).unwrap();
    assert_eq!(m.iter().count(), 20);
    let keys: Vec<Key> = (0..10).map(k).collect();
    assert_eq!(m.remove_batch(&keys).unwrap(), 10);
    assert_eq!(m.iter().count(), 10);
}

#[test]
fn hash_and_lru_hash() {
    require_privilege!();
    hash_round_trip(MapType::Hash);
    hash_round_trip(MapType::LruHash);
}

#[test]
fn a_full_hash_map_says_e2big() {
    require_privilege!();
    let m = HashMap::<u32, u32>::create("t_full", 4).unwrap();
    for i in 0..4 {
        m.insert(&i, &i, UpdateFlag::Any).unwrap();
    }
    let e = m.insert(&4, &4, UpdateFlag::Any).unwrap_err();
    assert_eq!(e.failed_call(), Some(Syscall::MapUpdate));
    assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
    assert!(e.to_string().contains("the map is full"), "{e}");
}

#[test]
fn per_cpu_values_one_per_possible_cpu() {
    require_privilege!();
    let cpus = possible_cpus().unwrap();
    let a = PerCpuArray::<u32>::create("t_pcpu_arr", 4).unwrap();
    let values: Vec<u32> = (0..cpus as u32).map(|c| c + 100).collect();
    a.set(2, &values).unwrap();
    assert_eq!(a.get(2).unwrap(), Some(values.clone()));
    assert_eq!(a.get(0).unwrap(), Some(vec![0; cpus]));
    let e = a.set(1, &[1]).unwrap_err();
    if cpus != 1 {
        assert!(e.to_string().contains("one per possible CPU"), "{e}");
    }
    assert_eq!(a.map().value_len(), 8 * cpus, "u32 values padded to 8");

    for t in [MapType::PercpuHash, MapType::LruPercpuHash] {
        let h: PerCpuHashMap<u16, u64> = HashMap::<u16, u64>::builder(t, 16)
            .create()
            .unwrap()
            .try_into()
            .unwrap();
        let v: Vec<u64> = (0..cpus as u64).collect();
        h.insert(&9, &v, UpdateFlag::Any).unwrap();
        assert_eq!(h.get(&9).unwrap(), Some(v.clone()));
        assert_eq!(h.iter().count(), 1);
        assert_eq!(h.entries_batch(4).unwrap(), vec![(9, v)]);
        h.remove(&9).unwrap();
        assert_eq!(h.get(&9).unwrap(), None);
    }
}

#[test]
fn wrong_sizes_and_types_are_refused() {
    require_privilege!();
    let m = Map::builder(MapType::Hash)
        .key_size(4)
        .value_size(8)
        .max_entries(4)
        .create()
        .unwrap();
    // A typed handle checks the sizes once.
    let e = HashMap::<u64, u64>::try_from(m).unwrap_err();
    assert!(matches!(e, Error::InvalidMap { .. }), "{e}");
    assert!(e.to_string().contains("the key type has 8 bytes"), "{e}");
    let m = Map::builder(MapType::Array)
        .key_size(4)
        .value_size(8)
        .max_entries(4)
        .create()
        .unwrap();
    let e = HashMap::<u32, u64>::try_from(m).unwrap_err();
    assert!(
        e.to_string()
            .contains("handles hash or lru_hash maps, not array"),
        "{e}"
    );
    // An existing fd: the kernel says what it is.
    let a = Array::<u64>::create("t_from_fd", 3).unwrap();
    let reopened = Map::from_fd(a.into_map().into()).unwrap();
    assert_eq!(
        (
            reopened.map_type(),
            reopened.key_size(),
            reopened.value_size()
        ),
        (MapType::Array, 4, 8)
    );
    assert_eq!(reopened.name(), "t_from_fd");
    // Before the syscall: a ring buffer of a size that is not a power of two.
    let e = RingBuf::create("t_bad_rb", 3 * 4096).unwrap_err();
    assert!(matches!(e, Error::InvalidMap { .. }), "{e}");
}

#[test]
fn every_map_type_is_created() {
    require_privilege!();
    for t in [
        MapType::Array,
        MapType::Hash,
        MapType::LruHash,
        MapType::PercpuArray,
        MapType::PercpuHash,
        MapType::LruPercpuHash,
        MapType::ProgArray,
    ] {
        let m = Map::builder(t)
            .key_size(4)
            .value_size(4)
            .max_entries(8)
            .create()
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(m.map_type(), t);
    }
    Map::builder(MapType::Ringbuf)
        .max_entries(1 << 16)
        .create()
        .unwrap();
    Map::builder(MapType::Hash)
        .key_size(4)
        .value_size(4)
        .max_entries(8)
        .flags(bpf_sys::BPF_F_NO_PREALLOC)
        .create()
        .unwrap();
    Map::builder(MapType::Array)
        .key_size(4)
        .value_size(4)
        .max_entries(8)
        .flags(bpf_sys::BPF_F_MMAPABLE | bpf_sys::BPF_F_RDONLY_PROG)
        .create()
        .unwrap();
}

/// Counts packets (index 0) and bytes (index 1) into `counts`.
const COUNT: Program = bpf_prog! {
    mov r6, r1;
    lddw r1, map_value(counts, 0);
    mov r2, 1;
    lock add [r1], r2;
    ldxw r2, [r6 + 0];      // skb->len
    lock add [r1 + 8], r2;
    mov r0, -1;
    exit
};

#[test]
fn a_filter_counts_live_loopback_traffic() {
    require_privilege!();
    let counts = Array::<[u64; 2]>::create("t_counts", 1).unwrap();
    let prog = ProgramLoader::new(&COUNT)
        .name("t_count")
        .map("counts", &counts)
        .load()
        .unwrap();
    let rx = udp_socket();
    attach_filter(&rx, &prog).unwrap();
    let tx = udp_socket();
    let to = rx.local_addr().unwrap();
    let mut bytes = 0;
    for i in 0..25usize {
        let payload = vec![7u8; 10 + i];
        tx.send_to(&payload, to).unwrap();
        // On a UDP socket the filter sees the UDP header and the payload.
        bytes += 8 + payload.len() as u64;
    }
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 128];
    for _ in 0..25 {
        rx.recv(&mut buf).unwrap();
    }
    assert_eq!(counts.get(0).unwrap(), Some([25, bytes]));
}

/// One 8-byte record per run: a sequence number from `seq`.
const PRODUCER: Program = bpf_prog! {
    lddw r1, map_value(seq, 0);
    mov r2, 1;
    lock fetch add [r1], r2;
    stxdw [r10 - 8], r2;
    lddw r1, map_fd(events);
    mov r2, r10;
    add r2, -8;
    mov r3, 8;
    mov r4, 0;
    call ringbuf_output;
    mov r0, 0;
    exit
};

#[test]
fn ring_buffer_records_arrive_in_order() {
    require_privilege!();
    let seq = Array::<u64>::create("t_seq", 1).unwrap();
    let mut events = RingBuf::create("t_events", 1 << 16).unwrap();
    let prog = ProgramLoader::new(&PRODUCER)
        .map("seq", &seq)
        .map("events", &events)
        .load()
        .unwrap();
    assert!(events.next().is_none());
    assert!(
        !events.wait(Some(Duration::from_millis(10))).unwrap(),
        "empty"
    );
    let mut next = 0u64;
    // 10 rounds of 500 records (16 bytes each with the header: 8000 of
    // the 65536 bytes), drained between rounds: nothing is lost.
    for round in 0..10 {
        prog.test_run(&[0u8; 64], 500).unwrap();
        if round % 2 == 0 {
            while let Some(r) = events
                .next_timeout(Some(Duration::from_millis(100)))
                .unwrap()
            {
                assert_eq!(r.len(), 8);
                assert_eq!(u64::from_ne_bytes(r[..].try_into().unwrap()), next);
                next += 1;
            }
        } else {
            let n = events.drain(|r| {
                assert_eq!(u64::from_ne_bytes(r.try_into().unwrap()), next);
                next += 1;
            });
            assert_eq!(n, 500);
        }
        assert_eq!(next, 500 * (round + 1));
        assert_eq!(events.pending(), 0);
    }
}

#[test]
fn a_program_array_holds_tail_call_targets() {
    require_privilege!();
    const LEAF: Program = bpf_prog! { mov r0, 7; exit };
    const JUMP: Program = bpf_prog! {
        lddw r2, map_fd(jumps);
        mov r3, 0;
        call tail_call;
        mov r0, 1;
        exit
    };
    let jumps = ProgramArray::create("t_jumps", 2).unwrap();
    let leaf = bpf_loader::load(&LEAF).unwrap();
    let jump = ProgramLoader::new(&JUMP)
        .map("jumps", &jumps)
        .load()
        .unwrap();
    assert_eq!(
        jump.test_run(&[0u8; 64], 1).unwrap().retval,
        1,
        "empty slot"
    );
    jumps.set(0, &leaf).unwrap();
    assert_eq!(jump.test_run(&[0u8; 64], 1).unwrap().retval, 7, "tail call");
    jumps.clear(0).unwrap();
    assert_eq!(jump.test_run(&[0u8; 64], 1).unwrap().retval, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// A hash map filled with random keys iterates (and batch-reads) back
    /// exactly the same set.
    #[test]
    fn random_keys_iterate_back(keys in proptest::collection::btree_set(any::<u64>(), 0..300)) {
        if common::privilege().is_err() {
            return Ok(());
        }
        let m = HashMap::<u64, u32>::create("t_prop", 300).unwrap();
        for k in &keys {
            m.insert(k, &(*k as u32), UpdateFlag::NoExist).unwrap();
        }
        let got: BTreeSet<u64> = m.keys().map(Result::unwrap).collect();
        prop_assert_eq!(&got, &keys);
        let batch: BTreeSet<u64> = m.entries_batch(32).unwrap().into_iter().map(|e| e.0).collect();
        prop_assert_eq!(&batch, &keys);
    }
}

/// Declares its maps: the loader creates them.
const DECLARED: Program = bpf_prog! {
    #![map(total: array, key = u32, value = u64, max_entries = 1)]
    #![map(seen: hash, key = u32, value = u64, max_entries = 16)]
    mov r6, r1;
    lddw r1, map_value(total, 0);
    mov r2, 1;
    lock add [r1], r2;
    ldxw r7, [r6 + 0];          // skb->len as the key
    stxw [r10 - 4], r7;
    stdw [r10 - 16], 1;
    lddw r1, map_fd(seen);
    mov r2, r10;
    add r2, -4;
    mov r3, r10;
    add r3, -16;
    mov r4, 0;
    call map_update_elem;
    mov r0, -1;
    exit
};

#[test]
fn declared_maps_are_created_by_the_loader() {
    require_privilege!();
    let mut prog = ProgramLoader::new(&DECLARED)
        .name("t_declared")
        .load()
        .unwrap();
    assert_eq!(prog.maps().len(), 2);
    for _ in 0..3 {
        prog.test_run(&[0u8; 64], 1).unwrap();
    }
    let total: Array<u64> = prog.take_map("total").unwrap();
    assert_eq!(total.get(0).unwrap(), Some(3));
    let seen: HashMap<u32, u64> = prog.take_map("seen").unwrap();
    // Under a test run the filter sees the 64-byte frame minus its
    // Ethernet header.
    assert_eq!(
        seen.iter().map(Result::unwrap).collect::<Vec<_>>(),
        [(50, 1)]
    );
    let e = prog.take_map::<Map>("seen").unwrap_err();
    assert!(matches!(e, Error::MapMismatch { .. }), "{e}");

    // A map bound by the user must match the declaration.
    let wrong = HashMap::<u32, u64>::create("t_wrong", 32).unwrap();
    let e = ProgramLoader::new(&DECLARED)
        .map("seen", &wrong)
        .load()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("map `seen`: the program declares max_entries 16, the bound map has 32"),
        "{e}"
    );
    let right = HashMap::<u32, u64>::create("t_right", 16).unwrap();
    let prog = ProgramLoader::new(&DECLARED)
        .map("seen", &right)
        .load()
        .unwrap();
    assert_eq!(prog.maps().len(), 1, "only `total` was created");
    prog.test_run(&[0u8; 64], 1).unwrap();
    assert_eq!(right.get(&50).unwrap(), Some(1));
}

#[test]
fn an_unbound_map_name_is_an_error_before_loading() {
    require_privilege!();
    const UNBOUND: Program = bpf_prog! {
        lddw r1, map_fd(nowhere);
        mov r0, 0;
        exit
    };
    let e = ProgramLoader::new(&UNBOUND).load().unwrap_err();
    assert!(
        matches!(&e, Error::UnboundMap { map, .. } if map == "nowhere"),
        "{e}"
    );
    assert!(
        e.to_string().contains("no map is bound to that name"),
        "{e}"
    );
}
