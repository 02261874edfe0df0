//! A filter that keeps only IPv4 UDP datagrams to one port, written with
//! the legacy packet loads (`ldabs*`, `ldind*`).
//!
//! ```text
//! cargo build --example udp_port && sudo target/debug/examples/udp_port
//! ```
//!
//! Sends three datagrams to 127.0.0.1:4242 and three to 127.0.0.1:4243 and
//! prints what the filtered packet socket on `lo` received: only the three
//! to 4242. Then it replays one captured frame through
//! `BPF_PROG_TEST_RUN` to show that a test run sees the data 14 bytes
//! later than a live packet socket does.

mod support;

use support::filters::{OTHER_PORT, PORT, UDP_PORT};

use std::net::{Ipv4Addr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bpf_loader::{Error, Packet, PacketSocket, ProgramLoader};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => support::report("udp_port", &e),
    }
}

fn run() -> Result<(), Error> {
    let prog = ProgramLoader::new(&UDP_PORT).name("udp_port").load()?;
    let sock = PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(&prog)
        .bind("lo")?;

    // Nobody needs to listen on these ports: the datagrams cross lo anyway
    // (and the kernel answers with ICMP "port unreachable", which the filter
    // drops too).
    match send_datagrams() {
        Ok(n) => println!("sent {n} datagrams to port {PORT} and {n} to port {OTHER_PORT}"),
        Err(e) => eprintln!("udp_port: sending over lo failed: {e}"),
    }

    let mut kept = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(packet) = sock.recv_packet(Some(left))? else {
            break;
        };
        println!("  kept: {}", describe(&packet));
        kept.push(packet);
    }
    println!("the filter kept {} packets", kept.len());

    // Replay one captured frame through BPF_PROG_TEST_RUN. The kernel strips
    // the Ethernet header of a test run's data, so the program reads every
    // field 14 bytes off and drops the frame; with 14 bytes put in front, it
    // sees the same layout as on the live socket.
    if let Some(packet) = kept.first() {
        let as_is = prog.test_run(&packet.data, 1)?.retval;
        let shifted = [&[0u8; 14][..], &packet.data].concat();
        let run = prog.test_run(&shifted, 1_000)?;
        println!(
            "BPF_PROG_TEST_RUN on that frame: returns {as_is}; with 14 bytes in front: \
             {:#x} ({} ns per run)",
            run.retval,
            run.duration.as_nanos()
        );
    }
    Ok(())
}

/// Sends 3 datagrams to [`PORT`] and 3 to [`OTHER_PORT`], interleaved;
/// returns 3.
fn send_datagrams() -> std::io::Result<usize> {
    let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    for i in 1..=3 {
        tx.send_to(
            format!("to {PORT} #{i}").as_bytes(),
            (Ipv4Addr::LOCALHOST, PORT),
        )?;
        tx.send_to(
            format!("to {OTHER_PORT} #{i}").as_bytes(),
            (Ipv4Addr::LOCALHOST, OTHER_PORT),
        )?;
    }
    Ok(3)
}

/// `UDP 127.0.0.1:41000 -> 127.0.0.1:4242 "to 4242 #1"` for an IPv4 UDP
/// frame, a byte count otherwise.
fn describe(packet: &Packet) -> String {
    let f = &packet.data;
    let udp = f.get(14).map(|&b| 14 + usize::from(b & 0xf) * 4);
    match (
        f.get(26..34),
        udp.and_then(|u| f.get(u..u + 8).map(|h| (u, h))),
    ) {
        (Some(ip), Some((u, h))) => format!(
            "UDP {}:{} -> {}:{} {:?}",
            Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
            u16::from_be_bytes([h[0], h[1]]),
            Ipv4Addr::new(ip[4], ip[5], ip[6], ip[7]),
            u16::from_be_bytes([h[2], h[3]]),
            String::from_utf8_lossy(&f[u + 8..]),
        ),
        _ => format!("{} bytes", packet.meta.len),
    }
}
