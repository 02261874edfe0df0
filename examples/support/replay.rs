//! Replaying a capture file through a socket filter: what the `replay`
//! example and `tests/replay.rs` share (included by both with `#[path]`).
//!
//! Every packet of a pcap or pcapng file (the format is read from the
//! file's magic number, not its name) is given to a filter, on the
//! interpreter ([`Engine::interpreter`]) or with one `BPF_PROG_TEST_RUN` per
//! packet on the kernel ([`Engine::kernel`]), and the verdicts are counted:
//! kept, dropped, bytes kept (a filter returning N keeps at most N bytes of
//! the data it sees), errors. Only packets on Ethernet links are run; the
//! others (for example `tcpdump -i any`'s Linux cooked headers) are counted
//! as skipped. A packet cut short by the capture's snap length is run on
//! the bytes the file holds.
//!
//! # Where the data starts
//!
//! A frame in a file captured on an `AF_PACKET` socket (tcpdump, or
//! `examples/capture.rs`) starts at its Ethernet header, and so does the
//! data a filter attached to such a socket sees: [`DataStart::Ethernet`],
//! the default, runs the filter as a live socket would (IPv4 protocol byte
//! at offset 23). `BPF_PROG_TEST_RUN` instead pulls a 14-byte Ethernet
//! header off the front of its input (`eth_type_trans`), so a filter there
//! sees the data from the IP header (protocol byte at 9). To run a filter
//! written for live sockets with test runs, the kernel engine puts a
//! 14-byte header in front of each frame for the kernel to pull: zero MAC
//! addresses (zero is `lo`'s address, so `pkt_type` is `PACKET_HOST`) and
//! the frame's own ethertype (so `skb->protocol` is the frame's); the
//! filter then sees the frame from its Ethernet header, as on a socket.
//! [`DataStart::Network`] is for filters written at test-run offsets: the
//! interpreter runs them as a test run does (`SkBuff::test_run`), and the
//! kernel engine passes the frame as is.
//!
//! Test runs refuse inputs shorter than 14 bytes and longer than about
//! 3,700 bytes (one page less the kernel's headroom and tailroom); such
//! packets count as errors, with the kernel's message kept for the report.

#![allow(dead_code, unreachable_pub)]

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use bpf_loader::vm::{DataStart, SkBuff, Vm, VmError};
use bpf_loader::{LoadedProgram, Program, ProgramLoader, bpf_prog};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

/// Keeps IPv4 and IPv6 packets carrying UDP (live-socket offsets: the
/// ethertype at 12, the IPv4 protocol at 14 + 9 = 23, the IPv6 Next Header
/// at 14 + 6 = 20; IPv6 extension headers are not followed).
pub const UDP: Program = bpf_prog! {
    mov64 r6, r1;               // the context, for the legacy loads
    ldabsh 12;                  // ethertype
    jeq r0, 0x0800, ipv4;
    jeq r0, 0x86dd, ipv6;
    ja drop;
ipv4:
    ldabsb 23;                  // IPv4 protocol
    jeq r0, 17, keep;
    ja drop;
ipv6:
    ldabsb 20;                  // IPv6 next header
    jeq r0, 17, keep;
drop:
    mov64 r0, 0;
    exit;
keep:
    mov64 r0, -1;
    exit
};

/// Keeps ICMP over IPv4 and ICMPv6 over IPv6 (live-socket offsets, as
/// [`UDP`]).
pub const ICMP: Program = bpf_prog! {
    mov64 r6, r1;
    ldabsh 12;
    jeq r0, 0x0800, ipv4;
    jeq r0, 0x86dd, ipv6;
    ja drop;
ipv4:
    ldabsb 23;
    jeq r0, 1, keep;            // ICMP
    ja drop;
ipv6:
    ldabsb 20;
    jeq r0, 58, keep;           // ICMPv6
drop:
    mov64 r0, 0;
    exit;
keep:
    mov64 r0, -1;
    exit
};

/// Keeps every packet whole.
pub const ALL: Program = bpf_prog! { mov64 r0, -1; exit };

/// The built-in filter called `name` (`udp`, `icmp`, `all`), written at
/// live-socket offsets.
pub fn builtin(name: &str) -> Option<Program> {
    match name {
        "udp" => Some(UDP),
        "icmp" => Some(ICMP),
        "all" => Some(ALL),
        _ => None,
    }
}

/// The length of an Ethernet header.
const ETH_HLEN: usize = 14;

/// What runs the filter.
pub enum Engine {
    /// The pure-Rust interpreter.
    Interpreter(Box<Vm>),
    /// `BPF_PROG_TEST_RUN` on a loaded program, and a buffer for the
    /// frame with the header the kernel pulls.
    Kernel(LoadedProgram, Vec<u8>),
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Interpreter(_) => "Engine::Interpreter",
            Engine::Kernel(..) => "Engine::Kernel",
        })
    }
}

impl Engine {
    /// The interpreter running `prog` (the maps it declares created in
    /// memory).
    pub fn interpreter(prog: &Program) -> Result<Engine, VmError> {
        Ok(Engine::Interpreter(Box::new(Vm::new(prog)?)))
    }

    /// `prog` loaded into the kernel (its declared maps created), run with
    /// one test run per packet. Needs root or `CAP_BPF`.
    pub fn kernel(prog: &Program) -> Result<Engine, bpf_loader::Error> {
        let loaded = ProgramLoader::new(prog).name("replay").load()?;
        Ok(Engine::Kernel(loaded, Vec::new()))
    }

    /// Which engine this is, for a report.
    pub fn describe(&self) -> &'static str {
        match self {
            Engine::Interpreter(_) => "the interpreter",
            Engine::Kernel(..) => "the kernel (BPF_PROG_TEST_RUN)",
        }
    }

    /// Runs the filter on one Ethernet frame with the data starting at
    /// `start` (see the [module docs](self)): the low 32 bits of r0.
    /// With the data at the IP header, a frame shorter than an Ethernet
    /// header is an error on both engines, as a test run refuses it.
    pub fn run(&mut self, frame: &[u8], start: DataStart) -> Result<u32, String> {
        if start == DataStart::Network && frame.len() < ETH_HLEN {
            return Err(format!(
                "a {}-byte frame is shorter than an Ethernet header: a test run refuses it",
                frame.len()
            ));
        }
        match self {
            Engine::Interpreter(vm) => {
                let skb = match start {
                    DataStart::Ethernet => SkBuff::live(frame),
                    DataStart::Network => SkBuff::test_run(frame),
                };
                vm.run(&skb).map(|r0| r0 as u32).map_err(|e| e.to_string())
            }
            Engine::Kernel(prog, buf) => {
                let input = match start {
                    DataStart::Ethernet => {
                        buf.clear();
                        buf.extend_from_slice(&[0; 12]);
                        buf.extend_from_slice(frame.get(12..14).unwrap_or(&[0, 0]));
                        buf.extend_from_slice(frame);
                        &buf[..]
                    }
                    DataStart::Network => frame,
                };
                prog.test_run(input, 1)
                    .map(|run| run.retval)
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// What a replay counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Packets in the file (skipped ones included).
    pub packets: u64,
    /// Packets the filter kept (returned N > 0).
    pub kept: u64,
    /// Packets the filter dropped (returned 0).
    pub dropped: u64,
    /// Packets the filter did not finish on (the first error in
    /// [`first_error`](Self::first_error)).
    pub errors: u64,
    /// Packets not run: not on an Ethernet link.
    pub skipped: u64,
    /// Bytes of the data the filter saw, over the packets it ran on.
    pub bytes: u64,
    /// Bytes kept: `min(N, length of the data)` per kept packet.
    pub bytes_kept: u64,
    /// The first error, with the packet's number (from 1).
    pub first_error: Option<String>,
}

impl Counts {
    /// Counts one verdict on `frame`.
    fn count(&mut self, frame: &[u8], start: DataStart, verdict: Result<u32, String>) {
        let len = match start {
            DataStart::Ethernet => frame.len(),
            DataStart::Network => frame.len().saturating_sub(ETH_HLEN),
        } as u64;
        match verdict {
            Ok(0) => {
                self.dropped += 1;
                self.bytes += len;
            }
            Ok(n) => {
                self.kept += 1;
                self.bytes += len;
                self.bytes_kept += u64::from(n).min(len);
            }
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("packet {}: {e}", self.packets));
                }
            }
        }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} packets: {} kept, {} dropped, {} errors, {} skipped (not Ethernet); \
             {} of {} bytes kept",
            self.packets,
            self.kept,
            self.dropped,
            self.errors,
            self.skipped,
            self.bytes_kept,
            self.bytes
        )
    }
}

/// Why a file could not be replayed.
#[derive(Debug)]
pub enum ReplayError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// The file is no pcap or pcapng file, or is corrupt (after
    /// `packets` packets).
    Format {
        /// What the reader said.
        message: String,
        /// Packets read before.
        packets: u64,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(e) => write!(f, "{e}"),
            ReplayError::Format {
                message,
                packets: 0,
            } => write!(f, "not a pcap or pcapng file: {message}"),
            ReplayError::Format { message, packets } => {
                write!(f, "unreadable after {packets} packets: {message}")
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// The pcapng section header block type, the first four bytes of a pcapng
/// file in either byte order.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Replays the capture file at `path` through `engine`.
pub fn replay_file(
    path: &Path,
    engine: &mut Engine,
    start: DataStart,
) -> Result<Counts, ReplayError> {
    let file = File::open(path).map_err(ReplayError::Io)?;
    replay(BufReader::new(file), engine, start)
}

/// Replays a pcap or pcapng capture read from `reader` through `engine`.
pub fn replay(
    mut reader: impl Read,
    engine: &mut Engine,
    start: DataStart,
) -> Result<Counts, ReplayError> {
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .map_err(|e| ReplayError::Format {
            message: format!("no header ({e})"),
            packets: 0,
        })?;
    let reader = std::io::Cursor::new(magic).chain(reader);
    let mut counts = Counts::default();
    let format_error = |e: pcap_file::PcapError, packets| ReplayError::Format {
        message: e.to_string(),
        packets,
    };
    if magic == PCAPNG_MAGIC {
        let mut ng = PcapNgReader::new(reader).map_err(|e| format_error(e, 0))?;
        // The link type of each interface of the current section.
        let mut links: Vec<DataLink> = Vec::new();
        while let Some(block) = ng.next_block() {
            let block = block.map_err(|e| format_error(e, counts.packets))?;
            let (interface, data) = match &block {
                Block::SectionHeader(_) => {
                    links.clear();
                    continue;
                }
                Block::InterfaceDescription(i) => {
                    links.push(i.linktype);
                    continue;
                }
                Block::EnhancedPacket(p) => (p.interface_id, &p.data),
                Block::SimplePacket(p) => (0, &p.data),
                Block::Packet(p) => (u32::from(p.interface_id), &p.data),
                _ => continue,
            };
            counts.packets += 1;
            let ethernet = usize::try_from(interface)
                .ok()
                .and_then(|i| links.get(i))
                .is_some_and(|&l| l == DataLink::ETHERNET);
            if !ethernet {
                counts.skipped += 1;
                continue;
            }
            let verdict = engine.run(data, start);
            counts.count(data, start, verdict);
        }
    } else {
        let mut pcap = PcapReader::new(reader).map_err(|e| format_error(e, 0))?;
        let ethernet = pcap.header().datalink == DataLink::ETHERNET;
        while let Some(packet) = pcap.next_packet() {
            let packet = packet.map_err(|e| format_error(e, counts.packets))?;
            counts.packets += 1;
            if !ethernet {
                counts.skipped += 1;
                continue;
            }
            let verdict = engine.run(&packet.data, start);
            counts.count(&packet.data, start, verdict);
        }
    }
    Ok(counts)
}
