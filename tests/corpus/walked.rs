//! The rules the kernel applies only where it walks: each faulty
//! instruction on a path the kernel never walks (decided by a constant or by
//! a value range) assembles and loads; the same instruction on a walked path
//! is an error and the kernel refuses it. Also call chains, endless loops,
//! and programs full of traps.

use super::Case;

const FAULTS: &[&str] = &[
    "div r0, 0",
    "mod r0, 0",
    "sdiv32 r0, 0",
    "lsh r0, 64",
    "rsh32 r0, 32",
    "arsh r0, -1",
    "mov r10, 1",
    "ldxdw r10, [r1 + 0]",
    "stdw [r10 + 8], 0",
    "stw [r10 - 6], 0",
    "ldxdw r0, [r10 - 520]",
];

/// (program, walked) around `fault`.
fn twins(fault: &str) -> [(String, bool); 7] {
    [
        // One register compared with itself: decided only if known.
        (
            format!("ldxw r2, [r1 + 0]\nmov r0, 0\njgt r2, r2, bad\nexit\nbad: {fault}\nexit"),
            true,
        ),
        (
            format!(
                "call get_prandom_u32\nmov r7, r0\nmov r0, 0\njeq r7, r7, ok\n{fault}\nok: exit"
            ),
            true,
        ),
        (
            format!("mov r2, 3\nmov r0, 0\njgt r2, r2, bad\nexit\nbad: {fault}\nexit"),
            false,
        ),
        (
            format!("mov r0, 0\njeq r0, 0, ok\n{fault}\nok: exit"),
            false,
        ),
        (format!("mov r0, 0\njne r0, 0, ok\n{fault}\nok: exit"), true),
        (
            format!(
                "call get_prandom_u32\njsgt r0, 100, out\nmov r2, 200\njslt r2, r0, never\n\
                 out: mov r0, 0\nexit\nnever: {fault}\nmov r0, 0\nexit"
            ),
            false,
        ),
        (
            format!(
                "call get_prandom_u32\njsgt r0, 100, out\nmov r2, 50\njslt r2, r0, never\n\
                 out: mov r0, 0\nexit\nnever: {fault}\nmov r0, 0\nexit"
            ),
            true,
        ),
    ]
}

/// Every fault on walked and unwalked paths.
fn faults() -> Vec<Case> {
    FAULTS
        .iter()
        .flat_map(|f| twins(f))
        .map(|(s, r)| Case::agree(s, r))
        .collect()
}

/// A function `name` that writes `depth` bytes below its r10 and returns.
fn func(name: &str, depth: u32, body: &str) -> String {
    format!("{name}:\nstdw [r10 - {depth}], 0\n{body}mov r0, 0\nexit\n")
}

/// A chain main → f1 → ... → f(n-1), each frame `depth` bytes.
fn chain(n: usize, depth: u32) -> String {
    let mut s = format!("stdw [r10 - {depth}], 0\ncall local f1\nmov r0, 0\nexit\n");
    for k in 1..n {
        let call = if k + 1 < n {
            format!("call local f{}\n", k + 1)
        } else {
            String::new()
        };
        s.push_str(&func(&format!("f{k}"), depth, &call));
    }
    s
}

fn call_chains() -> Vec<Case> {
    // (program, the checks refuse it)
    let cases = [
        (chain(2, 304), true),
        (chain(2, 256), false),
        (chain(3, 168), true),
        (chain(3, 160), false),
        (chain(8, 8), false),
        (chain(9, 8), true),
        // A deep call on a path the kernel never walks.
        (
            format!(
                "stdw [r10 - 304], 0\nmov r1, 0\njne r1, 0, deep\nmov r0, 0\nexit\n\
                 deep: call local f1\nmov r0, 0\nexit\n{}",
                func("f1", 304, "")
            ),
            false,
        ),
        // Two calls one after the other: each chain is short.
        (
            format!(
                "stdw [r10 - 256], 0\ncall local f1\ncall local f2\nmov r0, 0\nexit\n{}{}",
                func("f1", 256, ""),
                func("f2", 256, "")
            ),
            false,
        ),
    ];
    cases.into_iter().map(|(s, r)| Case::agree(s, r)).collect()
}

fn endless_loops() -> Vec<Case> {
    // (program, the checks refuse it)
    let cases = [
        (
            "call get_prandom_u32\njeq r0, 0, l\nexit\nl: add r0, 1\nja l",
            true,
        ),
        ("call get_prandom_u32\njeq r0, 0, l\nexit\nl: ja l", true),
        ("mov r0, 0\nl: add r0, 1\njlt r0, 10, l\nexit", false),
        // The way out is on an edge the kernel decides never to take.
        ("mov r0, 0\nl: mov r1, 1\njeq r1, 1, l\nexit", true),
        (
            "mov r0, 0\nmov r2, 0\nl: jgt r2, 5, out\nja l\nout: exit",
            true,
        ),
        (
            "call get_prandom_u32\nand r0, 7\nl: jgt r0, 7, out\nja l\nout: mov r0, 0\nexit",
            true,
        ),
        (
            "mov r0, 0\nmov r2, 0\nl: add r2, 1\njgt r2, 5, out\nja l\nout: exit",
            false,
        ),
        // On a path the kernel never walks.
        ("mov r0, 0\njne r0, 0, l\nexit\nl: ja l", false),
        // `may_goto` leaves a loop when its budget runs out.
        ("mov r0, 0\nl: may_goto out\nja l\nout: exit", false),
        // Inside a function the entry calls.
        ("call local f\nmov r0, 0\nexit\nf: mov r0, 0\nl: ja l", true),
    ];
    cases.iter().map(|&(s, r)| Case::agree(s, r)).collect()
}

/// Programs full of traps for the checks: the accepted ones must pass and
/// load, the refused ones be caught and refused.
fn traps() -> Vec<Case> {
    let cases = [
        // Bounded loops, with and without `may_goto`.
        ("mov r0, 0\nl: add r0, 1\njlt r0, 100, l\nexit", false),
        (
            "mov r0, 0\nl: may_goto out\nadd r0, 1\nja l\nout: exit",
            false,
        ),
        // A helper fills a stack buffer that is then read.
        (
            "mov r2, 0\nmov r3, r10\nadd r3, -16\nmov r4, 16\ncall skb_load_bytes\n\
             ldxdw r0, [r10 - 16]\nmov r0, 0\nexit",
            false,
        ),
        (
            "mov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 4\ncall skb_load_bytes\nmov r0, 0\nexit",
            false,
        ),
        // Subprograms: arguments in, result out; a legacy load before a call.
        (
            "mov r1, 5\ncall local f\nexit\nf: mov r0, r1\nadd r0, 1\nexit",
            false,
        ),
        (
            "mov r6, r1\nldabsb 0\nmov r7, r0\ncall local f\nmov r0, r7\nexit\nf: mov r0, 0\nexit",
            false,
        ),
        // One function called with two constants: the kernel walks it for
        // each call, and each result decides its own branch.
        (
            "mov r1, 3\ncall local f\njne r0, 3, bad\nmov r1, 4\ncall local f\njne r0, 4, bad\n\
             mov r0, 0\nexit\nbad: div r0, 0\nexit\nf: mov r0, r1\nexit",
            false,
        ),
        (
            "mov r1, 3\ncall local f\njne r0, 4, bad\nmov r0, 0\nexit\nbad: div r0, 0\nexit\n\
             f: mov r0, r1\nexit",
            true,
        ),
        // A spilled context pointer, filled and used.
        (
            "stxdw [r10 - 8], r1\nldxdw r1, [r10 - 8]\nldxw r0, [r1 + 0]\nexit",
            false,
        ),
        // Bounds checked in both directions.
        (
            "call get_prandom_u32\njgt r0, 10, out\njlt r0, 5, out\nmov r1, r0\nout: mov r0, 0\nexit",
            false,
        ),
        // Faults on edges decided by constants, masks and shifts.
        (
            "mov r0, 0\nmov r1, 0\njset r1, 1, l\nexit\nl: mov r10, 0\nexit",
            false,
        ),
        (
            "call get_prandom_u32\nmov r6, r0\nand r6, 3\njgt r6, 3, bad\nmov r0, 0\nexit\n\
             bad: div r0, 0\nexit",
            false,
        ),
        (
            "call get_prandom_u32\nrsh r0, 60\njgt r0, 15, bad\nmov r0, 0\nexit\nbad: mov r10, 1\nexit",
            false,
        ),
        (
            "ldxw r2, [r1 + 0]\njeq r2, r2, ok\nmov r0, 1\nexit\nok: mov r0, 0\nexit",
            false,
        ),
        // Known zero bits: `x & 240` is never 12 and has no bit 0.
        (
            "mov r6, r1\nldabsw 16\nmov r9, r0\nmov r0, 0\nand r9, 240\njset r9, 1, l2\nmov r0, 0\n\
             exit\nl2: mov r10, 1\nexit",
            false,
        ),
        (
            "call get_prandom_u32\nmov r9, r0\nmov r0, 0\nand r9, 240\njeq32 r9, 12, l2\n\
             arsh r0, -1\nl2: mov r0, 0\nexit",
            true,
        ),
        (
            "call get_prandom_u32\nmov r9, r0\nmov r0, 0\nand r9, 240\njne r9, 12, l2\n\
             mov r10, 1\nl2: mov r0, 0\nexit",
            false,
        ),
        // Refused: a callee reading r6 (unset in its frame).
        ("call local f\nmov r0, 0\nexit\nf: mov r0, r6\nexit", true),
        // Refused: a loop with no way out.
        ("mov r0, 0\nl: ja l", true),
        // Refused: a load through a number on a walked edge.
        (
            "call get_prandom_u32\njslt r0, 0, neg\nmov r0, 0\nexit\nneg: ldxw r0, [r0 + 0]\nexit",
            true,
        ),
    ];
    cases.iter().map(|&(s, r)| Case::agree(s, r)).collect()
}

/// The walked-path corpus.
pub(crate) fn cases() -> Vec<Case> {
    [faults(), call_chains(), endless_loops(), traps()].concat()
}
