//! Every example's filter on the interpreter, on frames as a live packet
//! socket delivers them: no privileges needed, so `cargo test` as an
//! ordinary user checks what each filter keeps, counts and records. With
//! privileges, the stateless filters are also run by the kernel
//! (`BPF_PROG_TEST_RUN`, with 14 bytes in front so they see the same
//! offsets) and must agree.

mod common;
#[path = "../examples/support/filters.rs"]
mod filters;

use bpf_loader::vm::{SkBuff, Verdict, Vm};
use bpf_loader::{Array, HashMap, Program};
use filters::{
    ACCEPT_ALL, ACCEPT_NONE, Count, EVENTS, EVENTS_PORT, FLOWS, Flow, PORT, SOCKEX1, Stats,
    UDP_OR_ICMP, UDP_PORT,
};

/// An Ethernet frame carrying IPv4 with `proto`, from 10.0.0.1 to 10.0.0.2,
/// and `l4` as its payload.
fn ipv4(proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    let total = u16::try_from(20 + l4.len()).expect("small");
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f[14 + 9] = proto;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f.extend_from_slice(l4);
    f
}

/// A UDP datagram to `port` with `payload`.
fn udp(port: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 8];
    h[0..2].copy_from_slice(&5555u16.to_be_bytes());
    h[2..4].copy_from_slice(&port.to_be_bytes());
    h[4..6].copy_from_slice(
        &u16::try_from(8 + payload.len())
            .expect("small")
            .to_be_bytes(),
    );
    h.extend_from_slice(payload);
    ipv4(17, &h)
}

fn ipv6(next: u8) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 40 + 8];
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    f[14] = 0x60;
    f[14 + 6] = next;
    f
}

fn arp() -> Vec<u8> {
    let mut f = vec![0u8; 42];
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    f
}

fn verdict(prog: &Program, frame: &[u8]) -> Verdict {
    let mut vm = Vm::new(prog).expect("interpreter");
    let interp = Verdict::of(vm.run(&SkBuff::live(frame)).expect("runs"));
    if common::kernel() {
        let loaded = bpf_loader::load(prog).expect("loads");
        let shifted = [&[0u8; 14][..], frame].concat();
        let kernel = loaded.test_run(&shifted, 1).expect("test run").retval;
        assert_eq!(
            interp,
            Verdict::of(u64::from(kernel)),
            "the interpreter and the kernel disagree"
        );
    }
    interp
}

#[test]
fn accept_all_and_none() {
    for f in [udp(PORT, b"x"), arp(), ipv6(6)] {
        assert_eq!(verdict(&ACCEPT_ALL, &f), Verdict::Keep(u32::MAX));
        assert_eq!(verdict(&ACCEPT_NONE, &f), Verdict::Drop);
    }
}

#[test]
fn capture_keeps_udp_and_icmp() {
    let keep = Verdict::Keep(u32::MAX);
    assert_eq!(verdict(&UDP_OR_ICMP, &udp(53, b"q")), keep);
    assert_eq!(verdict(&UDP_OR_ICMP, &ipv4(1, &[8, 0, 0, 0])), keep);
    assert_eq!(verdict(&UDP_OR_ICMP, &ipv6(17)), keep);
    assert_eq!(verdict(&UDP_OR_ICMP, &ipv6(58)), keep);
    assert_eq!(verdict(&UDP_OR_ICMP, &ipv4(6, &[0; 20])), Verdict::Drop);
    assert_eq!(verdict(&UDP_OR_ICMP, &ipv6(6)), Verdict::Drop);
    assert_eq!(verdict(&UDP_OR_ICMP, &arp()), Verdict::Drop);
}

#[test]
fn udp_port_keeps_one_port() {
    assert_eq!(
        verdict(&UDP_PORT, &udp(PORT, b"hi")),
        Verdict::Keep(u32::MAX)
    );
    assert_eq!(verdict(&UDP_PORT, &udp(PORT + 1, b"hi")), Verdict::Drop);
    assert_eq!(verdict(&UDP_PORT, &ipv4(6, &[0; 20])), Verdict::Drop);
    // A later fragment has no UDP header.
    let mut frag = udp(PORT, b"hi");
    frag[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
    assert_eq!(verdict(&UDP_PORT, &frag), Verdict::Drop);
}

#[test]
fn sockex1_counts_by_protocol() {
    let mut vm = Vm::new(&SOCKEX1).expect("interpreter");
    let frames = [
        udp(53, b"a"),
        udp(53, b"bb"),
        ipv4(1, &[8, 0, 0, 0]),
        ipv4(6, &[0; 20]),
    ];
    for f in &frames {
        assert_eq!(vm.run(&SkBuff::live(f)).expect("runs"), 0, "keeps nothing");
    }
    let counts =
        Array::<Count>::try_from(vm.map_handle("counts").expect("declared")).expect("typed handle");
    let udp_count = counts.get(17).expect("get").expect("in range");
    assert_eq!(udp_count.packets, 2);
    assert_eq!(udp_count.bytes, (frames[0].len() + frames[1].len()) as u64);
    assert_eq!(counts.get(1).expect("get").expect("in range").packets, 1);
    assert_eq!(counts.get(6).expect("get").expect("in range").packets, 1);
    assert_eq!(counts.get(2).expect("get").expect("in range").packets, 0);
}

#[test]
fn flows_counts_per_flow() {
    let mut vm = Vm::new(&FLOWS).expect("interpreter");
    let a = udp(53, b"a");
    let mut b = udp(53, b"bbb");
    b[26..30].copy_from_slice(&[10, 0, 0, 9]);
    for f in [&a, &a, &b] {
        vm.run(&SkBuff::live(f)).expect("runs");
    }
    let flows = HashMap::<Flow, Stats>::try_from(vm.map_handle("flows").expect("declared"))
        .expect("typed handle");
    let mut all: Vec<(Flow, Stats)> = flows.iter().collect::<Result<_, _>>().expect("iterate");
    all.sort_by_key(|(k, _)| k.src);
    assert_eq!(all.len(), 2);
    let key = |src: [u8; 4]| Flow {
        src: u32::from_be_bytes(src),
        dst: u32::from_be_bytes([10, 0, 0, 2]),
        proto: 17,
    };
    let first = flows
        .get(&key([10, 0, 0, 1]))
        .expect("get")
        .expect("present");
    assert_eq!((first.packets, first.bytes), (2, 2 * a.len() as u64));
    let second = flows
        .get(&key([10, 0, 0, 9]))
        .expect("get")
        .expect("present");
    assert_eq!((second.packets, second.bytes), (1, b.len() as u64));
}

#[test]
fn events_records_matching_datagrams() {
    let mut vm = Vm::new(&EVENTS).expect("interpreter");
    vm.run(&SkBuff::live(&udp(EVENTS_PORT, b"abcdefgh")))
        .expect("runs");
    vm.run(&SkBuff::live(&udp(EVENTS_PORT + 1, b"zzzzzzzz")))
        .expect("runs");
    let records = vm.ring_records("events");
    assert_eq!(records.len(), 1, "one matching datagram");
    let port = u16::from_ne_bytes([records[0][0], records[0][1]]);
    assert_eq!(port, EVENTS_PORT);
    let head = u32::from_ne_bytes(records[0][8..12].try_into().expect("4 bytes"));
    assert_eq!(head, u32::from_be_bytes(*b"abcd"));
}
