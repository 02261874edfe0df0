//! Load eBPF programs assembled by [`bpf_prog!`] and attach them as socket
//! filters.
//!
//! - Loading: [`ProgramLoader`] (`ProgramLoader::new(&prog).name("x").load()`),
//!   or the shortcut [`load`] for the defaults: `bpf(BPF_PROG_LOAD)`, with the
//!   verifier log fetched on failure and mapped back to the source lines of
//!   the program ([`VerifierError`]); map fds bound by name; the program
//!   type as a [`ProgType`].
//! - [`LoadedProgram::test_run`]: run a program on a packet with
//!   `bpf(BPF_PROG_TEST_RUN)`.
//! - Attaching: [`attach_filter`] / [`detach_filter`] on any socket
//!   (`SO_ATTACH_BPF`), a [`PacketSocket`] included.
//! - [`PacketSocket`]: a raw `AF_PACKET` socket on one interface, receiving
//!   packets with a timeout; its builder attaches the filter
//!   ([`PacketSocketBuilder::filter`]) before binding, so no unfiltered
//!   packet gets in.
//! - [`PacketRing`]: the same socket with a memory-mapped TPACKET_V3
//!   receive ring ([`PacketSocketBuilder::bind_ring`], [`RingGeometry`]):
//!   packets are read in place, as [`RingPacket`]s borrowed from their
//!   [`Block`], which goes back to the kernel when dropped; no system call
//!   per packet. [`Fanout`] groups share an interface's traffic between
//!   sockets; [`PacketStats`] are the kernel's counters (drops included).
//! - [`CaptureWriter`]: pcap and pcapng files with nanosecond timestamps,
//!   as tcpdump and Wireshark read them.
//!
//! - Maps: [`MapBuilder`] (`bpf(BPF_MAP_CREATE)`, checked before the call),
//!   the typed handles [`Array`], [`HashMap`], [`PerCpuArray`],
//!   [`PerCpuHashMap`], [`ProgramArray`] over [`Pod`] keys and values, the
//!   untyped [`Map`], and the ring buffer consumer [`RingBuf`]. Maps a
//!   program declares (`#![map(NAME: TYPE, ...)]`) are created by the loader
//!   and handed back by name ([`LoadedProgram::take_map`]).
//!
//! Every call that needs privilege needs root, or `CAP_BPF` (loading) and
//! `CAP_NET_RAW` (packet sockets); [`Error::is_permission_denied`] tells
//! that case apart so programs can say so.
//!
//! ```no_run
//! use std::time::Duration;
//! use bpf_loader::{PacketSocket, ProgramLoader, bpf_prog};
//!
//! // Keep IPv4 packets: on a packet socket the data starts at the Ethernet
//! // header, whose ethertype is at offset 12.
//! const IPV4: bpf_loader::Program = bpf_prog! {
//!     mov64 r6, r1;       // legacy packet loads take the context from r6
//!     ldabsh 12;
//!     jne r0, 0x0800, drop;
//!     mov64 r0, -1;
//!     exit;
//! drop:
//!     mov64 r0, 0;
//!     exit
//! };
//!
//! fn main() -> Result<(), bpf_loader::Error> {
//!     let prog = ProgramLoader::new(&IPV4).name("ipv4").load()?;
//!     let sock = PacketSocket::builder()
//!         .ignore_outgoing(true)
//!         .filter(&prog)
//!         .bind("lo")?;
//!     let mut buf = [0u8; 2048];
//!     while let Some(meta) = sock.recv(&mut buf, Some(Duration::from_secs(1)))? {
//!         println!("{} bytes from ifindex {}", meta.len, meta.ifindex);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Where a socket filter's data starts
//!
//! The same program sees different bytes at the same offset depending on
//! where it runs:
//!
//! | where | data starts at | IPv4 protocol byte |
//! |---|---|---|
//! | [`PacketSocket`] (`AF_PACKET`, `SOCK_RAW`) | the Ethernet header (on `lo`: zero MAC addresses, then the ethertype) | `ldabsb 23` |
//! | [`LoadedProgram::test_run`] | the IP header: the kernel strips the 14-byte Ethernet header of the frame passed in | `ldabsb 9` |
//! | a UDP socket ([`attach_filter`]) | the UDP header: the kernel has removed the IP header | (not visible) |
//!
//! A filter written for a live packet socket can still be tested with
//! `test_run` by passing 14 extra bytes in front of the frame.
//!
//! # Kernel versions
//!
//! `bpf(2)` socket filters (`SO_ATTACH_BPF`) need Linux 3.19,
//! `BPF_PROG_TEST_RUN` 4.12, program names 4.15, `PACKET_IGNORE_OUTGOING`
//! 4.20, TPACKET_V3 rings 3.2 (block timeouts work from 3.2; VLAN TPID
//! 3.13), `PACKET_FANOUT` 3.1 (with `ignore_outgoing`, its
//! `PACKET_FANOUT_FLAG_IGNORE_OUTGOING`, a 6.x flag: older kernels refuse
//! the join with `EINVAL`).
//! Man pages: bpf(2), packet(7), socket(7).
//!
//! All `unsafe` code (the system calls) lives in one private module; the
//! rest of the crate forbids it.
#![deny(unsafe_code)]

extern crate self as bpf_loader;

pub use bpf_asm::{Insn, MapReloc, MapSpec, Program, SourceLine};
pub use bpf_macros::bpf_prog;
/// The raw bindings of `linux/bpf.h`: opcodes, helper ids, `bpf_attr`.
pub use bpf_sys;
pub use bpf_sys::{MapType, ProgType};
/// zerocopy, whose derives (`FromBytes`, `IntoBytes`, `Immutable`) make a
/// `#[repr(C)]` struct a map key or value ([`Pod`]).
pub use zerocopy;

/// The runtime assembler and the disassembler: the same parser, checks and
/// ISA table as `bpf_prog!`, for text known only at run time.
///
/// ```
/// let prog = bpf_loader::asm::assemble("mov r0, -1\nexit").unwrap();
/// assert_eq!(bpf_loader::asm::disassemble(prog.insns()), "    mov r0, -1\n    exit\n");
/// ```
pub mod asm {
    pub use bpf_asm::{
        AsmError, AsmErrors, Assembler, assemble, disassemble, disassemble_pseudo_c,
        insn_to_pseudo_c, insn_to_string,
    };
}

mod capture_file;
mod error;
pub(crate) mod map;
mod prog;
mod ring;
mod socket;
#[allow(unsafe_code)]
mod sys;
mod verifier;
pub mod vm;

pub use capture_file::{CaptureFormat, CaptureWriter};
pub use error::{Error, Result, Syscall};
pub use map::{
    Array, HashMap, Keys, Map, MapBuilder, PerCpuArray, PerCpuHashMap, Pod, ProgramArray, RingBuf,
    RingBufRecord, UpdateFlag, possible_cpus,
};
pub use prog::{LoadedProgram, ProgramLoader, TestRun, load};
pub use ring::{Block, PacketRing, Packets, RingGeometry, RingPacket, Vlan};
pub use socket::{
    Fanout, FanoutMode, Packet, PacketMeta, PacketSocket, PacketSocketBuilder, PacketStats,
    PacketType, attach_filter, detach_filter,
};
pub use verifier::{LogInsn, VerifierError};
