//! Helpers shared by the examples (not an example itself: Cargo builds
//! only `examples/*.rs` and `examples/*/main.rs`).

#![allow(dead_code, unreachable_pub)]

pub mod filters;

use std::net::{Ipv4Addr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bpf_loader::{Error, PacketSocket, Program, ProgramLoader};

/// Prints `e` for a person: a permission error says how to get the
/// privilege, anything else is printed as is.
pub fn report(example: &str, e: &Error) -> ExitCode {
    if e.is_permission_denied() {
        eprintln!(
            "{example}: permission denied. Loading BPF programs and opening packet sockets\n\
             needs root, or the capabilities CAP_BPF and CAP_NET_RAW. Try:\n\
             \n    cargo build --example {example} && sudo target/debug/examples/{example}\n\
             \n({e})"
        );
    } else {
        eprintln!("{example}: {e}");
    }
    ExitCode::FAILURE
}

/// What [`count_on_lo`] saw.
pub struct Counts {
    /// Datagrams sent.
    pub sent: usize,
    /// Packets the socket received (anyone's).
    pub seen: usize,
    /// Of which carried our payload.
    pub ours: usize,
}

/// Loads `program`, attaches it to a packet socket on `lo` (outgoing copies
/// ignored), sends `sends` UDP datagrams to 127.0.0.1 and counts the packets
/// the socket receives within `window`.
pub fn count_on_lo(
    name: &str,
    program: &Program,
    sends: usize,
    window: Duration,
) -> Result<Counts, Error> {
    let prog = ProgramLoader::new(program).name(name).load()?;
    let sock = PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(&prog)
        .bind("lo")?;

    let tag = format!("bpf-example/{name}/{}", std::process::id());
    let send = || -> std::io::Result<()> {
        let rx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        for i in 0..sends {
            tx.send_to(format!("{tag} #{i}").as_bytes(), rx.local_addr()?)?;
        }
        Ok(())
    };
    if let Err(e) = send() {
        eprintln!("{name}: sending UDP datagrams over lo failed: {e}");
    }

    let mut counts = Counts {
        sent: sends,
        seen: 0,
        ours: 0,
    };
    let mut buf = vec![0u8; 65_550];
    let deadline = Instant::now() + window;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(meta) = sock.recv(&mut buf, Some(left))? else {
            break;
        };
        counts.seen += 1;
        let data = &buf[..meta.captured];
        if data.windows(tag.len()).any(|w| w == tag.as_bytes()) {
            counts.ours += 1;
        }
    }
    Ok(counts)
}
