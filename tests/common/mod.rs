//! Helpers shared by the kernel integration tests.
//!
//! The tests load programs and open `AF_PACKET` sockets, which needs root or
//! `CAP_BPF` + `CAP_NET_RAW`. Without them every test prints why it is
//! skipped and passes, unless `BPF_TESTS_REQUIRE_PRIVILEGE=1` is set (as in
//! CI), which turns the skip into a failure.

#![allow(dead_code, unreachable_pub, unused_macros, unused_imports)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use bpf_loader::{Insn, PacketSocket, Program};

/// The environment variable that makes a missing privilege a failure.
pub const REQUIRE_VAR: &str = "BPF_TESTS_REQUIRE_PRIVILEGE";

/// Whether this process may load BPF programs and open packet sockets:
/// `Err(why)` when a call fails with `EPERM`/`EACCES`. Any other failure
/// is a bug and panics. Checked once per test binary.
pub fn privilege() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let accept_all = Program::from_insns(vec![
                Insn::new(0xb7, 0, 0, 0, -1),
                Insn::new(0x95, 0, 0, 0, 0),
            ]);
            match bpf_loader::load(&accept_all) {
                Ok(_) => {}
                Err(e) if e.is_permission_denied() => return Err(e.to_string()),
                Err(e) => panic!("loading a trivial program failed: {e}"),
            }
            match PacketSocket::bind("lo") {
                Ok(_) => Ok(()),
                Err(e) if e.is_permission_denied() => Err(e.to_string()),
                Err(e) => panic!("opening a packet socket on lo failed: {e}"),
            }
        })
        .clone()
}

/// Returns from the calling test, after saying why, if the process lacks the
/// privilege to load programs and open packet sockets; fails instead when
/// `BPF_TESTS_REQUIRE_PRIVILEGE=1`.
macro_rules! require_privilege {
    () => {
        if let Err(why) = $crate::common::privilege() {
            if ::std::env::var_os($crate::common::REQUIRE_VAR).is_some_and(|v| v == "1") {
                panic!(
                    "{}=1 but the test lacks privilege: {why}",
                    $crate::common::REQUIRE_VAR
                );
            }
            // Straight to stderr, past the test harness's output capture, so
            // the skip shows in a normal `cargo test` run.
            let _ = ::std::io::Write::write_all(
                &mut ::std::io::stderr(),
                format!("skipped: needs root or CAP_BPF+CAP_NET_RAW ({why})\n").as_bytes(),
            );
            return;
        }
    };
}
pub(crate) use require_privilege;

/// Whether the kernel half of a test that runs on both the interpreter and
/// the kernel can run: false (after saying so) when unprivileged, a failure
/// when `BPF_TESTS_REQUIRE_PRIVILEGE=1`.
pub fn kernel() -> bool {
    match privilege() {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var_os(REQUIRE_VAR).is_none_or(|v| v != "1"),
                "{REQUIRE_VAR}=1 but the test lacks privilege: {why}"
            );
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "kernel half skipped, interpreter only: needs root or CAP_BPF+CAP_NET_RAW ({why})\n"
                )
                .as_bytes(),
            );
            false
        }
    }
}

/// A payload no other test (or process) sends: `bpf-test/<pid>/<tag>/<n>`.
pub fn marker(tag: &str) -> Vec<u8> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("bpf-test/{}/{tag}/{n}", std::process::id()).into_bytes()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A UDP socket on 127.0.0.1 with a port of its own.
pub fn udp_socket() -> UdpSocket {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a UDP socket on 127.0.0.1")
}

/// The port a socket is bound to.
pub fn port_of(sock: &UdpSocket) -> u16 {
    match sock.local_addr().expect("local_addr") {
        SocketAddr::V4(a) => a.port(),
        SocketAddr::V6(a) => a.port(),
    }
}

/// The IPv4 UDP frame of a packet seen on a packet socket (Ethernet
/// header first): `(source port, destination port, payload)`.
pub fn udp4(frame: &[u8]) -> Option<(u16, u16, &[u8])> {
    let ip = frame.get(14..)?;
    if frame.get(12..14)? != [0x08, 0x00] || ip.first()? >> 4 != 4 || *ip.get(9)? != 17 {
        return None;
    }
    let udp = ip.get(usize::from(ip[0] & 0xf) * 4..)?;
    let port = |i: usize| Some(u16::from_be_bytes([*udp.get(i)?, *udp.get(i + 1)?]));
    Some((port(0)?, port(2)?, udp.get(8..)?))
}

/// `program` with every immediate equal to `placeholder` replaced by
/// `value` (how the tests give a compile-time program a port chosen at run
/// time).
pub fn patch_imm(program: &Program, placeholder: i32, value: i32) -> Program {
    let insns = program
        .insns()
        .iter()
        .map(|i| {
            if i.imm() == placeholder {
                i.with_imm(value)
            } else {
                *i
            }
        })
        .collect();
    Program::new(insns, program.relocs().to_vec(), program.source().to_vec())
}

/// A small deterministic generator (xorshift64*) for the randomized
/// differential tests: the same programs on every run and machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}
