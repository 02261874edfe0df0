//! Capture packets on `lo` through a socket filter assembled at compile time.
//!
//! ```text
//! cargo run --example capture                  # as root
//! cargo build --example capture && sudo target/debug/examples/capture
//! sudo target/debug/examples/capture --count 50 --seconds 20
//! sudo target/debug/examples/capture --interface eth0 --no-traffic
//! ```
//!
//! The filter, [`UDP_OR_ICMP`], keeps IPv4 and IPv6 packets that carry UDP,
//! ICMP or ICMPv6 and drops everything else (TCP, ARP, ...) in the kernel,
//! before a copy is made for this program. IPv6 packets with extension
//! headers are dropped too: the filter reads only the fixed header's Next
//! Header field.
//!
//! So that there is something to see without a second terminal, a
//! background thread sends a UDP datagram every 100 ms while capturing on
//! `lo`, in turn to 127.0.0.1 and to ::1, to a port with a listener and to a
//! closed one; the kernel answers the closed port with an ICMP "port
//! unreachable". `--no-traffic` turns it off.
//!
//! One line per packet; stops after `--count` packets (default 10) or
//! `--seconds` seconds (default 5), whichever comes first. Needs root or
//! `CAP_BPF` + `CAP_NET_RAW`.

mod support;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bpf_loader::{Error, PacketMeta, PacketSocket, Program, ProgramLoader, bpf_prog};

/// Keeps IPv4/IPv6 packets carrying UDP, ICMP or ICMPv6.
///
/// On a packet socket the data starts at the Ethernet header: ethertype at
/// 12, then the IP header at 14. The IPv4 protocol is byte 9 of its header
/// (14 + 9 = 23), the IPv6 Next Header byte 6 (14 + 6 = 20). The legacy
/// loads `ldabs*` read big-endian packet bytes into r0 and take the context
/// from r6. A socket filter returns how many bytes to keep: -1 all, 0 none.
const UDP_OR_ICMP: Program = bpf_prog! {
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

const USAGE: &str = "\
usage: capture [--count N] [--seconds S] [--interface NAME] [--no-traffic]

Captures IPv4/IPv6 UDP and ICMP packets with an eBPF socket filter.
  --count N         stop after N packets (default 10)
  --seconds S       stop after S seconds (default 5; fractions allowed)
  --interface NAME  the interface to capture on (default lo)
  --no-traffic      do not send test datagrams over lo";

/// The command line.
struct Args {
    count: u64,
    duration: Duration,
    interface: String,
    traffic: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        count: 10,
        duration: Duration::from_secs(5),
        interface: "lo".to_owned(),
        traffic: true,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs {what}"))
        };
        match flag.as_str() {
            "--count" | "-c" => {
                let v = value("a number of packets")?;
                parsed.count = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--count: `{v}` is not a positive whole number"))?;
            }
            "--seconds" | "-s" => {
                let v = value("a number of seconds")?;
                parsed.duration = v
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| format!("--seconds: `{v}` is not a positive number"))?;
            }
            "--interface" | "-i" => parsed.interface = value("an interface name")?,
            "--no-traffic" => parsed.traffic = false,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("capture: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match capture(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => support::report("capture", &e),
    }
}

fn capture(args: &Args) -> Result<(), Error> {
    let prog = ProgramLoader::new(&UDP_OR_ICMP)
        .name("udp_or_icmp")
        .load()?;
    // Outgoing copies ignored: on lo each packet would show up twice.
    let sock = PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(&prog)
        .bind(&args.interface)?;
    println!(
        "capturing IPv4/IPv6 UDP and ICMP on {} (ifindex {}) until {} packets or {:?}",
        sock.interface(),
        sock.ifindex(),
        args.count,
        args.duration
    );

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = (args.traffic && args.interface == "lo").then(|| {
        let stop = Arc::clone(&stop);
        thread::spawn(move || send_traffic(&stop))
    });

    println!(
        "{:>4} {:>6}  {:<9} {:<7} source -> destination",
        "#", "bytes", "type", "proto"
    );
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut buf = vec![0u8; 65_550];
    let mut seen = 0;
    let result = loop {
        if seen >= args.count {
            break Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match sock.recv(&mut buf, Some(left)) {
            Ok(Some(meta)) => {
                seen += 1;
                println!("{seen:>4} {}", describe(&meta, &buf[..meta.captured]));
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = traffic {
        let _ = t.join();
    }
    println!("{seen} packets in {:.1} s", start.elapsed().as_secs_f64());
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

/// One line about a packet: length, packet type, protocol, addresses.
fn describe(meta: &PacketMeta, frame: &[u8]) -> String {
    let head = format!("{:>6}  {:<9}", meta.len, meta.packet_type.to_string());
    let l3 = frame.get(14..).unwrap_or(&[]);
    let body = match meta.protocol {
        0x0800 => ipv4(l3),
        0x86dd => ipv6(l3),
        0x0806 => Some("ARP".to_owned()),
        other => Some(format!("ethertype {other:#06x}")),
    };
    format!(
        "{head} {}",
        body.unwrap_or_else(|| "(truncated)".to_owned())
    )
}

fn ipv4(ip: &[u8]) -> Option<String> {
    let ihl = usize::from(ip.first()? & 0xf) * 4;
    let src = Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?);
    let dst = Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(16..20)?).ok()?);
    transport(
        *ip.get(9)?,
        &src.to_string(),
        &dst.to_string(),
        ip.get(ihl..)?,
    )
}

fn ipv6(ip: &[u8]) -> Option<String> {
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(8..24)?).ok()?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(24..40)?).ok()?);
    let (src, dst) = (format!("[{src}]"), format!("[{dst}]"));
    transport(*ip.get(6)?, &src, &dst, ip.get(40..)?)
}

/// The protocol column and the rest, for the payload of an IP packet.
fn transport(proto: u8, src: &str, dst: &str, l4: &[u8]) -> Option<String> {
    let port = |i: usize| Some(u16::from_be_bytes([*l4.get(i)?, *l4.get(i + 1)?]));
    Some(match proto {
        17 => format!(
            "{:<7} {src}:{} -> {dst}:{}  ({} bytes of data)",
            "UDP",
            port(0)?,
            port(2)?,
            l4.len().saturating_sub(8)
        ),
        1 | 58 => {
            let (kind, code) = (*l4.first()?, *l4.get(1)?);
            let name = match (proto, kind) {
                (1, 0) | (58, 129) => "echo reply",
                (1, 8) | (58, 128) => "echo request",
                (1, 3) | (58, 1) => "destination unreachable",
                (1, 11) | (58, 3) => "time exceeded",
                _ => "",
            };
            let label = if proto == 1 { "ICMP" } else { "ICMPv6" };
            format!("{label:<7} {src} -> {dst}  {name} (type {kind} code {code})")
        }
        other => format!("{:<7} {src} -> {dst}", format!("ip#{other}")),
    })
}
