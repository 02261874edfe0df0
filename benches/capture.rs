//! Receiver cost on `lo`: our TPACKET_V3 ring, our `recv()` path and
//! `tcpdump -i lo -w /dev/null` (libpcap), each behind an accept-all filter
//! and a filter keeping 1 datagram in 100, while one thread sends UDP
//! datagrams to 127.0.0.1 as fast as it can; then a drain test (the
//! receiver paused while a backlog queues, then timed while it empties it).
//!
//! ```text
//! cargo bench --bench capture                       # as root; about 90 s
//! cargo bench --bench capture -- --packets 100000 --rounds 1 --drain 50000
//! cargo bench --bench capture -- --smoke            # a few seconds
//! ```
//!
//! Receiver CPU is the receiving thread's own `getrusage(RUSAGE_THREAD)`
//! over the capture (after the socket is open, until it has read
//! everything); for tcpdump, a separate process, it is the growth of its
//! scheduler run time (`/proc/PID/schedstat`, the clock rusage is made
//! from) between "listening on lo" and the end of the capture, so its
//! start-up is left out as ours is. Receivers: `ring` counts packets and
//! bytes; `ring+pcap` also writes every packet to /dev/null as pcap, the
//! same work as `tcpdump -w /dev/null`; `recv` is one `recvmsg` per packet.
//! Each runs with 8 MiB of buffer (the default ring; `SO_RCVBUF` for
//! recv, `-B 8192` for tcpdump). Medians over the rounds. Only loopback
//! traffic, bounded in packets and time. Needs root (or `CAP_BPF` +
//! `CAP_NET_RAW`); tcpdump rows need `tcpdump` (scripts/setup.sh).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bpf_loader::{
    CaptureFormat, CaptureWriter, LoadedProgram, PacketRing, PacketSocket, Program, ProgramLoader,
    RingGeometry, bpf_prog,
};
use nix::sys::resource::{UsageWho, getrusage};

/// A value replaced by the sink's port at run time.
const PORT: i32 = 0x1_0000;

/// Keeps everything.
const ACCEPT_ALL: Program = bpf_prog! { mov64 r0, -1; exit };

/// Keeps the IPv4 UDP datagrams to [`PORT`] whose first payload byte is 1:
/// the sender marks one datagram in 100. tcpdump's equivalent:
/// `udp dst port P and udp[8] = 1`.
const ONE_IN_100: Program = bpf_prog! {
    mov64 r6, r1;
    ldabsh 12;                  // ethertype
    jne r0, 0x0800, drop;
    ldabsb 23;                  // IPv4 protocol
    jne r0, 17, drop;
    ldabsb 14;                  // IHL
    and64 r0, 0xf;
    lsh64 r0, 2;
    mov64 r7, r0;
    ldindh r7, 16;              // UDP destination port
    jne r0, { PORT }, drop;
    ldindb r7, 22;              // first payload byte
    jne r0, 1, drop;
    mov64 r0, -1;
    exit;
drop:
    mov64 r0, 0;
    exit
};

const PAYLOAD: usize = 32;
const BUFFER: usize = 8 << 20;

struct Config {
    packets: u64,
    rounds: usize,
    drain: u64,
}

fn config() -> Config {
    let mut c = Config {
        packets: 1_000_000,
        rounds: 3,
        drain: 200_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{what} needs a number"))
        };
        match a.as_str() {
            "--packets" => c.packets = num("--packets").max(1),
            "--rounds" => c.rounds = usize::try_from(num("--rounds")).unwrap_or(1).max(1),
            "--drain" => c.drain = num("--drain"),
            "--smoke" => {
                c.packets = 20_000;
                c.rounds = 1;
                c.drain = 20_000;
            }
            _ => {} // `--bench` and whatever else cargo passes
        }
    }
    c
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    OneIn100,
}

impl Filter {
    fn name(self) -> &'static str {
        match self {
            Filter::All => "accept-all",
            Filter::OneIn100 => "1-in-100",
        }
    }

    fn load(self, port: u16) -> LoadedProgram {
        let prog = match self {
            Filter::All => ACCEPT_ALL,
            Filter::OneIn100 => patch_port(&ONE_IN_100, port),
        };
        ProgramLoader::new(&prog)
            .name("bench")
            .load()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn tcpdump_expr(self, port: u16) -> Option<String> {
        match self {
            Filter::All => None,
            Filter::OneIn100 => Some(format!("udp dst port {port} and udp[8] = 1")),
        }
    }
}

fn patch_port(program: &Program, port: u16) -> Program {
    let insns = program
        .insns()
        .iter()
        .map(|i| {
            if i.imm() == PORT {
                i.with_imm(i32::from(port))
            } else {
                *i
            }
        })
        .collect();
    Program::new(insns, program.relocs().to_vec(), program.source().to_vec())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// The ring with the default geometry (8 x 1 MiB, 100 ms block timeout).
    Ring,
    /// The ring with libpcap's geometry for `tcpdump -B 8192`: 16 x 512 KiB
    /// blocks, 1000 ms block timeout (tcpdump's packet buffer timeout).
    RingPcapGeometry,
    /// The same, also writing each packet as pcap to /dev/null.
    RingPcap,
    Recv,
    Tcpdump,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ring => "ring (default geometry)",
            Kind::RingPcapGeometry => "ring (tcpdump's geometry)",
            Kind::RingPcap => "ring+pcap (tcpdump's geometry)",
            Kind::Recv => "recv",
            Kind::Tcpdump => "tcpdump",
        }
    }
}

/// One receiver's run.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    sent: u64,
    received: u64,
    drops: u64,
    cpu_ns: u64,
    send_secs: f64,
}

impl Run {
    fn ns_per_received(&self) -> f64 {
        self.cpu_ns as f64 / self.received.max(1) as f64
    }

    fn ns_per_sent(&self) -> f64 {
        self.cpu_ns as f64 / self.sent.max(1) as f64
    }
}

fn thread_cpu_ns() -> u64 {
    let u = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage(RUSAGE_THREAD)");
    let ns = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_usec()).unwrap_or(0) * 1_000
    };
    ns(u.user_time()) + ns(u.system_time())
}

/// What libpcap 1.10 sets up for `tcpdump -i lo -B 8192`: 8 MiB in
/// blocks of 512 KiB (the smallest power-of-two number of pages holding
/// one frame of its 262144-byte snap length), and a block timeout equal to
/// tcpdump's 1000 ms packet buffer timeout.
fn tcpdump_geometry() -> RingGeometry {
    RingGeometry::default()
        .block_size(512 << 10)
        .block_count(16)
        .block_timeout(Duration::from_millis(1000))
}

/// Sends `n` datagrams of [`PAYLOAD`] bytes to `sink` as fast as one
/// thread can; every 100th has 1 as its first byte. Returns the number
/// sent and the seconds it took.
fn send(sink: &UdpSocket, n: u64) -> (u64, f64) {
    let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sender");
    tx.connect(sink.local_addr().expect("sink address"))
        .expect("connect");
    let mut payload = [0u8; PAYLOAD];
    let mut sent = 0;
    let start = Instant::now();
    for seq in 0..n {
        payload[0] = u8::from(seq % 100 == 0);
        payload[1..9].copy_from_slice(&seq.to_le_bytes());
        if tx.send(&payload).is_ok() {
            sent += 1;
        }
    }
    (sent, start.elapsed().as_secs_f64())
}

/// Runs one of our receivers in a thread while `packets` datagrams are sent.
fn run_ours(kind: Kind, filter: Filter, packets: u64) -> Run {
    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sink");
    let port = sink.local_addr().expect("sink address").port();
    let prog = Arc::new(filter.load(port));
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = {
        let (prog, stop) = (Arc::clone(&prog), Arc::clone(&stop));
        thread::spawn(move || -> (u64, u64, u64) {
            let builder = PacketSocket::builder().ignore_outgoing(true).filter(&prog);
            let poll = Some(Duration::from_millis(50));
            match kind {
                Kind::Ring | Kind::RingPcapGeometry | Kind::RingPcap => {
                    let geometry = if kind == Kind::Ring {
                        RingGeometry::default()
                    } else {
                        tcpdump_geometry()
                    };
                    let mut ring = builder
                        .bind_ring("lo", geometry)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut out = (kind == Kind::RingPcap).then(|| {
                        CaptureWriter::create("/dev/null", CaptureFormat::Pcap, None, Some("lo"))
                            .unwrap_or_else(|e| panic!("{e}"))
                    });
                    let _ = ready_tx.send(());
                    let cpu0 = thread_cpu_ns();
                    let (mut n, mut bytes) = (0u64, 0u64);
                    loop {
                        // Until the sender is done and no block is left: the
                        // kernel closes the last, partial block when its timer
                        // finds it unchanged for a whole period (up to two
                        // timeouts).
                        let stopping = stop.load(Ordering::Relaxed);
                        let wait = if stopping {
                            Some(2 * geometry.get_block_timeout() + Duration::from_millis(50))
                        } else {
                            poll
                        };
                        let Some(block) = ring.next_block(wait).unwrap_or_else(|e| panic!("{e}"))
                        else {
                            if stopping {
                                break;
                            }
                            continue;
                        };
                        for p in &block {
                            n += 1;
                            bytes += p.len() as u64 + u64::from(p.data()[0]);
                            if let Some(w) = out.as_mut() {
                                w.write_ring_packet(&p).unwrap_or_else(|e| panic!("{e}"));
                            }
                        }
                    }
                    if let Some(w) = out {
                        w.finish().unwrap_or_else(|e| panic!("{e}"));
                    }
                    let cpu = thread_cpu_ns() - cpu0;
                    std::hint::black_box(bytes);
                    let drops = ring.stats().map(|s| s.drops).unwrap_or(0);
                    (n, drops, cpu)
                }
                _ => {
                    let sock = builder
                        .recv_buffer(BUFFER)
                        .bind("lo")
                        .unwrap_or_else(|e| panic!("{e}"));
                    let _ = ready_tx.send(());
                    let mut buf = vec![0u8; 65_550];
                    let cpu0 = thread_cpu_ns();
                    let (mut n, mut bytes) = (0u64, 0u64);
                    loop {
                        match sock.recv(&mut buf, poll).unwrap_or_else(|e| panic!("{e}")) {
                            Some(meta) => {
                                n += 1;
                                bytes += meta.len as u64 + u64::from(buf[0]);
                            }
                            // Sender done and 50 ms without a packet.
                            None if stop.load(Ordering::Relaxed) => break,
                            None => {}
                        }
                    }
                    let cpu = thread_cpu_ns() - cpu0;
                    std::hint::black_box(bytes);
                    let drops = sock.stats().map(|s| s.drops).unwrap_or(0);
                    (n, drops, cpu)
                }
            }
        })
    };
    ready_rx.recv().expect("receiver ready");
    let (sent, send_secs) = send(&sink, packets);
    stop.store(true, Ordering::Relaxed);
    let (received, drops, cpu_ns) = receiver.join().expect("receiver thread");
    Run {
        sent,
        received,
        drops,
        cpu_ns,
        send_secs,
    }
}

/// The first field of `/proc/PID/schedstat`: nanoseconds on the CPU.
fn schedstat_ns(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `tcpdump -i lo -w /dev/null` while `packets` datagrams are sent; `None`
/// if tcpdump cannot run.
fn run_tcpdump(filter: Filter, packets: u64) -> Option<Run> {
    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sink");
    let port = sink.local_addr().expect("sink address").port();
    let mut cmd = Command::new("tcpdump");
    cmd.args(["-i", "lo", "-n", "-w", "/dev/null", "-B", "8192"]);
    if let Some(expr) = filter.tcpdump_expr(port) {
        cmd.arg(expr);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let pid = child.id();
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    while !line.contains("listening on") {
        line.clear();
        if stderr.read_line(&mut line).ok()? == 0 {
            let _ = child.wait();
            return None;
        }
    }
    // Let it reach its poll loop, then take the baseline.
    thread::sleep(Duration::from_millis(100));
    let cpu0 = schedstat_ns(pid);
    let (sent, send_secs) = send(&sink, packets);
    // Its last block closes within two of its 1 s block timeouts.
    thread::sleep(Duration::from_millis(2100));
    let cpu_ns = schedstat_ns(pid).saturating_sub(cpu0);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).ok()?);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    let _ = child.wait();
    // "N packets captured", "N packets received by filter",
    // "N packets dropped by kernel".
    let count = |what: &str| -> u64 {
        rest.lines()
            .find(|l| l.ends_with(what))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Some(Run {
        sent,
        received: count("packets captured"),
        drops: count("packets dropped by kernel"),
        cpu_ns,
        send_secs,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The medians of a receiver's rounds.
struct Summary {
    sent: u64,
    received: u64,
    drops: u64,
    ns_received: f64,
    ns_sent: f64,
    send_rate: f64,
}

fn summarise(runs: &[Run]) -> Summary {
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    Summary {
        sent: m(|r| r.sent as f64) as u64,
        received: m(|r| r.received as f64) as u64,
        drops: runs.iter().map(|r| r.drops).max().unwrap_or(0),
        ns_received: m(Run::ns_per_received),
        ns_sent: m(Run::ns_per_sent),
        send_rate: m(|r| r.sent as f64 / r.send_secs.max(1e-9)),
    }
}

/// Drain: `n` datagrams queue while the receiver does not read; then the
/// time it takes to read them all. Returns (packets read, seconds, CPU ns).
fn drain(kind: Kind, n: u64) -> (u64, f64, u64) {
    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sink");
    let prog = Filter::All.load(0);
    let builder = PacketSocket::builder().ignore_outgoing(true).filter(&prog);
    // Room for the whole backlog: ~160 ring bytes or ~1 KiB of socket
    // buffer accounting per small packet.
    let ring_blocks = usize::try_from((n * 256).div_ceil(1 << 20))
        .unwrap_or(1024)
        .max(8);
    let recv_buffer = usize::try_from(n * 2048).unwrap_or(usize::MAX).min(1 << 30);
    enum Rx {
        Ring(PacketRing),
        Sock(PacketSocket),
    }
    let mut rx = match kind {
        Kind::Ring => Rx::Ring(
            builder
                .bind_ring("lo", RingGeometry::default().block_count(ring_blocks))
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        _ => Rx::Sock(
            builder
                .recv_buffer(recv_buffer)
                .bind("lo")
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    };
    send(&sink, n);
    thread::sleep(Duration::from_millis(200)); // every block retired
    let mut read = 0u64;
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    match &mut rx {
        Rx::Ring(ring) => {
            while let Some(block) = ring
                .next_block(Some(Duration::ZERO))
                .unwrap_or_else(|e| panic!("{e}"))
            {
                for p in &block {
                    read += 1;
                    std::hint::black_box(p.data()[0]);
                }
            }
        }
        Rx::Sock(sock) => {
            let mut buf = vec![0u8; 65_550];
            while sock
                .recv(&mut buf, Some(Duration::ZERO))
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
            {
                read += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    (read, secs, thread_cpu_ns() - cpu0)
}

fn main() {
    let c = config();
    if let Err(e) = bpf_loader::load(&ACCEPT_ALL) {
        println!("skipped: the capture benchmark needs root or CAP_BPF + CAP_NET_RAW ({e})");
        return;
    }
    let has_tcpdump = Command::new("tcpdump")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_tcpdump {
        println!("note: tcpdump not found (scripts/setup.sh installs it): no tcpdump rows");
    }
    println!(
        "capture benchmark on lo: {} datagrams of {PAYLOAD} bytes per run, {} round(s), \
         drain of {}",
        c.packets, c.rounds, c.drain
    );
    let kinds: Vec<Kind> = [
        Kind::Ring,
        Kind::RingPcapGeometry,
        Kind::RingPcap,
        Kind::Recv,
        Kind::Tcpdump,
    ]
    .into_iter()
    .filter(|&k| k != Kind::Tcpdump || has_tcpdump)
    .collect();
    let mut results = Vec::new();
    for filter in [Filter::All, Filter::OneIn100] {
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); kinds.len()];
        // Rounds interleave the receivers, so drift in the machine's load
        // touches them alike.
        for _ in 0..c.rounds {
            for (i, &kind) in kinds.iter().enumerate() {
                let run = match kind {
                    Kind::Tcpdump => run_tcpdump(filter, c.packets),
                    _ => Some(run_ours(kind, filter, c.packets)),
                };
                if let Some(run) = run {
                    runs[i].push(run);
                }
            }
        }
        for (i, &kind) in kinds.iter().enumerate() {
            if !runs[i].is_empty() {
                results.push((filter, kind, summarise(&runs[i])));
            }
        }
    }

    println!();
    println!(
        "| filter | receiver | sent | received | kernel drops | CPU ns/packet received | \
         CPU ns/packet sent | send rate (pps) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (filter, kind, s) in &results {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.0} |",
            filter.name(),
            kind.name(),
            s.sent,
            s.received,
            s.drops,
            s.ns_received,
            s.ns_sent,
            s.send_rate
        );
    }
    println!();
    let find = |f: Filter, k: Kind| {
        results
            .iter()
            .find(|(ff, kk, _)| *ff == f && *kk == k)
            .map(|(_, _, s)| s.ns_received)
    };
    for filter in [Filter::All, Filter::OneIn100] {
        let ring = find(filter, Kind::Ring);
        let ring_same = find(filter, Kind::RingPcapGeometry);
        let ring_pcap = find(filter, Kind::RingPcap);
        let recv = find(filter, Kind::Recv);
        let tcpdump = find(filter, Kind::Tcpdump);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "n/a".to_owned(),
        };
        println!(
            "{}: CPU per packet ring/tcpdump {} (default geometry), {} (tcpdump's geometry), \
             ring+pcap/tcpdump {}; ring/recv {} (default geometry)",
            filter.name(),
            ratio(ring, tcpdump),
            ratio(ring_same, tcpdump),
            ratio(ring_pcap, tcpdump),
            ratio(ring, recv)
        );
    }
    if c.drain > 0 {
        println!();
        let mut rates = Vec::new();
        for kind in [Kind::Ring, Kind::Recv] {
            let (read, secs, cpu) = drain(kind, c.drain);
            let rate = read as f64 / secs.max(1e-9);
            rates.push(rate);
            println!(
                "drain {}: {read} of {} queued packets in {:.2} ms: {:.2} Mpps ({:.1} CPU ns/packet)",
                kind.name(),
                c.drain,
                secs * 1e3,
                rate / 1e6,
                cpu as f64 / read.max(1) as f64
            );
        }
        println!("drain ring/recv: {:.1}x", rates[0] / rates[1].max(1e-9));
    }
}
