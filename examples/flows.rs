//! Per-flow packet and byte counts in a hash map keyed by (source address,
//! destination address, protocol), printed as a table of the top flows by
//! bytes.
//!
//! ```text
//! cargo build --example flows && sudo target/debug/examples/flows
//! ```
//!
//! It sends UDP, TCP and ICMP traffic on 127.0.0.1 for two seconds, then
//! reads the map in one batch (`BPF_MAP_LOOKUP_BATCH`) and prints the top 5
//! flows (other programs' traffic on `lo` shows up too).

mod support;

use support::filters::{FLOWS, Flow, Stats};

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use bpf_loader::{Error, HashMap, PacketSocket, ProgramLoader};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => support::report("flows", &e),
    }
}

fn run() -> Result<(), Error> {
    let mut prog = ProgramLoader::new(&FLOWS).name("flows").load()?;
    let flows: HashMap<Flow, Stats> = prog.take_map("flows")?;
    let _sock = PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(&prog)
        .bind("lo")?;
    send_traffic().expect("loopback traffic");

    let mut table = flows.entries_batch(256)?;
    table.sort_by_key(|(_, s)| std::cmp::Reverse(s.bytes));
    println!(
        "{:<15} {:<15} {:<6} {:>9} {:>11}",
        "source", "destination", "proto", "packets", "bytes"
    );
    for (f, s) in table.iter().take(5) {
        let proto = match f.proto {
            1 => "ICMP".to_owned(),
            6 => "TCP".to_owned(),
            17 => "UDP".to_owned(),
            p => p.to_string(),
        };
        println!(
            "{:<15} {:<15} {:<6} {:>9} {:>11}",
            Ipv4Addr::from(f.src),
            Ipv4Addr::from(f.dst),
            proto,
            s.packets,
            s.bytes
        );
    }
    println!("{} flows in all", table.len());
    Ok(())
}

fn send_traffic() -> std::io::Result<()> {
    let rx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let closed = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = std::io::copy(&mut s, &mut std::io::sink());
        }
    });
    let mut tcp = TcpStream::connect(addr)?;
    for i in 0..40 {
        tx.send_to(&[0; 300], rx.local_addr()?)?;
        tcp.write_all(&[0; 1000])?;
        if i % 4 == 0 {
            tx.send_to(&[0; 16], closed)?; // answered by ICMP
        }
        thread::sleep(Duration::from_millis(50));
    }
    drop(tcp);
    let _ = server.join();
    thread::sleep(Duration::from_millis(100));
    Ok(())
}
