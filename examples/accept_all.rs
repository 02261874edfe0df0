//! The seed program: `mov64 r0, -1; exit` returns 0xffffffff, which keeps
//! every packet whole.
//!
//! ```text
//! cargo build --example accept_all && sudo target/debug/examples/accept_all
//! ```
//!
//! Attaches it to a packet socket on `lo`, sends five UDP datagrams to
//! 127.0.0.1 and counts what the socket receives in half a second: our five,
//! plus whatever else crossed `lo` meanwhile. Compare `accept_none`.

mod support;

use support::filters::ACCEPT_ALL;

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match support::count_on_lo("accept_all", &ACCEPT_ALL, 5, Duration::from_millis(500)) {
        Ok(c) => {
            println!(
                "accept_all: sent {} UDP datagrams over lo; the filtered socket received {} \
                 packets, {} of them ours",
                c.sent, c.seen, c.ours
            );
            ExitCode::SUCCESS
        }
        Err(e) => support::report("accept_all", &e),
    }
}
