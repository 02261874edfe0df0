//! The TPACKET_V3 receive ring, fanout and capture files against the running
//! kernel: real datagrams over `lo`, checked packet by packet.
//!
//! Needs root or `CAP_BPF` + `CAP_NET_RAW` (see `common`); the capture-file
//! test also needs `tcpdump` (installed by `scripts/setup.sh`): without it
//! the test is skipped, unless `BPF_TESTS_REQUIRE_TCPDUMP=1` (set by CI).
//! Every datagram carries a marker unique to this process and test.

mod common;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bpf_loader::{
    CaptureFormat, CaptureWriter, Error, Fanout, FanoutMode, LoadedProgram, PacketRing,
    PacketSocket, PacketSocketBuilder, PacketType, Program, ProgramLoader, RingGeometry, bpf_prog,
};
use common::{marker, patch_imm, port_of, require_privilege, udp_socket, udp4};

/// A value no 16-bit load can produce, replaced by a port at run time.
const PORT: i32 = 0x1_0000;
/// A value replaced by the snap length at run time.
const KEEP: i32 = 0x7777_0000;

/// Keeps the first [`KEEP`] bytes of IPv4 UDP datagrams to port [`PORT`]
/// (data from the Ethernet header, as on a live packet socket).
const UDP_PORT: Program = bpf_prog! {
    mov64 r6, r1;
    ldabsh 12;                  // ethertype
    jne r0, 0x0800, drop;
    ldabsb 23;                  // IPv4 protocol
    jne r0, 17, drop;
    ldabsh 20;                  // flags and fragment offset
    jset r0, 0x1fff, drop;
    ldabsb 14;                  // version and IHL
    and64 r0, 0xf;
    lsh64 r0, 2;
    mov64 r7, r0;
    ldindh r7, 16;              // UDP destination port
    jne r0, { PORT }, drop;
    mov64 r0, { KEEP };
    exit;
drop:
    mov64 r0, 0;
    exit
};

/// The port filter for `port`, keeping `keep` bytes (-1: all).
fn port_filter(port: u16, keep: i32) -> LoadedProgram {
    let prog = patch_imm(&patch_imm(&UDP_PORT, PORT, i32::from(port)), KEEP, keep);
    ProgramLoader::new(&prog)
        .name("ring_port")
        .load()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A ring on `lo` with `builder`'s options and a small, quick geometry.
fn ring(builder: PacketSocketBuilder<'_>, geometry: RingGeometry) -> PacketRing {
    builder
        .bind_ring("lo", geometry)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn small() -> RingGeometry {
    RingGeometry::default()
        .block_size(64 << 10)
        .block_count(8)
        .block_timeout(Duration::from_millis(5))
}

fn send_all(from: &UdpSocket, to: &UdpSocket, markers: &[Vec<u8>]) {
    let dest = to.local_addr().expect("local_addr");
    for m in markers {
        from.send_to(m, dest).expect("send_to");
    }
}

/// A packet of ours seen on a ring, copied out of its block.
#[derive(Clone, Debug)]
struct Seen {
    marker: usize,
    len: usize,
    captured: usize,
    timestamp: Duration,
    packet_type: PacketType,
    protocol: u16,
    ifindex: u32,
    data: Vec<u8>,
}

/// Which marker a frame carries: its UDP payload is the marker, or (when
/// the frame was cut) starts the marker.
fn which(markers: &[Vec<u8>], frame: &[u8], ip_total: usize) -> Option<usize> {
    if let Some((_, _, payload)) = udp4(frame)
        && let Some(i) = markers.iter().position(|m| payload == m.as_slice())
    {
        return Some(i);
    }
    // A truncated frame: match on the IP total length and the bytes kept.
    let payload = frame.get(42..).unwrap_or(&[]);
    markers
        .iter()
        .position(|m| m.len() + 28 == ip_total && m.starts_with(payload) && !payload.is_empty())
}

/// Reads blocks until `done(&seen)` or `limit`, then `linger` more.
fn collect(
    ring: &mut PacketRing,
    markers: &[Vec<u8>],
    limit: Duration,
    linger: Duration,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut deadline = Instant::now() + limit;
    let mut lingering = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return seen;
        }
        // Short waits, so `done` is asked again even when this ring gets
        // nothing (a fanout member the others' traffic went to).
        let block = ring
            .next_block(Some(left.min(Duration::from_millis(20))))
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(block) = block else {
            if !lingering && done(&seen) {
                lingering = true;
                deadline = Instant::now() + linger;
            }
            continue;
        };
        for p in &block {
            let ip_total = p
                .data()
                .get(16..18)
                .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            if let Some(marker) = which(markers, p.data(), ip_total) {
                seen.push(Seen {
                    marker,
                    len: p.len(),
                    captured: p.captured(),
                    timestamp: p.timestamp(),
                    packet_type: p.packet_type(),
                    protocol: p.protocol(),
                    ifindex: p.ifindex(),
                    data: p.data().to_vec(),
                });
            }
        }
        drop(block);
        if !lingering && done(&seen) {
            lingering = true;
            deadline = Instant::now() + linger;
        }
    }
}

fn counts(seen: &[Seen]) -> HashMap<usize, usize> {
    let mut c = HashMap::new();
    for s in seen {
        *c.entry(s.marker).or_insert(0) += 1;
    }
    c
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
}

#[test]
fn ring_receives_exactly_what_the_filter_keeps_with_metadata() {
    require_privilege!();
    let (tx, rx, other) = (udp_socket(), udp_socket(), udp_socket());
    let prog = port_filter(port_of(&rx), -1);
    let mut ring = ring(
        PacketSocket::builder().ignore_outgoing(true).filter(&prog),
        small(),
    );
    let ours: Vec<_> = (0..20).map(|_| marker("ring-keep")).collect();
    let theirs: Vec<_> = (0..10).map(|_| marker("ring-drop")).collect();
    let before = now();
    send_all(&tx, &rx, &ours);
    send_all(&tx, &other, &theirs);
    let after = now();

    let mut all = ours.clone();
    all.extend(theirs.iter().cloned());
    let seen = collect(
        &mut ring,
        &all,
        Duration::from_secs(3),
        Duration::from_millis(50),
        |s| s.len() >= ours.len(),
    );
    let c = counts(&seen);
    for i in 0..ours.len() {
        assert_eq!(c.get(&i), Some(&1), "marker {i}: {seen:?}");
    }
    for i in ours.len()..all.len() {
        assert_eq!(
            c.get(&i),
            None,
            "the filter let a datagram to another port in"
        );
    }
    for s in &seen {
        let m = &ours[s.marker];
        assert_eq!(s.len, 14 + 20 + 8 + m.len());
        assert_eq!(s.captured, s.len);
        assert_eq!(s.data.len(), s.len);
        assert_eq!(s.protocol, 0x0800);
        assert_eq!(s.ifindex, ring.ifindex());
        assert_eq!(s.packet_type, PacketType::Host);
        let (_, dst, _) = udp4(&s.data).expect("an IPv4 UDP frame");
        assert_eq!(dst, port_of(&rx));
        let slack = Duration::from_millis(5);
        assert!(
            s.timestamp + slack >= before && s.timestamp <= after + slack,
            "timestamp {:?} outside [{before:?}, {after:?}]",
            s.timestamp
        );
    }
    // In arrival order.
    let order: Vec<_> = seen.iter().map(|s| s.marker).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted);
    let stats = ring.stats().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.drops, 0);
    assert!(stats.packets >= ours.len() as u64, "{stats}");
}

#[test]
fn ignore_outgoing_leaves_one_copy_on_the_ring() {
    require_privilege!();
    let (tx, rx) = (udp_socket(), udp_socket());
    let prog = port_filter(port_of(&rx), -1);
    let mut once = ring(
        PacketSocket::builder().ignore_outgoing(true).filter(&prog),
        small(),
    );
    let mut twice = ring(PacketSocket::builder().filter(&prog), small());
    let markers: Vec<_> = (0..10).map(|_| marker("ring-dup")).collect();
    send_all(&tx, &rx, &markers);

    let limit = Duration::from_secs(3);
    let linger = Duration::from_millis(50);
    let seen = collect(&mut once, &markers, limit, linger, |s| s.len() >= 10);
    assert!(counts(&seen).values().all(|&n| n == 1), "{seen:?}");
    assert_eq!(seen.len(), 10);
    assert!(seen.iter().all(|s| s.packet_type == PacketType::Host));

    let seen = collect(&mut twice, &markers, limit, linger, |s| s.len() >= 20);
    assert!(counts(&seen).values().all(|&n| n == 2), "{seen:?}");
    assert_eq!(seen.len(), 20);
    let outgoing = seen
        .iter()
        .filter(|s| s.packet_type == PacketType::Outgoing)
        .count();
    assert_eq!(outgoing, 10);
}

#[test]
fn snap_length_is_the_filter_return_value_not_the_frame_size() {
    require_privilege!();
    let (tx, rx) = (udp_socket(), udp_socket());
    // Keep Ethernet + IPv4 + UDP headers and 4 bytes of payload.
    let cut = port_filter(port_of(&rx), 46);
    let mut cut_ring = ring(
        PacketSocket::builder().ignore_outgoing(true).filter(&cut),
        small(),
    );
    // All of it, with frames (256 bytes) shorter than the packet.
    let all = port_filter(port_of(&rx), -1);
    let mut whole_ring = ring(
        PacketSocket::builder().ignore_outgoing(true).filter(&all),
        small().frame_size(256),
    );
    let mut big = marker("ring-snap");
    big.resize(3000, b'x');
    let markers = vec![big];
    send_all(&tx, &rx, &markers);

    let limit = Duration::from_secs(3);
    let seen = collect(&mut cut_ring, &markers, limit, Duration::ZERO, |s| {
        !s.is_empty()
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].len, 14 + 20 + 8 + 3000);
    assert_eq!(seen[0].captured, 46);

    let seen = collect(&mut whole_ring, &markers, limit, Duration::ZERO, |s| {
        !s.is_empty()
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].captured, seen[0].len);
    assert_eq!(seen[0].len, 14 + 20 + 8 + 3000);
}

#[test]
fn a_ring_too_small_drops_and_says_so() {
    require_privilege!();
    let (tx, rx) = (udp_socket(), udp_socket());
    let prog = port_filter(port_of(&rx), -1);
    // Two one-page blocks: room for about 50 small packets.
    let tiny = RingGeometry::default()
        .block_size(4096)
        .block_count(2)
        .frame_size(2048)
        .block_timeout(Duration::from_millis(1));
    let mut ring = ring(
        PacketSocket::builder().ignore_outgoing(true).filter(&prog),
        tiny,
    );
    let markers: Vec<_> = (0..400).map(|_| marker("ring-tiny")).collect();
    send_all(&tx, &rx, &markers);
    // Nobody reads while the datagrams arrive.
    thread::sleep(Duration::from_millis(50));
    let stats = ring.stats().unwrap_or_else(|e| panic!("{e}"));
    assert!(stats.drops > 0, "no drop counted: {stats}");
    assert!(
        stats.to_string().contains("dropped by the kernel"),
        "{stats}"
    );

    let mut lost_flag = false;
    let mut received = 0u64;
    while let Some(block) = ring.next_block(Some(Duration::from_millis(20))).unwrap() {
        lost_flag |= block.lost_packets();
        received += block.len() as u64;
    }
    assert!(received < markers.len() as u64);
    let total = ring.stats().unwrap_or_else(|e| panic!("{e}"));
    assert!(total.drops >= stats.drops);
    assert!(
        lost_flag || total.freezes > 0,
        "neither a block flagged TP_STATUS_LOSING nor a freeze: {total}"
    );
}

#[test]
fn invalid_geometry_is_refused_before_any_system_call() {
    // No privilege needed: nothing reaches the kernel.
    let cases = [
        (RingGeometry::default().block_size(1000), "page size"),
        (RingGeometry::default().block_count(0), "at least 1"),
        (
            RingGeometry::default().frame_size(2050),
            "TPACKET_ALIGNMENT",
        ),
        (
            RingGeometry::default().block_size(4096).frame_size(8192),
            "larger than the block size",
        ),
    ];
    for (geometry, says) in cases {
        let e = PacketSocket::builder()
            .bind_ring("no_such_if0", geometry)
            .unwrap_err();
        assert!(matches!(e, Error::RingGeometry { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with("invalid receive ring for AF_PACKET ring on `no_such_if0`: "));
        assert!(msg.contains(says), "{msg}");
    }
}

/// Three rings in one fanout group receive `flows * per_flow` datagrams;
/// every datagram is seen exactly once across them. Returns how many each
/// member got.
fn fanout_once(mode: FanoutMode, tag: &str) -> Vec<usize> {
    let rx = udp_socket();
    let prog = port_filter(port_of(&rx), -1);
    // A group id of this process's own (groups are per network namespace).
    let group = (std::process::id() as u16) ^ (mode as u16).wrapping_mul(0x5bd1);
    let fanout = Fanout::new(mode, group);
    let members: Vec<PacketRing> = (0..3)
        .map(|_| {
            ring(
                PacketSocket::builder()
                    .ignore_outgoing(true)
                    .filter(&prog)
                    .fanout(fanout),
                small(),
            )
        })
        .collect();
    let (flows, per_flow) = (24, 8);
    let markers: Arc<Vec<Vec<u8>>> = Arc::new((0..flows * per_flow).map(|_| marker(tag)).collect());
    let total = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = members
        .into_iter()
        .map(|mut member| {
            let (markers, total) = (Arc::clone(&markers), Arc::clone(&total));
            thread::spawn(move || {
                let want = markers.len();
                let mut counted = 0;
                // Done when the whole group has seen every datagram.
                let group_done = |seen: &[Seen]| {
                    total.fetch_add(seen.len() - counted, Ordering::Relaxed);
                    counted = seen.len();
                    total.load(Ordering::Relaxed) >= want
                };
                let limit = Duration::from_secs(3);
                let linger = Duration::from_millis(100);
                collect(&mut member, &markers, limit, linger, group_done)
                    .iter()
                    .map(|s| s.marker)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Senders on different ports: different flows, spread by the hash.
    for f in 0..flows {
        let tx = udp_socket();
        send_all(&tx, &rx, &markers[f * per_flow..(f + 1) * per_flow]);
    }
    let got: Vec<Vec<usize>> = readers
        .into_iter()
        .map(|r| r.join().expect("reader thread"))
        .collect();
    let mut all: Vec<usize> = got.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..markers.len()).collect::<Vec<_>>(),
        "each datagram exactly once across the group"
    );
    got.iter().map(Vec::len).collect()
}

#[test]
fn fanout_hash_sees_each_packet_once_across_the_group() {
    require_privilege!();
    let per_member = fanout_once(FanoutMode::Hash, "fanout-hash");
    // 24 flows over 3 members: all on one would be a broken hash.
    assert!(
        per_member.iter().filter(|&&n| n > 0).count() > 1,
        "{per_member:?}"
    );
}

#[test]
fn fanout_cpu_sees_each_packet_once_across_the_group() {
    require_privilege!();
    fanout_once(FanoutMode::Cpu, "fanout-cpu");
}

/// `tcpdump -r FILE -n -e -tt --nano`: for each packet, its timestamp as
/// printed (`secs.nanos`) and its original length (the link layer's
/// `length N:`).
fn tcpdump_read(path: &std::path::Path) -> Option<Vec<(String, usize)>> {
    let out = match Command::new("tcpdump")
        .args(["-r"])
        .arg(path)
        .args(["-n", "-e", "-tt", "--nano"])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            if std::env::var_os("BPF_TESTS_REQUIRE_TCPDUMP").is_some_and(|v| v == "1") {
                panic!("BPF_TESTS_REQUIRE_TCPDUMP=1 but tcpdump cannot run: {e}");
            }
            eprintln!("skipped: tcpdump is not installed ({e}); scripts/setup.sh installs it");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "tcpdump -r {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .map(|line| {
                let ts = line.split_whitespace().next().unwrap_or("").to_owned();
                let len = line
                    .split("length ")
                    .nth(1)
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no frame length in `{line}`"));
                (ts, len)
            })
            .collect(),
    )
}

#[test]
fn pcap_and_pcapng_files_read_back_by_tcpdump() {
    require_privilege!();
    let (tx, rx) = (udp_socket(), udp_socket());
    let prog = port_filter(port_of(&rx), -1);
    let mut ring = ring(
        PacketSocket::builder().ignore_outgoing(true).filter(&prog),
        small(),
    );
    let markers: Vec<_> = (0..12)
        .map(|i| {
            let mut m = marker("pcap");
            m.resize(m.len() + i * 37, b'p');
            m
        })
        .collect();
    send_all(&tx, &rx, &markers);
    let seen = collect(
        &mut ring,
        &markers,
        Duration::from_secs(3),
        Duration::ZERO,
        |s| s.len() >= markers.len(),
    );
    assert_eq!(seen.len(), markers.len());

    let dir = std::env::temp_dir();
    for (format, ext, snaplen) in [
        (CaptureFormat::Pcap, "pcap", None),
        // Cut to 60 bytes: the file keeps the original lengths.
        (CaptureFormat::PcapNg, "pcapng", Some(60)),
    ] {
        let path = dir.join(format!("bpf-ring-test-{}.{ext}", std::process::id()));
        assert_eq!(CaptureFormat::from_path(&path), Some(format));
        let mut w = CaptureWriter::create(&path, format, snaplen, Some("lo"))
            .unwrap_or_else(|e| panic!("{e}"));
        for s in &seen {
            w.write(s.timestamp, s.len, &s.data)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}"));
        let read = tcpdump_read(&path);
        let _ = std::fs::remove_file(&path);
        let Some(read) = read else { return };
        let expected: Vec<(String, usize)> = seen
            .iter()
            .map(|s| {
                (
                    format!(
                        "{}.{:09}",
                        s.timestamp.as_secs(),
                        s.timestamp.subsec_nanos()
                    ),
                    s.len,
                )
            })
            .collect();
        assert_eq!(read, expected, "{ext}: what tcpdump read back");
    }
}
