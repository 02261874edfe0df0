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

use std::net::{Ipv4Addr, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bpf_loader::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use bpf_loader::{Array, Error, PacketSocket, Program, ProgramLoader, RingBuf, bpf_prog};

const PORT: u16 = 4245;
const SENDS: usize = 10;

/// One record, as the program writes it.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct Event {
    /// UDP destination port.
    port: u16,
    /// The frame's length.
    len: u16,
    _pad: u32,
    /// The first payload bytes (as two big-endian words read by `ldabsw`,
    /// stored in host order).
    head: [u32; 2],
}

const EVENTS: Program = bpf_prog! {
    #![map(events: ringbuf, max_entries = 65536)]
    #![map(lost: array, key = u32, value = u64, max_entries = 1)]
    mov r6, r1;
    ldabsh 12;
    jne r0, 0x0800, out;
    ldabsb 23;
    jne r0, 17, out;            // UDP
    ldabsb 14;
    jne r0, 0x45, out;          // no IP options: UDP at 34, payload at 42
    ldabsh 36;                  // destination port
    jne r0, { PORT }, out;
    stxh [r10 - 16], r0;
    ldxw r1, [r6 + 0];          // skb->len
    stxh [r10 - 14], r1;
    stw [r10 - 12], 0;
    ldabsw 42;
    stxw [r10 - 8], r0;
    ldabsw 46;
    stxw [r10 - 4], r0;
    lddw r1, map_fd(events);
    mov r2, r10;
    add r2, -16;
    mov r3, 16;
    mov r4, 0;
    call ringbuf_output;        // 0, or an error when the ring is full
    jeq r0, 0, out;
    lddw r1, map_value(lost, 0);
    mov r2, 1;
    lock add [r1], r2;
out:
    mov r0, 0;
    exit
};

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
