//! The kernel's `samples/bpf/sockex1` in one Rust file: a socket filter on
//! `lo` counts packets and bytes per IP protocol in an array map indexed by
//! the protocol number, and user space prints the TCP, UDP and ICMP counts
//! every second.
//!
//! ```text
//! cargo build --example sockex1 && sudo target/debug/examples/sockex1
//! ```
//!
//! While it runs it sends a known mix of loopback traffic: UDP datagrams to
//! a listening socket, UDP datagrams to a closed port (each answered by an
//! ICMP "port unreachable"), and a TCP connection carrying some bytes. At
//! the end it checks the UDP and ICMP counts against what it sent, packet
//! for packet and byte for byte (the filter counts `skb->len`, which on an
//! `AF_PACKET` socket includes the 14-byte Ethernet header), and that TCP
//! carried at least its payload. Other programs' traffic on `lo` can only
//! add to the counts; the example says so when it does.

mod support;

use support::filters::{Count, SOCKEX1};

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use bpf_loader::{Array, Error, PacketSocket, ProgramLoader};

const UDP_SENDS: usize = 30;
const UDP_PAYLOAD: usize = 100;
const CLOSED_SENDS: usize = 10;
const CLOSED_PAYLOAD: usize = 32;
const TCP_BYTES: usize = 20_000;

/// Ethernet (14) + IPv4 (20) + UDP (8) headers.
const UDP_OVERHEAD: u64 = 14 + 20 + 8;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => support::report("sockex1", &e),
    }
}

fn run() -> Result<bool, Error> {
    let mut prog = ProgramLoader::new(&SOCKEX1).name("sockex1").load()?;
    let counts: Array<Count> = prog.take_map("counts")?;
    // Each packet on `lo` shows up as outgoing and incoming: keep one copy.
    let _sock = PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(&prog)
        .bind("lo")?;

    let traffic = thread::spawn(send_traffic);
    for second in 1..=3 {
        thread::sleep(Duration::from_secs(1));
        let c = |p: u32| counts.get(p).map(Option::unwrap_or_default);
        let (tcp, udp, icmp) = (c(6)?, c(17)?, c(1)?);
        println!(
            "{second}s  TCP {:>5} packets {:>8} bytes   UDP {:>4} packets {:>7} bytes   \
             ICMP {:>3} packets {:>6} bytes",
            tcp.packets, tcp.bytes, udp.packets, udp.bytes, icmp.packets, icmp.bytes
        );
    }
    traffic.join().expect("traffic thread").map_err(io)?;
    // Late ICMP replies and TCP's FIN exchange have long arrived.
    let c = |p: u32| counts.get(p).map(Option::unwrap_or_default);
    let (tcp, udp, icmp) = (c(6)?, c(17)?, c(1)?);
    let udp_packets = (UDP_SENDS + CLOSED_SENDS) as u64;
    let udp_bytes = UDP_SENDS as u64 * (UDP_OVERHEAD + UDP_PAYLOAD as u64)
        + CLOSED_SENDS as u64 * (UDP_OVERHEAD + CLOSED_PAYLOAD as u64);
    // An ICMP error quotes the IP header and all of this small datagram.
    let icmp_bytes = CLOSED_SENDS as u64 * (14 + 20 + 8 + 20 + 8 + CLOSED_PAYLOAD as u64);
    let mut ok = true;
    ok &= check("UDP", udp, udp_packets, udp_bytes);
    ok &= check("ICMP", icmp, CLOSED_SENDS as u64, icmp_bytes);
    if tcp.bytes >= TCP_BYTES as u64 && tcp.packets >= 4 {
        println!(
            "TCP: {} packets, {} bytes, carrying the {TCP_BYTES} bytes sent (plus the \
             handshake, acknowledgements and headers): ok",
            tcp.packets, tcp.bytes
        );
    } else {
        println!("TCP: {tcp:?} cannot carry the {TCP_BYTES} bytes sent: MISMATCH");
        ok = false;
    }
    println!(
        "{}",
        if ok {
            "counts match the traffic sent"
        } else {
            "counts do NOT match"
        }
    );
    Ok(ok)
}

/// Compares a protocol's counts with what was sent; more means someone
/// else used `lo` meanwhile.
fn check(what: &str, got: Count, packets: u64, bytes: u64) -> bool {
    if (got.packets, got.bytes) == (packets, bytes) {
        println!("{what}: {packets} packets, {bytes} bytes sent and counted: exact");
        true
    } else if got.packets >= packets && got.bytes >= bytes {
        println!(
            "{what}: {packets} packets, {bytes} bytes sent; counted {} and {} (the rest is other \
             programs' traffic on lo): ok",
            got.packets, got.bytes
        );
        true
    } else {
        println!(
            "{what}: {packets} packets, {bytes} bytes sent; counted only {} and {}: MISMATCH",
            got.packets, got.bytes
        );
        false
    }
}

fn io(e: std::io::Error) -> Error {
    Error::InvalidMap {
        map: "traffic".into(),
        reason: e.to_string(),
    }
}

/// The known mix: UDP to a listener, UDP to a closed port (ICMP errors
/// back), one TCP connection, spread over two seconds.
fn send_traffic() -> std::io::Result<()> {
    let rx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    // A port nobody listens on: bind one, note it, close it.
    let closed = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let server = {
        let addr = listener.local_addr()?;
        thread::spawn(move || -> std::io::Result<usize> {
            let (mut s, _) = listener.accept()?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf)?;
            Ok(buf.len())
        });
        addr
    };
    for i in 0..UDP_SENDS {
        tx.send_to(&[b'u'; UDP_PAYLOAD], rx.local_addr()?)?;
        if i < CLOSED_SENDS {
            tx.send_to(&[b'c'; CLOSED_PAYLOAD], closed)?;
            // Let the ICMP error come back before the next datagram.
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(Duration::from_millis(30));
    }
    let mut tcp = TcpStream::connect(server)?;
    tcp.write_all(&[b't'; TCP_BYTES])?;
    drop(tcp);
    thread::sleep(Duration::from_millis(200));
    Ok(())
}
