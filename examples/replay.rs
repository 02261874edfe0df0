//! Replays a capture file through a socket filter and reports what it
//! keeps: every packet of a pcap or pcapng file (from the capture example's
//! `--write`, or any file tcpdump wrote) run on the interpreter, or with
//! `--kernel` one `BPF_PROG_TEST_RUN` per packet.
//!
//! ```text
//! cargo run --example replay -- lo.pcapng                    # UDP filter, interpreter
//! cargo run --example replay -- lo.pcap --filter icmp
//! cargo run --example replay -- lo.pcap --filter my_filter.s # assembled at run time
//! cargo build --example replay && sudo target/debug/examples/replay lo.pcap --kernel
//! cargo run --example replay -- lo.pcap --filter net.s --data-start test-run
//! ```
//!
//! Prints packets, kept, dropped, errors (a run that did not finish: an
//! access the verifier would refuse, a test run refused by the kernel) and
//! bytes kept: a filter returning N keeps at most N bytes of a packet, so
//! bytes kept is `min(N, length)` summed over the packets kept.
//!
//! Where the data starts matters: frames captured on an `AF_PACKET`
//! socket start at the Ethernet header, and so does the data of a filter
//! attached to one (`--data-start live`, the default; the built-in filters
//! are written for it). `BPF_PROG_TEST_RUN` pulls the first 14 bytes of its
//! input as the Ethernet header, so there the data starts at the IP header
//! and every offset is 14 smaller. With `--kernel` and `--data-start live`,
//! each frame is therefore passed to the kernel behind a 14-byte header of
//! zero addresses and the frame's ethertype, which the kernel pulls: the
//! filter sees the frame from its Ethernet header, with the same
//! `skb->protocol`, as on a socket. `--data-start test-run` is for filters
//! written at test-run offsets: the interpreter runs them as a test run
//! would, and the kernel gets the frames as they are. See
//! `examples/support/replay.rs` for the details (packets test runs refuse,
//! non-Ethernet links).

#[path = "support/replay.rs"]
mod replay;
mod support;

use std::path::PathBuf;
use std::process::ExitCode;

use bpf_loader::Program;
use bpf_loader::asm::Assembler;
use bpf_loader::vm::DataStart;
use clap::{Parser, ValueEnum};

use replay::{Engine, builtin, replay_file};

/// Runs a socket filter over every packet of a pcap/pcapng file.
#[derive(Parser, Debug)]
#[command(name = "replay", version, about, long_about = None)]
struct Args {
    /// The capture file (.pcap or .pcapng; the format is read from the file).
    file: PathBuf,
    /// The filter: `udp`, `icmp`, `all` (built in, live-socket offsets),
    /// or the path of an assembly file (`*.s`) assembled at run time.
    #[arg(short, long, value_name = "udp|icmp|all|PATH.s", default_value = "udp")]
    filter: String,
    /// Run with BPF_PROG_TEST_RUN on the kernel instead of the interpreter
    /// (needs root or CAP_BPF).
    #[arg(short, long)]
    kernel: bool,
    /// Where the filter's data starts: at the Ethernet header as on a live
    /// packet socket, or at the IP header as in a test run.
    #[arg(long, value_enum, default_value_t = Start::Live)]
    data_start: Start,
}

/// `--data-start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Start {
    /// The Ethernet header first (an `AF_PACKET` socket).
    Live,
    /// The IP header first (`BPF_PROG_TEST_RUN`).
    TestRun,
}

/// Why the replay failed.
enum Failure {
    /// Loading into the kernel (a permission error gets its hint).
    Load(bpf_loader::Error),
    /// Anything else, as a message.
    Other(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Other(s)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Load(e)) => support::report("replay", &e),
        Err(Failure::Other(e)) => {
            eprintln!("replay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The filter `--filter` names.
fn filter(args: &Args) -> Result<Program, String> {
    if let Some(p) = builtin(&args.filter) {
        if args.data_start == Start::TestRun {
            return Err(format!(
                "the built-in `{}` filter reads live-socket offsets (Ethernet header \
                 first); `--data-start test-run` is for filters written at test-run \
                 offsets: give one as PATH.s",
                args.filter
            ));
        }
        return Ok(p);
    }
    let text = std::fs::read_to_string(&args.filter).map_err(|e| {
        format!(
            "--filter {}: not a built-in filter (udp, icmp, all) and not a readable file: {e}",
            args.filter
        )
    })?;
    Assembler::new()
        .source_name(args.filter.as_str())
        .assemble(&text)
        .map_err(|e| e.to_string())
}

fn run(args: &Args) -> Result<(), Failure> {
    let prog = filter(args)?;
    let start = match args.data_start {
        Start::Live => DataStart::Ethernet,
        Start::TestRun => DataStart::Network,
    };
    let mut engine = if args.kernel {
        Engine::kernel(&prog).map_err(Failure::Load)?
    } else {
        Engine::interpreter(&prog).map_err(|e| e.to_string())?
    };
    let counts = replay_file(&args.file, &mut engine, start)
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    println!(
        "{}: filter `{}` on {}, data from the {} header",
        args.file.display(),
        args.filter,
        engine.describe(),
        match start {
            DataStart::Ethernet => "Ethernet",
            DataStart::Network => "IP",
        }
    );
    println!("packets     {}", counts.packets);
    println!("kept        {}", counts.kept);
    println!("dropped     {}", counts.dropped);
    println!("errors      {}", counts.errors);
    if counts.skipped > 0 {
        println!("skipped     {} (not on an Ethernet link)", counts.skipped);
    }
    println!("bytes       {}", counts.bytes);
    println!("bytes kept  {}", counts.bytes_kept);
    if let Some(e) = &counts.first_error {
        println!("first error {e}");
    }
    Ok(())
}
