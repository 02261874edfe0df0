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

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use bpf_loader::zerocopy::{FromBytes, Immutable, IntoBytes};
use bpf_loader::{Error, HashMap, PacketSocket, Program, ProgramLoader, bpf_prog};

/// The flow key, as the program writes it on its stack: addresses in
/// network order (as loaded by `ldabsw`, host order of their big-endian
/// value), the protocol, padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
struct Flow {
    src: u32,
    dst: u32,
    proto: u32,
}

#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
struct Stats {
    packets: u64,
    bytes: u64,
}

const FLOWS: Program = bpf_prog! {
    #![map(flows: hash, key = 12, value = 16, max_entries = 1024)]
    mov r6, r1;
    ldabsh 12;
    jne r0, 0x0800, out;        // IPv4 only
    ldabsw 26;                  // source address
    stxw [r10 - 12], r0;
    ldabsw 30;                  // destination address
    stxw [r10 - 8], r0;
    ldabsb 23;                  // protocol
    stxw [r10 - 4], r0;
    mov r2, r10;
    add r2, -12;                // r2 = &key
    lddw r1, map_fd(flows);
    call map_lookup_elem;
    jeq r0, 0, new;
    mov r1, 1;
    lock add [r0 + 0], r1;
    ldxw r1, [r6 + 0];          // skb->len
    lock add [r0 + 8], r1;
    ja out;
new:                            // first packet of the flow
    stdw [r10 - 32], 1;
    ldxw r1, [r6 + 0];
    stxdw [r10 - 24], r1;
    lddw r1, map_fd(flows);
    mov r2, r10;
    add r2, -12;
    mov r3, r10;
    add r3, -32;                // r3 = &value
    mov r4, 1;                  // BPF_NOEXIST: a racing CPU may have won
    call map_update_elem;
out:
    mov r0, 0;
    exit
};

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
