//! Replaying capture files (`examples/support/replay.rs`, the `replay`
//! example's logic): pcap and pcapng files written by `CaptureWriter` with a
//! known mix of frames, run through filters on the interpreter and, when
//! privileged, with test runs on the kernel; the counts must be exact and
//! the same on both.

mod common;
#[path = "../examples/support/replay.rs"]
mod replay;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bpf_loader::asm::Assembler;
use bpf_loader::vm::DataStart;
use bpf_loader::{CaptureFormat, CaptureWriter, Program};
use etherparse::PacketBuilder;

use replay::{Counts, Engine, ReplayError, replay, replay_file};

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];
const IP_A: [u8; 4] = [10, 0, 0, 1];
const IP_B: [u8; 4] = [10, 0, 0, 2];
const IP6_A: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const IP6_B: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Udp4,
    Udp6,
    Icmp4,
    Icmp6,
    Tcp4,
    Arp,
    /// Shorter than an Ethernet header.
    Runt,
}

/// One frame of `kind` with `payload` bytes of payload.
fn frame(kind: Kind, payload: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..payload).map(|i| i as u8).collect();
    let mut out = Vec::new();
    let eth = || PacketBuilder::ethernet2(MAC_A, MAC_B);
    let written = match kind {
        Kind::Udp4 => eth()
            .ipv4(IP_A, IP_B, 64)
            .udp(4000, 53)
            .write(&mut out, &data),
        Kind::Udp6 => eth()
            .ipv6(IP6_A, IP6_B, 64)
            .udp(4000, 53)
            .write(&mut out, &data),
        Kind::Icmp4 => eth()
            .ipv4(IP_A, IP_B, 64)
            .icmpv4_echo_request(7, 1)
            .write(&mut out, &data),
        Kind::Icmp6 => eth()
            .ipv6(IP6_A, IP6_B, 64)
            .icmpv6_echo_request(7, 1)
            .write(&mut out, &data),
        Kind::Tcp4 => eth()
            .ipv4(IP_A, IP_B, 64)
            .tcp(4000, 80, 1, 1024)
            .write(&mut out, &data),
        Kind::Arp => {
            // Ethernet (broadcast, ARP) and a 28-byte ARP request.
            out.extend_from_slice(&[0xff; 6]);
            out.extend_from_slice(&MAC_A);
            out.extend_from_slice(&[0x08, 0x06]);
            out.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
            out.extend_from_slice(&MAC_A);
            out.extend_from_slice(&IP_A);
            out.extend_from_slice(&[0; 6]);
            out.extend_from_slice(&IP_B);
            Ok(())
        }
        Kind::Runt => {
            out.extend_from_slice(&[0xaa; 10]);
            Ok(())
        }
    };
    written.expect("build a frame");
    out
}

/// The mix every file holds: 17 frames.
fn mix() -> Vec<(Kind, Vec<u8>)> {
    let spec: &[(Kind, usize)] = &[
        (Kind::Udp4, 0),
        (Kind::Tcp4, 20),
        (Kind::Udp4, 18),
        (Kind::Icmp4, 56),
        (Kind::Udp4, 100),
        (Kind::Arp, 0),
        (Kind::Udp6, 12),
        (Kind::Tcp4, 500),
        (Kind::Icmp6, 8),
        (Kind::Udp4, 1000),
        (Kind::Runt, 0),
        (Kind::Tcp4, 0),
        (Kind::Udp6, 300),
        (Kind::Icmp4, 0),
        (Kind::Udp4, 3),
        (Kind::Tcp4, 1200),
        (Kind::Icmp4, 64),
    ];
    spec.iter().map(|&(k, n)| (k, frame(k, n))).collect()
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        TempFile(
            std::env::temp_dir().join(format!("bpf-replay-test-{}-{name}", std::process::id())),
        )
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `frames` to `path` in `format`, cut to `snaplen`.
fn write(path: &Path, format: CaptureFormat, snaplen: Option<u32>, frames: &[(Kind, Vec<u8>)]) {
    let mut w = CaptureWriter::create(path, format, snaplen, Some("lo")).expect("create");
    for (i, (_, f)) in frames.iter().enumerate() {
        let ts = Duration::new(1_700_000_000 + i as u64, 123_456_789);
        w.write(ts, f.len(), f).expect("write a packet");
    }
    assert_eq!(w.packets(), frames.len() as u64);
    w.finish().expect("finish");
}

/// What a filter keeping `keep` kinds and returning `n` should count over
/// `frames` cut to `snaplen`, the data starting at `start`.
fn expected(
    frames: &[(Kind, Vec<u8>)],
    keep: &[Kind],
    n: u32,
    snaplen: usize,
    start: DataStart,
) -> Counts {
    let mut c = Counts::default();
    for (kind, f) in frames {
        c.packets += 1;
        let captured = f.len().min(snaplen);
        let len = match start {
            DataStart::Ethernet => captured,
            DataStart::Network => {
                if captured < 14 {
                    c.errors += 1;
                    if c.first_error.is_none() {
                        c.first_error = Some(format!(
                            "packet {}: a {captured}-byte frame is shorter than an Ethernet \
                             header: a test run refuses it",
                            c.packets
                        ));
                    }
                    continue;
                }
                captured - 14
            }
        } as u64;
        c.bytes += len;
        if keep.contains(kind) {
            c.kept += 1;
            c.bytes_kept += len.min(u64::from(n));
        } else {
            c.dropped += 1;
        }
    }
    c
}

fn run_interpreter(prog: &Program, path: &Path, start: DataStart) -> Counts {
    let mut engine = Engine::interpreter(prog).expect("interpreter");
    replay_file(path, &mut engine, start).expect("replay on the interpreter")
}

/// The same replay with test runs, when privileged.
fn run_kernel(prog: &Program, path: &Path, start: DataStart) -> Option<Counts> {
    if !common::kernel() {
        return None;
    }
    let mut engine = Engine::kernel(prog).expect("load the filter");
    Some(replay_file(path, &mut engine, start).expect("replay on the kernel"))
}

/// Both engines count `want` on `path`.
fn check(prog: &Program, path: &Path, start: DataStart, want: &Counts) {
    let got = run_interpreter(prog, path, start);
    assert_eq!(&got, want, "interpreter on {}", path.display());
    if let Some(k) = run_kernel(prog, path, start) {
        if want.errors > 0 {
            // The kernel words its errors its own way.
            let strip = |c: &Counts| Counts {
                first_error: None,
                ..c.clone()
            };
            assert_eq!(strip(&k), strip(want), "kernel on {}", path.display());
        } else {
            assert_eq!(&k, want, "kernel on {}", path.display());
        }
    }
}

#[test]
fn udp_filter_on_pcap_and_pcapng() {
    let frames = mix();
    for (format, ext) in [
        (CaptureFormat::Pcap, "pcap"),
        (CaptureFormat::PcapNg, "pcapng"),
    ] {
        let file = TempFile::new(&format!("udp.{ext}"));
        write(&file.0, format, None, &frames);
        let want = expected(
            &frames,
            &[Kind::Udp4, Kind::Udp6],
            u32::MAX,
            usize::MAX,
            DataStart::Ethernet,
        );
        // The mix, counted by hand: UDP over IPv4 is 42 bytes of headers,
        // over IPv6 62.
        assert_eq!((want.packets, want.kept, want.dropped), (17, 7, 10));
        assert_eq!(
            want.bytes_kept,
            42 + (42 + 18) + (42 + 100) + (42 + 1000) + (42 + 3) + (62 + 12) + (62 + 300)
        );
        check(&replay::UDP, &file.0, DataStart::Ethernet, &want);
    }
}

#[test]
fn icmp_and_all_filters() {
    let frames = mix();
    let file = TempFile::new("icmp.pcapng");
    write(&file.0, CaptureFormat::PcapNg, None, &frames);
    let icmp = expected(
        &frames,
        &[Kind::Icmp4, Kind::Icmp6],
        u32::MAX,
        usize::MAX,
        DataStart::Ethernet,
    );
    assert_eq!((icmp.kept, icmp.dropped), (4, 13));
    check(&replay::ICMP, &file.0, DataStart::Ethernet, &icmp);
    let all: Vec<Kind> = frames.iter().map(|(k, _)| *k).collect();
    let want = expected(&frames, &all, u32::MAX, usize::MAX, DataStart::Ethernet);
    assert_eq!(
        (want.kept, want.dropped, want.bytes_kept),
        (17, 0, want.bytes)
    );
    check(&replay::ALL, &file.0, DataStart::Ethernet, &want);
}

/// A filter returning N keeps min(N, length) bytes; a capture's snap
/// length cuts the frames before the filter sees them.
#[test]
fn keep_n_bytes_and_snaplen() {
    let frames = mix();
    let text = "\
        mov r6, r1
        ldabsh 12
        jne r0, 0x0800, drop
        ldabsb 23
        jne r0, 17, drop
        mov r0, 64
        exit
    drop:
        mov r0, 0
        exit
    ";
    let prog = Assembler::new()
        .source_name("keep64.s")
        .assemble(text)
        .expect("assemble");
    let file = TempFile::new("keep.pcap");
    write(&file.0, CaptureFormat::Pcap, None, &frames);
    let want = expected(&frames, &[Kind::Udp4], 64, usize::MAX, DataStart::Ethernet);
    assert_eq!((want.kept, want.bytes_kept), (5, 42 + 60 + 64 + 64 + 45));
    check(&prog, &file.0, DataStart::Ethernet, &want);

    let cut = TempFile::new("snap.pcapng");
    write(&cut.0, CaptureFormat::PcapNg, Some(50), &frames);
    let want = expected(
        &frames,
        &[Kind::Udp4, Kind::Udp6],
        u32::MAX,
        50,
        DataStart::Ethernet,
    );
    assert_eq!((want.kept, want.bytes_kept), (7, 42 + 5 * 50 + 45));
    check(&replay::UDP, &cut.0, DataStart::Ethernet, &want);
}

/// A filter written at test-run offsets (IPv4 protocol at 9, the
/// ethertype from `skb->protocol`), run with the data at the IP header:
/// frames shorter than an Ethernet header are errors on both engines.
#[test]
fn test_run_offsets() {
    let frames = mix();
    let text = "\
        mov r6, r1
        ldxw r0, [r6 + 16]      # skb->protocol, network order
        be16 r0
        jne r0, 0x0800, drop
        ldabsb 9
        jne r0, 17, drop
        mov r0, 100
        exit
    drop:
        mov r0, 0
        exit
    ";
    let prog = Assembler::new()
        .source_name("net.s")
        .assemble(text)
        .expect("assemble");
    let file = TempFile::new("net.pcap");
    write(&file.0, CaptureFormat::Pcap, None, &frames);
    let want = expected(&frames, &[Kind::Udp4], 100, usize::MAX, DataStart::Network);
    assert_eq!((want.kept, want.dropped, want.errors), (5, 11, 1));
    assert_eq!(want.bytes_kept, 28 + (28 + 18) + 100 + 100 + (28 + 3));
    check(&prog, &file.0, DataStart::Network, &want);
    // The live-offset UDP filter at test-run offsets keeps nothing.
    let got = run_interpreter(&replay::UDP, &file.0, DataStart::Network);
    assert_eq!((got.kept, got.errors), (0, 1));
}

#[test]
fn non_ethernet_and_unreadable_files() {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let file = TempFile::new("sll.pcap");
    let header = PcapHeader {
        datalink: pcap_file::DataLink::LINUX_SLL,
        ..PcapHeader::default()
    };
    let out = std::fs::File::create(&file.0).expect("create");
    let mut w = PcapWriter::with_header(out, header).expect("header");
    for _ in 0..3 {
        w.write_packet(&PcapPacket::new(Duration::ZERO, 60, &[0; 60]))
            .expect("write");
    }
    drop(w);
    let got = run_interpreter(&replay::UDP, &file.0, DataStart::Ethernet);
    assert_eq!(
        (got.packets, got.skipped, got.kept, got.dropped),
        (3, 3, 0, 0)
    );

    let mut engine = Engine::interpreter(&replay::UDP).expect("interpreter");
    let e = replay(&b"not a capture file"[..], &mut engine, DataStart::Ethernet).unwrap_err();
    assert!(matches!(e, ReplayError::Format { packets: 0, .. }), "{e}");
    assert!(
        e.to_string().starts_with("not a pcap or pcapng file"),
        "{e}"
    );
    let e = replay(&b"ab"[..], &mut engine, DataStart::Ethernet).unwrap_err();
    assert!(e.to_string().contains("no header"), "{e}");
    let e = replay_file(
        Path::new("/nonexistent/x.pcap"),
        &mut engine,
        DataStart::Ethernet,
    )
    .unwrap_err();
    assert!(matches!(e, ReplayError::Io(_)), "{e}");

    // A truncated file: the packets before the cut are counted, then the
    // error says how many.
    let frames = mix();
    let whole = TempFile::new("whole.pcap");
    write(&whole.0, CaptureFormat::Pcap, None, &frames);
    let bytes = std::fs::read(&whole.0).expect("read");
    let e = replay(&bytes[..bytes.len() - 5], &mut engine, DataStart::Ethernet).unwrap_err();
    assert!(matches!(e, ReplayError::Format { packets: 16, .. }), "{e}");
}
