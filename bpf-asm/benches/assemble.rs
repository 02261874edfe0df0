//! Throughput of the runtime assembler against rbpf's, of the disassembler,
//! and of the `bpf_prog!` expansion (`bpf_asm::expand::expand`).
//!
//! One deterministic program of 100,000 instructions (ALU with immediates and
//! registers, loads and stores with memory operands, conditional jumps with
//! numeric `+N` offsets, `lddw`, `call 1`, `exit`) is written once in the
//! spelling both assemblers accept, and the very same text is given to
//! `bpf_asm` and to `rbpf::assembler::assemble`; the two outputs are checked
//! to be byte-for-byte identical before anything is timed. The program is
//! also valid for the flow checks (it ends in `exit`, every register is
//! written before it is read, every jump lands on an instruction, both sides
//! of every branch are feasible).
//!
//! `cargo bench -p bpf-asm` runs the criterion benchmarks, then prints a
//! summary from interleaved `Instant` medians, including the lines
//! "bpf_asm is N.Nx faster than rbpf (flow checks off)" and, for the
//! assembler with its flow checks, "... (flow checks on)". Under `cargo test --benches` each
//! benchmark runs once as a smoke test and the summary is skipped.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bpf_asm::{Assembler, Insn, disassemble, disassemble_pseudo_c};
use criterion::{BatchSize, Criterion, Throughput};
use proc_macro2::TokenStream;

/// Instructions in the program given to the runtime assemblers.
const ASM_INSNS: usize = 100_000;
/// Instructions in the program given to the macro expansion.
const MACRO_INSNS: usize = 10_000;
/// Instructions in one generated block (see [`block`]).
const BLOCK_INSNS: usize = 28;
/// Rounds of the interleaved summary measurement.
const SUMMARY_ROUNDS: usize = 15;

/// A small deterministic generator (PCG-style LCG), so the program is the
/// same on every run and machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u32) as usize]
    }

    /// A signed immediate: mostly small, sometimes anywhere in `i32`.
    fn imm(&mut self) -> i64 {
        if self.below(4) == 0 {
            i64::from(self.next() as i32)
        } else {
            i64::from(self.below(2001)) - 1000
        }
    }
}

const ALU64_IMM: &[&str] = &[
    "add64", "sub64", "mul64", "or64", "and64", "xor64", "mov64", "div64", "mod64", "lsh64",
    "rsh64", "arsh64",
];
const ALU32_IMM: &[&str] = &[
    "add32", "sub32", "mul32", "or32", "and32", "xor32", "div32", "mod32", "lsh32", "rsh32",
    "arsh32",
];
const ALU64_REG: &[&str] = &[
    "add64", "sub64", "mul64", "or64", "and64", "xor64", "div64", "mod64",
];
const JUMPS: &[&str] = &[
    "jeq", "jne", "jgt", "jge", "jlt", "jle", "jset", "jsgt", "jsge", "jslt", "jsle",
];
const ENDIAN: &[&str] = &["be16", "be32", "be64", "le16", "le32", "le64"];
/// `__sk_buff` fields a socket filter may read with a 4-byte load.
const CTX_READ: &[&str] = &["0", "4", "8", "16", "20", "24", "36", "40"];

/// An immediate operand valid for `op` (shift amounts below the width,
/// non-zero divisors).
fn alu_imm(rng: &mut Lcg, op: &str) -> i64 {
    let width = if op.ends_with("32") { 32 } else { 64 };
    if op.contains("sh") {
        i64::from(rng.below(width))
    } else if op.starts_with("div") || op.starts_with("mod") {
        i64::from(rng.below(1000)) + 1
    } else {
        rng.imm()
    }
}

/// One block of [`BLOCK_INSNS`] instructions (29 slots), each ending its
/// line with `sep`. Registers: r6 holds the context, r7 to r9 survive calls,
/// r2/r3 are unknown context fields so both sides of every branch are
/// feasible. Jumps: `+2` over two instructions, `+1` over one, `+2` over an
/// `lddw`, `+1` over an `exit`.
fn block(out: &mut String, rng: &mut Lcg, sep: &str) {
    let mut line = |s: String| {
        out.push_str(&s);
        out.push_str(sep);
    };
    line(format!("ldxw r2, [r6+{}]", rng.pick(CTX_READ)));
    line(format!("ldxw r3, [r6+{}]", rng.pick(CTX_READ)));
    let op = rng.pick(ALU64_IMM);
    line(format!("{op} r7, {}", alu_imm(rng, op)));
    let op = rng.pick(ALU32_IMM);
    line(format!("{op} r8, {}", alu_imm(rng, op)));
    let src = rng.pick(&["r2", "r3", "r7", "r8"]);
    line(format!("{} r9, {src}", rng.pick(ALU64_REG)));
    line("mov64 r4, r2".to_owned());
    let stack = 8 * (rng.below(32) + 1);
    line(format!("stxdw [r10-{stack}], r4"));
    line(format!("ldxdw r5, [r10-{stack}]"));
    let stack = 4 * (rng.below(62) + 66);
    line(format!("stw [r10-{stack}], {}", rng.imm()));
    line(format!("ldxw r4, [r10-{stack}]"));
    line(format!("stxw [r6+{}], r4", 48 + 4 * rng.below(5)));
    line(format!("{} r2, {}, +2", rng.pick(JUMPS), rng.imm()));
    line(format!("add64 r0, {}", rng.imm()));
    line("mov64 r7, r3".to_owned());
    line(format!("{} r3, r2, +1", rng.pick(JUMPS)));
    line("sub64 r8, r9".to_owned());
    line(format!("jset r3, {}, +2", 1u32 << rng.below(31)));
    let hi = u64::from(rng.next() & 0x7fff_ffff);
    line(format!("lddw r9, {:#x}", hi << 32 | u64::from(rng.next())));
    line(format!("{} r4", rng.pick(ENDIAN)));
    line("neg64 r8".to_owned());
    line("mov64 r1, r6".to_owned());
    line("mov64 r2, r10".to_owned());
    line("add64 r2, -8".to_owned());
    line("call 1".to_owned());
    line(format!("mov64 r0, {}", rng.imm()));
    line(format!("jne r7, {}, +1", rng.imm()));
    line("exit".to_owned());
    // 27 lines so far; the 28th:
    line(format!("xor64 r9, {}", rng.imm()));
}

/// The benchmark program: exactly `insns` instructions, one per line, lines
/// ended by `sep` ("\n" for the runtime assemblers, ";\n" for the macro).
fn program(insns: usize, sep: &str) -> String {
    let mut rng = Lcg(0x5eed_b0f0_2026);
    let mut out = String::with_capacity(insns * 24);
    let mut count = 0;
    for line in [
        "mov64 r6, r1",
        "mov64 r0, 0",
        "mov64 r7, 1",
        "mov64 r8, 2",
        "mov64 r9, 3",
    ] {
        out.push_str(line);
        out.push_str(sep);
        count += 1;
    }
    while count + BLOCK_INSNS + 2 <= insns {
        block(&mut out, &mut rng, sep);
        count += BLOCK_INSNS;
    }
    while count + 2 < insns {
        let _ = write!(out, "add64 r7, {}{sep}", rng.imm());
        count += 1;
    }
    out.push_str("mov64 r0, 0");
    out.push_str(sep);
    out.push_str("exit");
    out.push_str(sep);
    out
}

fn ours(text: &str) -> Vec<Insn> {
    Assembler::new()
        .flow_checks(false)
        .assemble(text)
        .expect("bpf_asm rejects the benchmark program")
        .insns()
        .to_vec()
}

/// Checks the inputs once and says which benchmarks apply.
struct Inputs {
    text: String,
    insns: Vec<Insn>,
    macro_tokens: TokenStream,
    flow_ok: bool,
}

fn inputs() -> Inputs {
    let text = program(ASM_INSNS, "\n");
    assert_eq!(text.lines().count(), ASM_INSNS);
    let prog = Assembler::new()
        .flow_checks(false)
        .assemble(&text)
        .unwrap_or_else(|e| panic!("bpf_asm rejects the benchmark program:\n{e}"));
    let theirs = rbpf::assembler::assemble(&text).expect("rbpf rejects the benchmark program");
    assert!(
        prog.as_bytes() == theirs.as_slice(),
        "bpf_asm and rbpf encode the same text differently"
    );
    let insns = prog.insns().to_vec();
    let lddws = text.lines().filter(|l| l.starts_with("lddw")).count();
    assert_eq!(insns.len(), ASM_INSNS + lddws, "an lddw takes two slots");
    let flow_ok = match bpf_asm::assemble(&text) {
        Ok(p) => p.insns() == insns.as_slice(),
        Err(e) => {
            let first =
                e.0.iter()
                    .take(3)
                    .map(|e| format!("\n  {e}"))
                    .collect::<String>();
            println!(
                "note: the flow checks reject the benchmark program ({} errors; first:{first}); \
                 benchmarking with flow checks off only",
                e.0.len()
            );
            false
        }
    };
    assert_eq!(ours(&disassemble(&insns)), insns, "disassembly round trip");

    let macro_text = program(MACRO_INSNS, ";\n");
    let macro_tokens: TokenStream = macro_text.parse().expect("macro program tokenizes");
    let expanded = bpf_asm::expand::expand(macro_tokens.clone()).to_string();
    assert!(
        !expanded.contains("compile_error"),
        "the expansion of the 10k-instruction program reports errors"
    );
    Inputs {
        text,
        insns,
        macro_tokens,
        flow_ok,
    }
}

fn benches(c: &mut Criterion, inp: &Inputs) {
    let text = inp.text.as_str();
    let mut g = c.benchmark_group("assemble_100k");
    g.throughput(Throughput::Elements(ASM_INSNS as u64));
    g.bench_function("bpf_asm_flow_checks_off", |b| {
        let asm = Assembler::new().flow_checks(false);
        b.iter(|| asm.assemble(black_box(text)).unwrap());
    });
    if inp.flow_ok {
        g.bench_function("bpf_asm_flow_checks_on", |b| {
            let asm = Assembler::new();
            b.iter(|| asm.assemble(black_box(text)).unwrap());
        });
    }
    g.bench_function("rbpf", |b| {
        b.iter(|| rbpf::assembler::assemble(black_box(text)).unwrap());
    });
    g.finish();

    let mut g = c.benchmark_group("disassemble_100k");
    g.throughput(Throughput::Elements(ASM_INSNS as u64));
    g.bench_function("mnemonic", |b| {
        b.iter(|| disassemble(black_box(&inp.insns)));
    });
    g.bench_function("pseudo_c", |b| {
        b.iter(|| disassemble_pseudo_c(black_box(&inp.insns)));
    });
    g.finish();

    let mut g = c.benchmark_group("expand_10k");
    g.throughput(Throughput::Elements(MACRO_INSNS as u64));
    g.bench_function("expand", |b| {
        b.iter_batched(
            || inp.macro_tokens.clone(),
            bpf_asm::expand::expand,
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// The median of some timings.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn rate(insns: usize, t: Duration) -> String {
    format!("{:.2}M insn/s", insns as f64 / t.as_secs_f64() / 1e6)
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// "bpf_asm is 1.2x faster than rbpf (flow checks on)": how `ours`
/// compares with rbpf's time, one decimal.
fn versus(ours: Duration, rbpf: Duration, how: &str) -> String {
    let ratio = rbpf.as_secs_f64() / ours.as_secs_f64();
    if ratio >= 1.0 {
        format!("bpf_asm is {ratio:.1}x faster than rbpf ({how})")
    } else {
        format!("bpf_asm is {:.1}x slower than rbpf ({how})", 1.0 / ratio)
    }
}

/// Interleaved medians (ours, rbpf, ours again, ...), so machine noise hits
/// both sides alike, and the ratio stated plainly.
fn summary(inp: &Inputs) {
    let text = inp.text.as_str();
    let off = Assembler::new().flow_checks(false);
    let on = Assembler::new();
    let (mut t_off, mut t_on, mut t_rbpf, mut t_dis, mut t_exp) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SUMMARY_ROUNDS {
        t_off.push(time(|| off.assemble(black_box(text)).unwrap()));
        t_rbpf.push(time(|| rbpf::assembler::assemble(black_box(text)).unwrap()));
        if inp.flow_ok {
            t_on.push(time(|| on.assemble(black_box(text)).unwrap()));
        }
        t_dis.push(time(|| disassemble(black_box(&inp.insns))));
        let tokens = inp.macro_tokens.clone();
        t_exp.push(time(|| bpf_asm::expand::expand(tokens)));
    }
    let (off, rbpf) = (median(t_off), median(t_rbpf));
    let on = inp.flow_ok.then(|| median(t_on));
    println!();
    println!(
        "summary: medians of {SUMMARY_ROUNDS} interleaved runs, {ASM_INSNS} instructions, same text"
    );
    println!(
        "  bpf_asm, flow checks off: {:>9.2?}  {}",
        off,
        rate(ASM_INSNS, off)
    );
    if let Some(on) = on {
        println!(
            "  bpf_asm, flow checks on:  {:>9.2?}  {}",
            on,
            rate(ASM_INSNS, on)
        );
    } else {
        println!("  bpf_asm, flow checks on:  not measured (the flow checks reject the program)");
    }
    println!(
        "  rbpf:                     {:>9.2?}  {}",
        rbpf,
        rate(ASM_INSNS, rbpf)
    );
    println!("  {}", versus(off, rbpf, "flow checks off"));
    if let Some(on) = on {
        println!("  {}", versus(on, rbpf, "flow checks on"));
    }
    let dis = median(t_dis);
    println!(
        "  disassemble:              {:>9.2?}  {}",
        dis,
        rate(ASM_INSNS, dis)
    );
    let exp = median(t_exp);
    println!(
        "  expand ({MACRO_INSNS} insns):     {:>9.2?}  {}",
        exp,
        rate(MACRO_INSNS, exp)
    );
}

fn main() {
    let inp = inputs();
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    benches(&mut c, &inp);
    c.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    // Under `--profile-time` (a profiler run of one benchmark) the summary
    // would only blur the profile.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time") {
        summary(&inp);
    }
}
