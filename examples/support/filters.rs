//! The examples' filters and the records they write, in one place so the
//! tests can run every one of them on the interpreter (`tests/example_filters.rs`
//! includes this file), with or without privileges.

#![allow(dead_code, unreachable_pub)]

use bpf_loader::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use bpf_loader::{Program, bpf_prog};

// `examples/accept_all.rs`.
/// Keeps every packet: a socket filter returns how many bytes to keep.
pub const ACCEPT_ALL: Program = bpf_prog! {
    mov64 r0, -1;
    exit
};

// `examples/accept_none.rs`.
/// Drops every packet: keep 0 bytes.
pub const ACCEPT_NONE: Program = bpf_prog! {
    mov64 r0, 0;
    exit
};

// `examples/udp_port.rs`.
/// The port whose datagrams pass.
pub const PORT: u16 = 4242;
/// Another port, whose datagrams do not.
pub const OTHER_PORT: u16 = PORT + 1;
/// Keeps IPv4 UDP datagrams to port [`PORT`].
///
/// On a live `AF_PACKET` socket the data starts at the 14-byte Ethernet
/// header: the ethertype is at 12, the IPv4 header at 14 (its protocol at
/// 14 + 9 = 23, flags and fragment offset at 14 + 6 = 20) and the UDP header
/// at 14 + IHL * 4, its destination port 2 bytes further.
///
/// `ldabs*`/`ldind*` read big-endian packet data into r0; they take the
/// context from r6 (so it is copied there first) and clobber r1-r5.
/// `ldindh r7, 16` reads at r7 + 16, that is 14 + IHL * 4 + 2.
pub const UDP_PORT: Program = bpf_prog! {
    mov64 r6, r1;               // the context, for the legacy loads
    ldabsh 12;                  // ethertype
    jne r0, 0x0800, drop;       // not IPv4
    ldabsb 23;                  // IPv4 protocol
    jne r0, 17, drop;           // not UDP
    ldabsh 20;                  // flags and fragment offset
    jset r0, 0x1fff, drop;      // a later fragment: no UDP header in it
    ldabsb 14;                  // version and IHL
    and64 r0, 0xf;
    lsh64 r0, 2;                // IHL in bytes
    mov64 r7, r0;
    ldindh r7, 16;              // UDP destination port
    jne r0, { PORT }, drop;     // a Rust constant, range-checked
    mov64 r0, -1;               // keep the whole packet
    exit;
drop:
    mov64 r0, 0;
    exit
};

// `examples/sockex1.rs`.
/// Packets and bytes of one protocol, as the program adds them up.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
pub struct Count {
    pub packets: u64,
    pub bytes: u64,
}
/// Counts every IPv4 packet by protocol, and keeps none of them (the
/// socket is only there to run the filter).
pub const SOCKEX1: Program = bpf_prog! {
    #![map(counts: array, key = u32, value = 16, max_entries = 256)]
    mov r6, r1;                 // the context, for the legacy loads
    ldabsh 12;                  // ethertype
    jne r0, 0x0800, out;        // IPv4 only
    ldabsb 23;                  // the IP protocol: the index
    stxw [r10 - 4], r0;
    mov r2, r10;
    add r2, -4;                 // r2 = &index
    lddw r1, map_fd(counts);
    call map_lookup_elem;       // r0 = &counts[index], or null
    jeq r0, 0, out;
    mov r1, 1;
    lock add [r0 + 0], r1;      // packets
    ldxw r1, [r6 + 0];          // skb->len
    lock add [r0 + 8], r1;      // bytes
out:
    mov r0, 0;
    exit
};

// `examples/flows.rs`.
/// The flow key, as the program writes it on its stack: addresses in
/// network order (as loaded by `ldabsw`, host order of their big-endian
/// value), the protocol, padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
pub struct Flow {
    pub src: u32,
    pub dst: u32,
    pub proto: u32,
}
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
}
pub const FLOWS: Program = bpf_prog! {
    #![map(flows: hash, key = 12, value = 16, max_entries = 1024)]
    mov r6, r1;
    ldabsh 12;
    jne r0, 0x0800, out;        // IPv4 only
    ldabsw 26;                  // source address
    stxw [r10 - 12], r0;
    ldabsw 30;                  // destination address
    stxw [r10 - 8], r0;
    ldabsb 23;                  // protocol
    stxw [r10 - 4], r0;
    mov r2, r10;
    add r2, -12;                // r2 = &key
    lddw r1, map_fd(flows);
    call map_lookup_elem;
    jeq r0, 0, new;
    mov r1, 1;
    lock add [r0 + 0], r1;
    ldxw r1, [r6 + 0];          // skb->len
    lock add [r0 + 8], r1;
    ja out;
new:                            // first packet of the flow
    stdw [r10 - 32], 1;
    ldxw r1, [r6 + 0];
    stxdw [r10 - 24], r1;
    lddw r1, map_fd(flows);
    mov r2, r10;
    add r2, -12;
    mov r3, r10;
    add r3, -32;                // r3 = &value
    mov r4, 1;                  // BPF_NOEXIST: a racing CPU may have won
    call map_update_elem;
out:
    mov r0, 0;
    exit
};

// `examples/events.rs`.
pub const EVENTS_PORT: u16 = 4245;
/// One record, as the program writes it.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Event {
    /// UDP destination port.
    pub port: u16,
    /// The frame's length.
    pub len: u16,
    pub _pad: u32,
    /// The first payload bytes (as two big-endian words read by `ldabsw`,
    /// stored in host order).
    pub head: [u32; 2],
}
pub const EVENTS: Program = bpf_prog! {
    #![map(events: ringbuf, max_entries = 65536)]
    #![map(lost: array, key = u32, value = u64, max_entries = 1)]
    mov r6, r1;
    ldabsh 12;
    jne r0, 0x0800, out;
    ldabsb 23;
    jne r0, 17, out;            // UDP
    ldabsb 14;
    jne r0, 0x45, out;          // no IP options: UDP at 34, payload at 42
    ldabsh 36;                  // destination port
    jne r0, { EVENTS_PORT }, out;
    stxh [r10 - 16], r0;
    ldxw r1, [r6 + 0];          // skb->len
    stxh [r10 - 14], r1;
    stw [r10 - 12], 0;
    ldabsw 42;
    stxw [r10 - 8], r0;
    ldabsw 46;
    stxw [r10 - 4], r0;
    lddw r1, map_fd(events);
    mov r2, r10;
    add r2, -16;
    mov r3, 16;
    mov r4, 0;
    call ringbuf_output;        // 0, or an error when the ring is full
    jeq r0, 0, out;
    lddw r1, map_value(lost, 0);
    mov r2, 1;
    lock add [r1], r2;
out:
    mov r0, 0;
    exit
};

// `examples/capture.rs`.
/// Keeps IPv4/IPv6 packets carrying UDP, ICMP or ICMPv6.
///
/// On a packet socket the data starts at the Ethernet header: ethertype at
/// 12, then the IP header at 14. The IPv4 protocol is byte 9 of its header
/// (14 + 9 = 23), the IPv6 Next Header byte 6 (14 + 6 = 20). The legacy
/// loads `ldabs*` read big-endian packet bytes into r0 and take the context
/// from r6. A socket filter returns how many bytes to keep: -1 all, 0 none
/// (the snap length: see [`with_snaplen`]).
pub const UDP_OR_ICMP: Program = bpf_prog! {
    mov64 r6, r1;               // the context, for the legacy loads
    ldabsh 12;                  // ethertype
    jeq r0, 0x0800, ipv4;
    jeq r0, 0x86dd, ipv6;
    ja drop;
ipv4:
    ldabsb 23;                  // IPv4 protocol
    jeq r0, 17, keep;           // UDP
    jeq r0, 1, keep;            // ICMP
    ja drop;
ipv6:
    ldabsb 20;                  // IPv6 next header
    jeq r0, 17, keep;           // UDP
    jeq r0, 58, keep;           // ICMPv6
drop:
    mov64 r0, 0;
    exit;
keep:
    mov64 r0, -1;
    exit
};
