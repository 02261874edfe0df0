//! The checks against the kernel on the hand-written corpus (`corpus/`):
//! every program the kernel loads passes the checks (no false alarms), every
//! program marked caught is rejected by both, and the share of the kernel's
//! rejections the checks catch is printed by check and held at 90% or more.
//! Each program is loaded as built with the flow checks off, as its own
//! program type.
//!
//! Needs root (or CAP_BPF); see `common::require_privilege`.

mod common;
mod corpus;

use std::collections::BTreeMap;

use bpf_asm::Assembler;
use bpf_loader::ProgramLoader;
use corpus::{Case, Expect};

/// The least share of the kernel's rejections the checks must catch.
const CAUGHT_AT_LEAST: f64 = 0.9;
/// The least size of the corpus.
const CORPUS_AT_LEAST: usize = 200;

fn every_case() -> Vec<(&'static str, Case)> {
    let sets = [
        ("basics", corpus::basics::cases()),
        ("arith", corpus::arith::cases()),
        ("walked", corpus::walked::cases()),
        ("pointers", corpus::pointers::cases()),
        ("progtypes", corpus::progtypes::cases()),
        ("packets", corpus::packets::cases()),
        ("refs", corpus::refs::cases()),
        ("helpers", corpus::helpers::cases()),
        ("limits", corpus::limits::cases()),
    ];
    sets.into_iter()
        .flat_map(|(set, cases)| cases.into_iter().map(move |c| (set, c)))
        .collect()
}

/// What the kernel says of `src`: `Ok` if it loads, else its error.
fn kernel_verdict(src: &str) -> Result<(), String> {
    let p = Assembler::new()
        .flow_checks(false)
        .assemble(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    ProgramLoader::new(&p)
        .load()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn corpus_agrees_with_the_kernel() {
    let kernel = common::kernel();
    let cases = every_case();
    let mut bad = Vec::new();
    // Check name → (caught, refused by the kernel in its set).
    let mut by_check: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut caught, mut missed, mut loads) = (0, 0, 0);
    for (set, case) in &cases {
        let src = &case.src;
        let checked = bpf_asm::assemble(src);
        match (case.expect, &checked) {
            (Expect::Loads, Ok(_)) => loads += 1,
            (Expect::Loads, Err(e)) => bad.push(format!("[{set}] a false alarm:\n{src}\n{e}")),
            (Expect::Caught { says, .. }, Err(e)) => {
                caught += 1;
                let check =
                    e.0.iter()
                        .find_map(|e| e.check)
                        .map_or("encoding", |c| c.name());
                *by_check.entry(check).or_default() += 1;
                if !e.to_string().contains(says) {
                    bad.push(format!("[{set}] the checks say, not `{says}`:\n{src}\n{e}"));
                }
            }
            (Expect::Caught { .. }, Ok(_)) => {
                bad.push(format!("[{set}] no longer caught:\n{src}"));
            }
            (Expect::Missed { .. }, Ok(_)) => missed += 1,
            (Expect::Missed { .. }, Err(e)) => bad.push(format!(
                "[{set}] now caught (mark it so in the corpus):\n{src}\n{e}"
            )),
        }
        if !kernel {
            continue;
        }
        match (case.expect, kernel_verdict(src)) {
            (Expect::Loads, Ok(())) => {}
            (Expect::Loads, Err(e)) => bad.push(format!("[{set}] the kernel refuses:\n{src}\n{e}")),
            (Expect::Caught { kernel, .. } | Expect::Missed { kernel }, Err(e)) => {
                if !e.contains(kernel) {
                    bad.push(format!(
                        "[{set}] the kernel says, not `{kernel}`:\n{src}\n{e}"
                    ));
                }
            }
            (_, Ok(())) => bad.push(format!("[{set}] the kernel loads:\n{src}")),
        }
    }
    let refused = caught + missed;
    let share = caught as f64 / refused.max(1) as f64;
    let mut report = format!(
        "corpus: {} programs, {loads} loaded, {refused} refused by the kernel, \
         {caught} of those caught ({:.1}%)\n",
        cases.len(),
        share * 100.0
    );
    for (check, n) in &by_check {
        report.push_str(&format!("  {check:<20} {n:>4} caught\n"));
    }
    report.push_str(&format!("  {:<20} {missed:>4} missed\n", "(none)"));
    eprint!("{report}");
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    assert!(
        cases.len() >= CORPUS_AT_LEAST,
        "the corpus has {} programs, fewer than {CORPUS_AT_LEAST}",
        cases.len()
    );
    assert!(
        share >= CAUGHT_AT_LEAST,
        "the checks catch {:.1}% of the kernel's rejections, under {:.0}%\n{report}",
        share * 100.0,
        CAUGHT_AT_LEAST * 100.0
    );
}
