//! A socket filter that pushes a small record per matching packet into a
//! ring buffer (`BPF_MAP_TYPE_RINGBUF`, Linux 5.8): for every UDP datagram
//! to port 4245 on `lo`, its length and first 8 payload bytes. User space
//! waits on the ring with `epoll` and prints the records.
//!
//! ```text
//! cargo build --example events && sudo target/debug/examples/events
//! ```
//!
//! It sends 10 datagrams, prints each record as it arrives, and stops when
//! all 10 are in (or after 5 seconds). When the ring is full the program
//! cannot reserve a record; it counts those losses in the `lost` map, which
//! is printed at the end.

mod support;

use support::filters::{EVENTS, EVENTS_PORT as PORT, Event};

use std::net::{Ipv4Addr, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bpf_loader::zerocopy::FromBytes;
use bpf_loader::{Array, Error, PacketSocket, ProgramLoader, RingBuf};

const SENDS: usize = 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => support::report("events", &e),
    }
}

fn run() -> Result<(), Error> {
    let mut prog = ProgramLoader::new(&EVENTS).name("events").load()?;
    let mut events: RingBuf = prog.take_map("events")?;
    let lost: Array<u64> = prog.take_map("lost")?;
    let _sock = PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(&prog)
        .bind("lo")?;
    let sender = thread::spawn(|| -> std::io::Result<()> {
        let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        for i in 0..SENDS {
            let payload = format!("#{i:02}: an event from the example");
            tx.send_to(payload.as_bytes(), (Ipv4Addr::LOCALHOST, PORT))?;
            thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 0;
    while n < SENDS {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(record) = events.next_timeout(Some(left))? else {
            break;
        };
        let Ok(e) = Event::read_from_bytes(&record) else {
            continue;
        };
        let head: Vec<u8> = e.head.iter().flat_map(|w| w.to_be_bytes()).collect();
        println!(
            "port {} len {:>3} payload starts {:?}",
            e.port,
            e.len,
            String::from_utf8_lossy(&head)
        );
        n += 1;
    }
    let _ = sender.join();
    println!(
        "{n} of {SENDS} records received, {} lost (ring full)",
        lost.get(0)?.unwrap_or(0)
    );
    Ok(())
}
