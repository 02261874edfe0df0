//! The checks against the kernel on random programs built to hold what the
//! kernel decides branches with: unknown values from a helper, the context
//! and the packet, masks, shifts, `movsx`, signed, unsigned and 32-bit
//! comparisons against constants and registers, and, on the paths those
//! comparisons guard, every kind of faulty instruction (constant divisors
//! and shift amounts, r10 writes, stack bounds, unset registers, helpers and
//! context fields the type may not use, loads through numbers).
//!
//! A second generator writes `sched_cls` programs around pointers: packet
//! pointers moved and checked against `data_end` with every operator (and
//! used on both edges), a map lookup null-checked or not, value accesses at
//! the edges of the value, pointers spilled and filled, variable offsets,
//! helper calls, and the pointer arithmetic the kernel refuses.
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
    match r.below(13) {
        12 => out.push(format!(
            "{} {d}",
            r.pick(&[
                "neg", "neg32", "be16", "le16", "bswap16", "be32", "bswap32", "le64"
            ])
        )),
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

/// A packet access, a value access or a pointer fault, for the pointer
/// programs (r7 = data, r8 = data_end, r9 = a lookup result, r4 a moved
/// packet pointer).
fn pointer_use(r: &mut Rng) -> String {
    let size = r.pick(&["b", "h", "w", "dw"]);
    let off = r.pick(&[
        "+ 0", "+ 0", "+ 1", "+ 2", "+ 4", "+ 6", "+ 8", "+ 0", "+ 2", "+ 4", "+ 8", "+ 12",
        "+ 13", "+ 14", "+ 16", "+ 20", "+ 30", "+ 33", "+ 34", "- 1", "- 4",
    ]);
    match r.below(16) {
        0..=5 => format!("ldx{size} r0, [{} {off}]", r.pick(&["r7", "r4", "r7"])),
        6 | 7 => format!("st{size} [{} {off}], 1", r.pick(&["r7", "r4"])),
        8 | 9 => format!(
            "ldx{size} r0, [r9 {}]",
            r.pick(&["+ 0", "+ 4", "+ 0", "- 1", "+ 7"])
        ),
        10 => format!("stw [r9 {}], 1", r.pick(&["+ 0", "+ 4", "+ 8"])),
        11 => r
            .pick(&[
                "and r4, -2",
                "add32 r4, 1",
                "add r8, 1",
                "mul r4, 2",
                "add r4, r7",
                "ldxb r0, [r8 - 1]",
                "mov r5, 1\nlock add [r7 + 0], r5",
                "add r9, 4",
                "mov r1, r7\nmov r2, 0\ncall skb_pull_data\nmov r4, r7",
                "mov r1, r9\nmov r2, 0\ncall get_socket_cookie\nmov r4, r7",
            ])
            .to_owned(),
        12 => format!("ldxw r0, [r4 {off}]"),
        _ => format!("ldx{size} r0, [r7 {off}]"),
    }
}

/// One statement (or a few) of a pointer program.
fn pointer_body(r: &mut Rng, out: &mut Vec<String>, labels: &mut u32) {
    let mut guard = |r: &mut Rng, out: &mut Vec<String>, cond: String| {
        *labels += 1;
        let l = format!("l{labels}");
        out.push(format!("{cond}, {l}"));
        for _ in 0..1 + r.below(2) {
            out.push(pointer_use(r));
        }
        out.push(format!("{l}:"));
    };
    match r.below(12) {
        0 | 1 => out.push(format!(
            "mov r4, r7\nadd r4, {}",
            r.pick(&[1, 2, 4, 8, 14, 16, 20, 34, 40, -2])
        )),
        2..=4 => {
            let op = r.pick(&["jgt", "jge", "jlt", "jle", "jgt", "jgt32"]);
            let cond = if r.below(3) == 0 {
                format!("{op} r8, r4")
            } else {
                format!("{op} r4, r8")
            };
            guard(r, out, cond);
        }
        5 => {
            let cond = format!("{} r9, 0", r.pick(&["jeq", "jne", "jeq32"]));
            guard(r, out, cond);
        }
        6 => out.push(pointer_use(r)),
        7 => out.push(
            r.pick(&[
                "stxdw [r10 - 16], r7\nldxdw r4, [r10 - 16]",
                "stxdw [r10 - 16], r7\nldxw r4, [r10 - 16]",
                "stxdw [r10 - 16], r4\nldxdw r7, [r10 - 16]",
                "mov r5, r4\nmov r4, r7\nmov r7, r5",
            ])
            .to_owned(),
        ),
        8 => out.push(
            r.pick(&[
                "ldxw r0, [r6 + 0]\nand r0, 15\nadd r4, r0",
                "ldxw r0, [r6 + 0]\nadd r4, r0",
                "mov r0, r8\nsub r0, r7",
            ])
            .to_owned(),
        ),
        9 => out.push(
            r.pick(&[
                "call get_prandom_u32\nmov r4, r7",
                "mov r1, r6\nmov r2, 0\ncall skb_pull_data\nmov r4, r7",
            ])
            .to_owned(),
        ),
        // A socket lookup, released or not, checked or not.
        10 if r.below(2) == 0 => {
            *labels += 1;
            let l = format!("l{labels}");
            out.push(
                "mov r1, r6\nstdw [r10 - 32], 0\nstdw [r10 - 24], 0\nmov r2, r10\nadd r2, -32\n\
                 mov r3, 12\nmov r4, -1\nmov r5, 0\ncall sk_lookup_tcp"
                    .to_owned(),
            );
            out.push(match r.below(5) {
                0 | 1 => format!("jeq r0, 0, {l}\nmov r1, r0\ncall sk_release\n{l}:"),
                2 => format!("jeq r0, 0, {l}\nldxw r5, [r0 + 4]\n{l}:"),
                3 => format!("jne r0, 0, {l}\nmov r5, 0\n{l}:\nldxw r5, [r0 + 4]"),
                _ => format!("mov r5, r0\njeq r5, 0, {l}\nmov r1, r5\ncall sk_release\n{l}:"),
            });
            out.push("mov r4, r7".to_owned());
        }
        // A constant-decided branch guarding a use.
        _ => {
            let cond = format!("mov r5, {}\njeq r5, 0", r.below(2));
            guard(r, out, cond);
        }
    }
}

/// A `sched_cls` program around pointers (see the module's text).
fn pointer_program(r: &mut Rng) -> String {
    let mut out = vec![
        "#![prog_type = sched_cls]".to_owned(),
        format!(
            "#![map(m: {}, key = u32, value = u64, max_entries = 4)]",
            r.pick(&["hash", "array"])
        ),
        "mov r6, r1".to_owned(),
        "stw [r10 - 4], 0".to_owned(),
        "mov r2, r10".to_owned(),
        "add r2, -4".to_owned(),
        "lddw r1, map_fd(m)".to_owned(),
        "call map_lookup_elem".to_owned(),
        "mov r9, r0".to_owned(),
        "ldxw r7, [r6 + 76]".to_owned(),
        "ldxw r8, [r6 + 80]".to_owned(),
        "mov r4, r7".to_owned(),
        "mov r0, 0".to_owned(),
    ];
    // Mostly a first check of the packet's length, leaving on the short side.
    if r.below(3) != 0 {
        let len = r.pick(&[8, 14, 34, 40]);
        out.push(format!("add r4, {len}\njgt r4, r8, out\nmov r4, r7"));
    }
    let mut labels = 0;
    for _ in 0..2 + r.below(7) {
        pointer_body(r, &mut out, &mut labels);
    }
    out.push("out:".to_owned());
    out.push("mov r0, 0".to_owned());
    out.push("exit".to_owned());
    out.join("\n")
}

/// Programs from a generator, by the `var` count (`default` if unset).
fn generated(var: &str, default: usize, seed: u64, make: fn(&mut Rng) -> String) -> Vec<String> {
    let n: usize = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let mut r = Rng(seed);
    (0..n).map(|_| make(&mut r)).collect()
}

/// What the runs found: the kernel's verdicts, the checks' catches, and
/// the false alarms.
#[derive(Default)]
struct Tally {
    loads: usize,
    refused: usize,
    caught: usize,
    alarms: Vec<String>,
}

impl Tally {
    /// Assembles `src` with the checks and (if `kernel`) loads it built
    /// without them; for a program the kernel refuses, whether the checks
    /// caught it.
    fn judge(&mut self, src: &str, kernel: bool) -> Option<bool> {
        let checked = bpf_asm::assemble(src);
        let raw = Assembler::new()
            .flow_checks(false)
            .assemble(src)
            .unwrap_or_else(|e| panic!("does not encode:\n{src}\n{e}"));
        if !kernel {
            return None;
        }
        match ProgramLoader::new(&raw).load() {
            Ok(_) => {
                self.loads += 1;
                if let Err(e) = checked {
                    self.alarms
                        .push(format!("the checks reject, the kernel loads:\n{src}\n{e}"));
                }
                None
            }
            Err(e) => {
                self.refused += 1;
                self.caught += usize::from(checked.is_err());
                if checked.is_ok() && std::env::var_os("CHECKS_DIFF_SHOW").is_some() {
                    eprintln!("missed:\n{src}\n{e}\n");
                }
                Some(checked.is_err())
            }
        }
    }

    fn report(&self, programs: &str) {
        eprintln!(
            "{programs}: the kernel loads {}, refuses {}; the checks catch {} of those ({:.0}%)",
            self.loads,
            self.refused,
            self.caught,
            100.0 * self.caught as f64 / self.refused.max(1) as f64
        );
    }

    fn assert_no_alarms(&self) {
        assert!(
            self.alarms.is_empty(),
            "{} false alarms, the first ones:\n\n{}",
            self.alarms.len(),
            self.alarms[..self.alarms.len().min(5)].join("\n\n")
        );
    }
}

#[test]
fn pointer_checks_agree_with_the_kernel_on_random_programs() {
    let programs = generated(
        "CHECKS_DIFF_POINTER_PROGRAMS",
        2_000,
        0x0005_eed0_f9ac_4e75,
        pointer_program,
    );
    let kernel = common::kernel();
    let mut tally = Tally::default();
    for src in &programs {
        tally.judge(src, kernel);
    }
    if kernel {
        tally.report(&format!("{} random pointer programs", programs.len()));
    }
    tally.assert_no_alarms();
}

#[test]
fn checks_agree_with_the_kernel_on_random_programs() {
    let programs: usize = std::env::var("CHECKS_DIFF_PROGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let kernel = common::kernel();
    let mut r = Rng(0x0dd_ba11_c0ff_ee42);
    let mut tally = Tally::default();
    // Per fault, for programs holding that fault alone: (refused, caught).
    let mut by_fault = vec![(0usize, 0usize); FAULTS.len()];
    for _ in 0..programs {
        let (src, faults) = program(&mut r);
        if let (Some(caught), [f]) = (tally.judge(&src, kernel), &faults[..]) {
            by_fault[*f].0 += 1;
            by_fault[*f].1 += usize::from(caught);
        }
    }
    if kernel {
        tally.report(&format!("{programs} random programs"));
        for (f, (n, c)) in FAULTS.iter().zip(&by_fault) {
            eprintln!(
                "  {:<28} refused {n:>4}, caught {c:>4}",
                f.replace('\n', "; ")
            );
        }
    }
    tally.assert_no_alarms();
}
