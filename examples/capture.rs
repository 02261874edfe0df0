//! A capture tool: packets on an interface through a socket filter
//! assembled at compile time, read from a memory-mapped TPACKET_V3 ring
//! (or one `recvmsg` per packet with `--recv`), printed one line each or
//! written to a pcap/pcapng file.
//!
//! ```text
//! cargo run --example capture                  # as root: 10 packets or 5 s on lo
//! cargo build --example capture && sudo target/debug/examples/capture
//! sudo target/debug/examples/capture --count 50 --seconds 20
//! sudo target/debug/examples/capture --write lo.pcapng --count 0 --seconds 10
//! sudo target/debug/examples/capture --interface eth0 --no-traffic --recv
//! ```
//!
//! The filter, [`UDP_OR_ICMP`], keeps IPv4 and IPv6 packets that carry UDP,
//! ICMP or ICMPv6 and drops everything else (TCP, ARP, ...) in the kernel,
//! before a copy is made for this program. IPv6 packets with extension
//! headers are dropped too: the filter reads only the fixed header's Next
//! Header field. `--snaplen N` makes the filter return N instead of -1, so
//! the kernel copies at most N bytes of each packet.
//!
//! So that there is something to see without a second terminal, a
//! background thread sends a UDP datagram every 100 ms while capturing on
//! `lo`, in turn to 127.0.0.1 and to ::1, to a port with a listener and to a
//! closed one; the kernel answers the closed port with an ICMP "port
//! unreachable". `--no-traffic` turns it off.
//!
//! Stops after `--count` packets (default 10, 0: no limit) or `--seconds`
//! seconds (default 5, 0: no limit), whichever comes first, or on Ctrl-C;
//! then prints a summary (packets, bytes, kernel drops, rate). Needs root
//! or `CAP_BPF` + `CAP_NET_RAW`.

mod support;

use support::filters::UDP_OR_ICMP;

use std::io::IsTerminal;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bpf_loader::{
    CaptureFormat, CaptureWriter, Error, PacketRing, PacketSocket, PacketSocketBuilder,
    PacketStats, PacketType, Program, ProgramLoader, RingGeometry, bpf_prog,
};
use clap::Parser;
use etherparse::{Icmpv4Type, Icmpv6Type, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// Captures IPv4/IPv6 UDP and ICMP packets with an eBPF socket filter.
#[derive(Parser, Debug)]
#[command(name = "capture", version, about, long_about = None)]
struct Args {
    /// Read packets from a memory-mapped TPACKET_V3 ring (the default).
    #[arg(long, conflicts_with = "recv")]
    ring: bool,
    /// Read packets with one recvmsg(2) per packet instead of the ring.
    #[arg(long)]
    recv: bool,
    /// Write the packets to FILE (.pcap or .pcapng) instead of printing them.
    #[arg(short, long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// Stop after N packets (0: no limit).
    #[arg(short, long, value_name = "N", default_value_t = 10)]
    count: u64,
    /// Stop after S seconds, fractions allowed (0: no limit).
    #[arg(short, long, value_name = "S", default_value = "5", value_parser = parse_seconds)]
    seconds: Duration,
    /// Keep at most N bytes of each packet (the filter returns N).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=262_144))]
    snaplen: Option<u32>,
    /// The interface to capture on.
    #[arg(short, long, value_name = "NAME", default_value = "lo")]
    interface: String,
    /// Do not send test datagrams over lo.
    #[arg(long)]
    no_traffic: bool,
    /// Do not print a line per packet.
    #[arg(short, long)]
    quiet: bool,
    /// Ring blocks (with the ring).
    #[arg(long, value_name = "N", default_value_t = 8)]
    ring_blocks: usize,
    /// Ring block size in bytes, a multiple of the page size (with the ring).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    ring_block_size: usize,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{s}` is not a number of seconds"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match capture(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => support::report("capture", &e),
    }
}

/// `program` with each `mov64 r0, -1` (keep the whole packet) returning
/// `snaplen` instead: the kernel then copies at most `snaplen` bytes and
/// still reports the packet's whole length.
fn with_snaplen(program: &Program, snaplen: u32) -> Program {
    const KEEP_ALL: Program = bpf_prog! { mov64 r0, -1; exit };
    let keep_all = KEEP_ALL.insns()[0];
    let insns = program
        .insns()
        .iter()
        .map(|i| {
            if *i == keep_all {
                // At most 262144 (checked by the argument parser).
                i.with_imm(i32::try_from(snaplen).unwrap_or(i32::MAX))
            } else {
                *i
            }
        })
        .collect();
    Program::new(insns, program.relocs().to_vec(), program.source().to_vec())
}

/// One received packet, from either receiver.
struct Pkt<'a> {
    data: &'a [u8],
    len: usize,
    timestamp: Duration,
    packet_type: PacketType,
}

/// Where packets come from.
enum Receiver {
    Ring(PacketRing),
    Recv(PacketSocket, Vec<u8>),
}

impl Receiver {
    fn open(args: &Args, builder: PacketSocketBuilder<'_>) -> Result<Self, Error> {
        if args.recv {
            Ok(Receiver::Recv(
                builder.bind(&args.interface)?,
                vec![0; 65_550],
            ))
        } else {
            let geometry = RingGeometry::default()
                .block_count(args.ring_blocks)
                .block_size(args.ring_block_size);
            Ok(Receiver::Ring(
                builder.bind_ring(&args.interface, geometry)?,
            ))
        }
    }

    fn describe(&self) -> String {
        match self {
            Receiver::Ring(r) => {
                let g = r.geometry();
                format!(
                    "ring of {} x {} KiB",
                    g.get_block_count(),
                    g.get_block_size() / 1024
                )
            }
            Receiver::Recv(..) => "recvmsg".to_owned(),
        }
    }

    fn ifindex(&self) -> u32 {
        match self {
            Receiver::Ring(r) => r.ifindex(),
            Receiver::Recv(s, _) => s.ifindex(),
        }
    }

    fn hardware_type(&self) -> Result<u16, Error> {
        match self {
            Receiver::Ring(r) => r.hardware_type(),
            Receiver::Recv(s, _) => s.hardware_type(),
        }
    }

    fn stats(&self) -> Result<PacketStats, Error> {
        match self {
            Receiver::Ring(r) => r.stats(),
            Receiver::Recv(s, _) => s.stats(),
        }
    }

    /// Waits at most `wait` for packets and hands each to `each`, which
    /// says whether to go on.
    fn next(
        &mut self,
        wait: Duration,
        each: &mut dyn FnMut(Pkt<'_>) -> Result<bool, Error>,
    ) -> Result<bool, Error> {
        match self {
            Receiver::Ring(ring) => {
                let Some(block) = ring.next_block(Some(wait))? else {
                    return Ok(true);
                };
                for p in &block {
                    let pkt = Pkt {
                        data: p.data(),
                        len: p.len(),
                        timestamp: p.timestamp(),
                        packet_type: p.packet_type(),
                    };
                    if !each(pkt)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Receiver::Recv(sock, buf) => {
                let Some(meta) = sock.recv(buf, Some(wait))? else {
                    return Ok(true);
                };
                // recvmsg carries no kernel timestamp here: the time of receipt.
                let timestamp = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                each(Pkt {
                    data: &buf[..meta.captured],
                    len: meta.len,
                    timestamp,
                    packet_type: meta.packet_type,
                })
            }
        }
    }
}

/// What the capture saw, for the progress line and the summary.
#[derive(Default)]
struct Totals {
    packets: u64,
    captured_bytes: u64,
    wire_bytes: u64,
}

fn capture(args: &Args) -> Result<(), Error> {
    let program = match args.snaplen {
        Some(n) => with_snaplen(&UDP_OR_ICMP, n),
        None => UDP_OR_ICMP,
    };
    // The file's format, checked before anything is opened.
    let format = match &args.write {
        None => None,
        Some(path) => Some(
            CaptureFormat::from_path(path).ok_or_else(|| Error::CaptureFile {
                file: path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the name must end in .pcap or .pcapng",
                ),
            })?,
        ),
    };
    let prog = ProgramLoader::new(&program).name("udp_or_icmp").load()?;
    // Outgoing copies ignored: on lo each packet would show up twice.
    let builder = PacketSocket::builder().ignore_outgoing(true).filter(&prog);
    let mut receiver = Receiver::open(args, builder)?;

    let mut file = match (&args.write, format) {
        (Some(path), Some(format)) => {
            let hatype = receiver.hardware_type()?;
            if hatype != libc::ARPHRD_ETHER && hatype != libc::ARPHRD_LOOPBACK {
                eprintln!(
                    "capture: warning: {} has link type ARPHRD {hatype}, not Ethernet; the \
                     file says Ethernet",
                    args.interface
                );
            }
            Some(CaptureWriter::create(
                path,
                format,
                args.snaplen,
                Some(&args.interface),
            )?)
        }
        _ => None,
    };
    let print_lines = !args.quiet && file.is_none();
    eprintln!(
        "capturing IPv4/IPv6 UDP and ICMP on {} (ifindex {}, {}) until {} or {}{}",
        args.interface,
        receiver.ifindex(),
        receiver.describe(),
        if args.count == 0 {
            "no packet limit".to_owned()
        } else {
            format!("{} packets", args.count)
        },
        if args.seconds.is_zero() {
            "no time limit".to_owned()
        } else {
            format!("{:?}", args.seconds)
        },
        args.write
            .as_ref()
            .map(|p| format!(", writing {}", p.display()))
            .unwrap_or_default()
    );

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C ends the capture cleanly: the file is flushed, the summary
        // printed. Without a handler (already set), Ctrl-C just kills.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let traffic_stop = Arc::new(AtomicBool::new(false));
    let traffic = (!args.no_traffic && args.interface == "lo").then(|| {
        let stop = Arc::clone(&traffic_stop);
        thread::spawn(move || send_traffic(&stop))
    });

    if print_lines {
        println!(
            "{:>4} {:>6}  {:<9} {:<7} source -> destination",
            "#", "bytes", "type", "proto"
        );
    }
    let progress = std::io::stderr().is_terminal() && !print_lines;
    let start = Instant::now();
    let deadline = (!args.seconds.is_zero()).then(|| start + args.seconds);
    let mut next_progress = start + Duration::from_secs(1);
    let mut totals = Totals::default();
    let result = loop {
        if stop.load(Ordering::Relaxed) || (args.count > 0 && totals.packets >= args.count) {
            break Ok(());
        }
        let now = Instant::now();
        let wait = match deadline {
            Some(d) if d <= now => break Ok(()),
            Some(d) => (d - now).min(Duration::from_millis(200)),
            None => Duration::from_millis(200),
        };
        let mut each = |p: Pkt<'_>| -> Result<bool, Error> {
            totals.packets += 1;
            totals.captured_bytes += p.data.len() as u64;
            totals.wire_bytes += p.len as u64;
            if let Some(f) = file.as_mut() {
                f.write(p.timestamp, p.len, p.data)?;
            }
            if print_lines {
                println!("{:>4} {}", totals.packets, describe(&p));
            }
            Ok(args.count == 0 || totals.packets < args.count)
        };
        match receiver.next(wait, &mut each) {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
        if progress && Instant::now() >= next_progress {
            next_progress += Duration::from_secs(1);
            let drops = receiver.stats().map(|s| s.drops).unwrap_or(0);
            let secs = start.elapsed().as_secs_f64();
            eprint!(
                "\r\x1b[K{} packets, {} bytes, {} dropped by the kernel, {:.0} packets/s",
                totals.packets,
                totals.captured_bytes,
                drops,
                totals.packets as f64 / secs
            );
        }
    };
    if progress {
        eprint!("\r\x1b[K");
    }
    traffic_stop.store(true, Ordering::Relaxed);
    if let Some(t) = traffic {
        let _ = t.join();
    }
    let written = file.map(CaptureWriter::finish).transpose();
    let elapsed = start.elapsed().as_secs_f64();
    let stats = receiver.stats()?;
    eprintln!(
        "{} packets, {} bytes captured ({} on the wire) in {elapsed:.1} s: {:.0} packets/s; \
         kernel: {stats}",
        totals.packets,
        totals.captured_bytes,
        totals.wire_bytes,
        totals.packets as f64 / elapsed.max(1e-9),
    );
    if stats.drops > 0 {
        eprintln!(
            "capture: warning: the kernel dropped {} packets because {}",
            stats.drops,
            if args.recv {
                "the socket's receive buffer was full (the reader is too slow; try the ring)"
            } else {
                "the ring was full (try more or larger blocks: --ring-blocks, --ring-block-size)"
            }
        );
    }
    written?;
    result
}

/// Sends a datagram every 100 ms until `stop`: in turn to 127.0.0.1 and ::1,
/// to a listening port and to a closed one.
fn send_traffic(stop: &AtomicBool) {
    let targets = |ip: std::net::IpAddr| -> std::io::Result<(UdpSocket, UdpSocket, SocketAddr)> {
        let tx = UdpSocket::bind((ip, 0))?;
        let rx = UdpSocket::bind((ip, 0))?;
        // A port that was free a moment ago and has no listener now.
        let closed = UdpSocket::bind((ip, 0))?.local_addr()?;
        Ok((tx, rx, closed))
    };
    let mut families = Vec::new();
    for ip in [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()] {
        match targets(ip) {
            Ok(t) => families.push(t),
            Err(e) => eprintln!("capture: no test traffic to {ip}: {e}"),
        }
    }
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) && !families.is_empty() {
        let (tx, rx, closed) = &families[i % families.len()];
        let to_closed = (i / families.len()) % 2 == 1;
        let dest = if to_closed {
            *closed
        } else {
            rx.local_addr().unwrap_or(*closed)
        };
        let _ = tx.send_to(format!("hello #{i}").as_bytes(), dest);
        i += 1;
        thread::sleep(Duration::from_millis(100));
    }
}

/// One line about a packet: length, packet type, protocol, addresses,
/// decoded by etherparse (which tolerates packets cut by the snap length).
fn describe(p: &Pkt<'_>) -> String {
    let head = format!("{:>6}  {:<9}", p.len, p.packet_type.to_string());
    let Ok(packet) = LaxSlicedPacket::from_ethernet(p.data) else {
        return format!("{head} (truncated Ethernet header)");
    };
    let (src, dst) = match &packet.net {
        Some(LaxNetSlice::Ipv4(ip)) => (
            ip.header().source_addr().to_string(),
            ip.header().destination_addr().to_string(),
        ),
        Some(LaxNetSlice::Ipv6(ip)) => (
            format!("[{}]", ip.header().source_addr()),
            format!("[{}]", ip.header().destination_addr()),
        ),
        Some(LaxNetSlice::Arp(_)) => return format!("{head} ARP"),
        None => return format!("{head} (not IP)"),
    };
    let cut = if p.data.len() < p.len {
        format!("  [{} of {} bytes captured]", p.data.len(), p.len)
    } else {
        String::new()
    };
    let body = match &packet.transport {
        Some(TransportSlice::Udp(udp)) => format!(
            "{:<7} {src}:{} -> {dst}:{}  ({} bytes of data)",
            "UDP",
            udp.source_port(),
            udp.destination_port(),
            udp.length().saturating_sub(8)
        ),
        Some(TransportSlice::Icmpv4(icmp)) => format!(
            "{:<7} {src} -> {dst}  {} (type {} code {})",
            "ICMP",
            icmpv4_name(&icmp.icmp_type()),
            icmp.type_u8(),
            icmp.code_u8()
        ),
        Some(TransportSlice::Icmpv6(icmp)) => format!(
            "{:<7} {src} -> {dst}  {} (type {} code {})",
            "ICMPv6",
            icmpv6_name(&icmp.icmp_type()),
            icmp.type_u8(),
            icmp.code_u8()
        ),
        Some(TransportSlice::Tcp(tcp)) => format!(
            "{:<7} {src}:{} -> {dst}:{}",
            "TCP",
            tcp.source_port(),
            tcp.destination_port()
        ),
        _ => format!("{:<7} {src} -> {dst}", "IP"),
    };
    format!("{head} {body}{cut}")
}

fn icmpv4_name(t: &Icmpv4Type) -> String {
    match t {
        Icmpv4Type::EchoReply(_) => "echo reply".into(),
        Icmpv4Type::EchoRequest(_) => "echo request".into(),
        Icmpv4Type::DestinationUnreachable(why) => format!("destination unreachable: {why:?}"),
        Icmpv4Type::TimeExceeded(_) => "time exceeded".into(),
        _ => String::new(),
    }
}

fn icmpv6_name(t: &Icmpv6Type) -> String {
    match t {
        Icmpv6Type::EchoReply(_) => "echo reply".into(),
        Icmpv6Type::EchoRequest(_) => "echo request".into(),
        Icmpv6Type::DestinationUnreachable(why) => format!("destination unreachable: {why:?}"),
        Icmpv6Type::TimeExceeded(_) => "time exceeded".into(),
        _ => String::new(),
    }
}
