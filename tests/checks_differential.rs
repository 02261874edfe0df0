//! The checks against the kernel on random programs built to hold what the
//! kernel decides branches with: unknown values from a helper, the context
//! and the packet, masks, shifts, `movsx`, signed, unsigned and 32-bit
//! comparisons against constants and registers, and, on the paths those
//! comparisons guard, every kind of faulty instruction (constant divisors
//! and shift amounts, r10 writes, stack bounds, unset registers, helpers and
//! context fields the type may not use, loads through numbers).
//!
//! Each program is assembled with the checks and loaded (checks off) into
//! the running kernel: every program the checks reject must be one the
//! kernel refuses. The share of the kernel's refusals the checks catch is
//! printed. Bounded by count (`CHECKS_DIFF_PROGRAMS`, default 3,000). Needs
//! privileges for the kernel half; unprivileged, the programs are still
//! assembled (no panics, no hangs).

mod common;

use bpf_asm::Assembler;
use bpf_loader::ProgramLoader;
use common::Rng;

/// Constants near the edges the kernel's bounds have.
fn konst(r: &mut Rng) -> i64 {
    match r.below(4) {
        0 => r.below(20) as i64 - 4,
        1 => r.pick(&[
            0,
            1,
            -1,
            15,
            16,
            100,
            200,
            255,
            256,
            0x7fff,
            0xffff,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
        ]),
        _ => i64::from(r.next() as i32 as i16),
    }
}

/// Registers holding values the kernel bounds.
const VALS: [&str; 3] = ["r7", "r8", "r9"];

/// Instructions the kernel refuses where it walks them (each is a whole
/// statement list).
const FAULTS: &[&str] = &[
    "div r0, 0",
    "mod32 r0, 0",
    "lsh r0, 64",
    "rsh32 r0, 32",
    "arsh r0, -1",
    "mov r10, 1",
    "stdw [r10 + 8], 0",
    "stw [r10 - 6], 0",
    "ldxdw r0, [r10 - 520]",
    "mov r0, r2",
    "ldxw r0, [r6 + 80]",
    "ldxdw r0, [r6 + 8]",
    "ldxw r0, [r6 + 18]",
    "mov r3, 42\nldxw r0, [r3 + 0]",
    "call clone_redirect",
    "ldxb r0, [r7 + 0]",
];

/// One body statement (or a few); a fault's index goes to `faults`.
fn body(r: &mut Rng, out: &mut Vec<String>, labels: &mut u32, faults: &mut Vec<usize>) {
    let d = r.pick(&VALS);
    let s = r.pick(&VALS);
    match r.below(12) {
        0 => out.push(format!(
            "and {d}, {}",
            r.pick(&[0xf, 0xff, 0xf0, 0x7f, 1, 0xffff, -1])
        )),
        1 => out.push(format!("or {d}, {}", r.pick(&[1, 0x10, 0x80, -256]))),
        2 => out.push(format!(
            "{} {d}, {}",
            r.pick(&["rsh", "lsh", "arsh", "rsh32", "lsh32"]),
            r.below(32)
        )),
        3 => out.push(format!(
            "{} {d}, {s}",
            r.pick(&["movsx8", "movsx16", "movsx32", "mov32", "mov"])
        )),
        4 => out.push(format!(
            "{} {d}, {}",
            r.pick(&["add", "sub", "add32", "mul"]),
            konst(r)
        )),
        5 => out.push(format!(
            "{} {d}, {s}",
            r.pick(&["add", "sub", "xor", "and"])
        )),
        _ => {
            // A comparison guarding a block that may hold a fault.
            let op = r.pick(&[
                "jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset",
            ]);
            let w = if r.below(3) == 0 { "32" } else { "" };
            let rhs = if r.below(3) == 0 {
                s.to_owned()
            } else {
                konst(r).to_string()
            };
            *labels += 1;
            let l = format!("l{labels}");
            out.push(format!("{op}{w} {d}, {rhs}, {l}"));
            if r.below(2) == 0 {
                let f = r.below(FAULTS.len() as u64) as usize;
                faults.push(f);
                out.push(FAULTS[f].to_owned());
            } else {
                out.push(format!("add {d}, 1"));
            }
            out.push(format!("{l}:"));
        }
    }
}

/// A program: unknown values in r7-r9, a body, `exit`; and the faults it
/// holds.
fn program(r: &mut Rng) -> (String, Vec<usize>) {
    let mut out = vec![
        "mov r6, r1".to_owned(),
        "call get_prandom_u32".to_owned(),
        "mov r7, r0".to_owned(),
        format!("ldxw r8, [r6 + {}]", r.pick(&[0, 4, 16, 24])),
        format!(
            "{} {}",
            r.pick(&["ldabsb", "ldabsh", "ldabsw"]),
            r.below(20)
        ),
        "mov r9, r0".to_owned(),
        "mov r0, 0".to_owned(),
    ];
    let mut labels = 0;
    let mut faults = Vec::new();
    for _ in 0..2 + r.below(8) {
        body(r, &mut out, &mut labels, &mut faults);
    }
    out.push("mov r0, 0".to_owned());
    out.push("exit".to_owned());
    faults.sort_unstable();
    faults.dedup();
    (out.join("\n"), faults)
}

#[test]
fn checks_agree_with_the_kernel_on_random_programs() {
    let programs: usize = std::env::var("CHECKS_DIFF_PROGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let kernel = common::kernel();
    let mut r = Rng(0x0dd_ba11_c0ff_ee42);
    let (mut refused, mut caught, mut loads) = (0usize, 0usize, 0usize);
    let mut alarms = Vec::new();
    // Per fault, for programs holding that fault alone: (refused, caught).
    let mut by_fault = vec![(0usize, 0usize); FAULTS.len()];
    for _ in 0..programs {
        let (src, faults) = program(&mut r);
        let checked = bpf_asm::assemble(&src);
        let raw = Assembler::new()
            .flow_checks(false)
            .assemble(&src)
            .unwrap_or_else(|e| panic!("does not encode:\n{src}\n{e}"));
        if !kernel {
            continue;
        }
        match ProgramLoader::new(&raw).load() {
            Ok(_) => {
                loads += 1;
                if let Err(e) = checked {
                    alarms.push(format!("the checks reject, the kernel loads:\n{src}\n{e}"));
                }
            }
            Err(e) => {
                refused += 1;
                caught += usize::from(checked.is_err());
                if let [f] = faults[..] {
                    by_fault[f].0 += 1;
                    by_fault[f].1 += usize::from(checked.is_err());
                }
                if checked.is_ok() && std::env::var_os("CHECKS_DIFF_SHOW").is_some() {
                    eprintln!("missed:\n{src}\n{e}\n");
                }
            }
        }
    }
    if kernel {
        eprintln!(
            "{programs} random programs: the kernel loads {loads}, refuses {refused}; the checks \
             catch {caught} of those ({:.0}%)",
            100.0 * caught as f64 / refused.max(1) as f64
        );
        for (f, (n, c)) in FAULTS.iter().zip(&by_fault) {
            eprintln!(
                "  {:<28} refused {n:>4}, caught {c:>4}",
                f.replace('\n', "; ")
            );
        }
    }
    assert!(
        alarms.is_empty(),
        "{} false alarms, the first ones:\n\n{}",
        alarms.len(),
        alarms[..alarms.len().min(5)].join("\n\n")
    );
}
