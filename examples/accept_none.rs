//! `mov64 r0, 0; exit` returns 0, which drops every packet in the kernel:
//! the socket never wakes up.
//!
//! ```text
//! cargo build --example accept_none && sudo target/debug/examples/accept_none
//! ```
//!
//! Attaches it to a packet socket on `lo`, sends five UDP datagrams to
//! 127.0.0.1 and counts what the socket receives in half a second: nothing.
//! Compare `accept_all`.

mod support;

use support::filters::ACCEPT_NONE;

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match support::count_on_lo("accept_none", &ACCEPT_NONE, 5, Duration::from_millis(500)) {
        Ok(c) => {
            println!(
                "accept_none: sent {} UDP datagrams over lo; the filtered socket received {} \
                 packets",
                c.sent, c.seen
            );
            ExitCode::SUCCESS
        }
        Err(e) => support::report("accept_none", &e),
    }
}
