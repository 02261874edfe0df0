//! The interpreter against the kernel: random programs the verifier accepts
//! by construction (scalars only, every register and stack slot written
//! first, forward jumps only), run with `BPF_PROG_TEST_RUN` and on the
//! interpreter on the same random packets; any disagreement is printed as
//! a minimal program.
//!
//! Bounded by count (`VM_DIFF_PROGRAMS`, default 10,000 programs, 4 packets
//! each) so a CI run stays short. Needs privileges for the kernel half.

mod common;

use bpf_loader::vm::{SkBuff, Vm};
use bpf_loader::{Insn, Program};
use bpf_sys as k;
use common::Rng;

/// Immediates that find edge cases: small, boundaries, random.
fn imm(r: &mut Rng) -> i32 {
    match r.below(4) {
        0 => r.below(16) as i32 - 8,
        1 => r.pick(&[0, 1, -1, i32::MIN, i32::MAX, 0x7fff, 0x8000, 0xffff, 63, 64]),
        _ => r.next() as i32,
    }
}

const fn c(x: u32) -> u8 {
    x as u8
}

/// The registers programs compute with: r6 holds the context for the
/// legacy loads, which clobber r1-r5.
const REGS: [u8; 4] = [0, 7, 8, 9];
const ALU_OPS: [u32; 12] = [
    k::BPF_ADD,
    k::BPF_SUB,
    k::BPF_MUL,
    k::BPF_DIV,
    k::BPF_OR,
    k::BPF_AND,
    k::BPF_LSH,
    k::BPF_RSH,
    k::BPF_MOD,
    k::BPF_XOR,
    k::BPF_MOV,
    k::BPF_ARSH,
];
const JMP_OPS: [u32; 11] = [
    k::BPF_JEQ,
    k::BPF_JGT,
    k::BPF_JGE,
    k::BPF_JSET,
    k::BPF_JNE,
    k::BPF_JSGT,
    k::BPF_JSGE,
    k::BPF_JLT,
    k::BPF_JLE,
    k::BPF_JSLT,
    k::BPF_JSLE,
];
/// Stack slots written by the prologue: -8 to -64.
const SLOTS: i16 = 8;

/// One body instruction (or two, for `lddw`); jump offsets are fixed by
/// `program`, which knows where the body ends.
fn body_insn(r: &mut Rng, out: &mut Vec<Insn>) {
    let d = r.pick(&REGS);
    let s = r.pick(&REGS);
    match r.below(16) {
        0..=5 => {
            let wide = r.below(2) == 0;
            let class = if wide { k::BPF_ALU64 } else { k::BPF_ALU };
            let op = r.pick(&ALU_OPS);
            let signed = matches!(op, k::BPF_DIV | k::BPF_MOD) && r.below(3) == 0;
            let off = i16::from(signed);
            if r.below(2) == 0 {
                out.push(Insn::new(c(class | op | k::BPF_X), d, s, off, 0));
            } else {
                let mut imm = imm(r);
                if matches!(op, k::BPF_LSH | k::BPF_RSH | k::BPF_ARSH) {
                    imm = imm.rem_euclid(if wide { 64 } else { 32 });
                }
                if matches!(op, k::BPF_DIV | k::BPF_MOD) && imm == 0 {
                    imm = 3;
                }
                out.push(Insn::new(c(class | op | k::BPF_K), d, 0, off, imm));
            }
        }
        6 => {
            let (class, src, width) = match r.below(3) {
                0 => (k::BPF_ALU, k::BPF_TO_LE, r.pick(&[16, 32, 64])),
                1 => (k::BPF_ALU, k::BPF_TO_BE, r.pick(&[16, 32, 64])),
                _ => (k::BPF_ALU64, k::BPF_TO_LE, r.pick(&[16, 32, 64])),
            };
            out.push(Insn::new(c(class | k::BPF_END | src), d, 0, 0, width));
        }
        7 => {
            let wide = r.below(2) == 0;
            let bits = r.pick(if wide { &[8, 16, 32][..] } else { &[8, 16][..] });
            let class = if wide { k::BPF_ALU64 } else { k::BPF_ALU };
            out.push(Insn::new(c(class | k::BPF_MOV | k::BPF_X), d, s, bits, 0));
        }
        8 => {
            let class = if r.below(2) == 0 {
                k::BPF_ALU64
            } else {
                k::BPF_ALU
            };
            out.push(Insn::new(c(class | k::BPF_NEG | k::BPF_K), d, 0, 0, 0));
        }
        9 => {
            // A load of a written stack slot, sign-extending or not.
            let size = r.pick(&[k::BPF_B, k::BPF_H, k::BPF_W, k::BPF_DW]);
            let bytes = match size {
                k::BPF_B => 1,
                k::BPF_H => 2,
                k::BPF_W => 4,
                _ => 8,
            };
            let slot = -8 * (1 + r.below(SLOTS as u64) as i16);
            let off = slot + (r.below(8 / bytes) as i16) * bytes as i16;
            let mode = if size != k::BPF_DW && r.below(2) == 0 {
                k::BPF_MEMSX
            } else {
                k::BPF_MEM
            };
            out.push(Insn::new(c(k::BPF_LDX | mode | size), d, 10, off, 0));
        }
        10 => {
            let off = -8 * (1 + r.below(SLOTS as u64) as i16);
            if r.below(2) == 0 {
                out.push(Insn::new(
                    c(k::BPF_STX | k::BPF_MEM | k::BPF_DW),
                    10,
                    s,
                    off,
                    0,
                ));
            } else {
                // An atomic, 64- or 32-bit, with or without fetch.
                let (size, off) = if r.below(2) == 0 {
                    (k::BPF_DW, off)
                } else {
                    (k::BPF_W, off + 4 * r.below(2) as i16)
                };
                let imm = r.pick(&[
                    k::BPF_ADD,
                    k::BPF_OR,
                    k::BPF_AND,
                    k::BPF_XOR,
                    k::BPF_ADD | k::BPF_FETCH,
                    k::BPF_OR | k::BPF_FETCH,
                    k::BPF_AND | k::BPF_FETCH,
                    k::BPF_XOR | k::BPF_FETCH,
                    k::BPF_XCHG,
                    k::BPF_CMPXCHG,
                ]);
                let s = if imm == k::BPF_CMPXCHG {
                    r.pick(&[7, 8, 9])
                } else {
                    s
                };
                out.push(Insn::new(
                    c(k::BPF_STX | k::BPF_ATOMIC | size),
                    10,
                    s,
                    off,
                    imm as i32,
                ));
            }
        }
        11 => {
            // A legacy load, in or past the packet.
            let size = r.pick(&[k::BPF_B, k::BPF_H, k::BPF_W]);
            if r.below(2) == 0 {
                // Offsets in and past the data, and relative to the network
                // (`SKF_NET_OFF`) and link-layer (`SKF_LL_OFF`) headers.
                let imm = match r.below(4) {
                    0 => -0x10_0000 + r.below(40) as i32,
                    1 => -0x20_0000 + r.below(40) as i32,
                    _ => r.below(80) as i32,
                };
                out.push(Insn::new(c(k::BPF_LD | k::BPF_ABS | size), 0, 0, 0, imm));
            } else {
                out.push(Insn::new(c(k::BPF_ALU | k::BPF_MOV | k::BPF_X), 2, s, 0, 0));
                out.push(Insn::new(
                    c(k::BPF_ALU | k::BPF_AND | k::BPF_K),
                    2,
                    0,
                    0,
                    63,
                ));
                out.push(Insn::new(
                    c(k::BPF_LD | k::BPF_IND | size),
                    0,
                    2,
                    0,
                    r.below(24) as i32,
                ));
            }
        }
        12 => {
            let lo = r.next() as i32;
            let hi = r.next() as i32;
            out.push(Insn::new(
                c(k::BPF_LD | k::BPF_IMM | k::BPF_DW),
                d,
                0,
                0,
                lo,
            ));
            out.push(Insn::new(0, 0, 0, 0, hi));
        }
        _ => {
            // A forward conditional jump; its offset is a placeholder.
            let class = if r.below(2) == 0 {
                k::BPF_JMP
            } else {
                k::BPF_JMP32
            };
            let op = r.pick(&JMP_OPS);
            let x = r.below(2) == 0;
            let code = c(class | op | if x { k::BPF_X } else { k::BPF_K });
            let (src, imm) = if x { (s, 0) } else { (0, imm(r)) };
            out.push(Insn::new(code, d, src, i16::MAX, imm));
        }
    }
}

/// A whole program: a prologue writing every register and stack slot used,
/// the body, `exit`; each placeholder jump aimed at a random later
/// instruction start (or the final `exit`).
fn program(r: &mut Rng, body_len: usize) -> Vec<Insn> {
    let mut p = vec![Insn::new(
        c(k::BPF_ALU64 | k::BPF_MOV | k::BPF_X),
        6,
        1,
        0,
        0,
    )];
    for reg in REGS {
        p.push(Insn::new(
            c(k::BPF_ALU64 | k::BPF_MOV | k::BPF_K),
            reg,
            0,
            0,
            imm(r),
        ));
    }
    for i in 1..=SLOTS {
        p.push(Insn::new(
            c(k::BPF_ST | k::BPF_MEM | k::BPF_DW),
            10,
            0,
            -8 * i,
            imm(r),
        ));
    }
    let mut starts = Vec::new();
    for _ in 0..body_len {
        starts.push(p.len());
        body_insn(r, &mut p);
    }
    let exit = p.len();
    starts.push(exit);
    p.push(Insn::new(c(k::BPF_JMP | k::BPF_EXIT), 0, 0, 0, 0));
    for (i, x) in p.iter_mut().enumerate() {
        let class = x.code() & 7;
        if x.off() == i16::MAX && (class == c(k::BPF_JMP) || class == c(k::BPF_JMP32)) {
            let later: Vec<usize> = starts.iter().copied().filter(|&s| s > i).collect();
            let dest = later[r.below(later.len() as u64) as usize];
            *x = Insn::new(x.code(), x.dst(), x.src(), (dest - i - 1) as i16, x.imm());
        }
    }
    p
}

/// A random frame: IPv4 ethertype, random bytes, random length.
fn packet(r: &mut Rng) -> Vec<u8> {
    let len = 14 + 20 + r.below(48) as usize;
    let mut f: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
    f[12] = 0x08;
    f[13] = 0;
    f
}

/// Replaces body instructions with no-ops (`ja +0`) while the disagreement
/// stays, and returns what is left.
fn minimise(insns: &[Insn], frame: &[u8], disagree: &dyn Fn(&[Insn], &[u8]) -> bool) -> Vec<Insn> {
    let nop = Insn::new(c(k::BPF_JMP | k::BPF_JA), 0, 0, 0, 0);
    let mut p = insns.to_vec();
    let mut i = 0;
    while i + 1 < p.len() {
        let lddw = p[i].code() == c(k::BPF_LD | k::BPF_IMM | k::BPF_DW);
        let mut q = p.clone();
        q[i] = nop;
        if lddw {
            q[i + 1] = nop;
        }
        if disagree(&q, frame) {
            p = q;
        }
        i += if lddw { 2 } else { 1 };
    }
    p
}

#[test]
fn interpreter_agrees_with_the_kernel() {
    if !common::kernel() {
        return;
    }
    let programs: usize = std::env::var("VM_DIFF_PROGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut r = Rng(0x5eed_1234_abcd_ef01);
    let (mut loaded, mut runs) = (0, 0);
    let kernel_r0 = |insns: &[Insn], frame: &[u8]| -> Option<u32> {
        let prog = bpf_loader::load(&Program::from_insns(insns.to_vec())).ok()?;
        prog.test_run(frame, 1).ok().map(|t| t.retval)
    };
    let vm_r0 = |insns: &[Insn], frame: &[u8]| -> Result<u32, String> {
        let prog = Program::from_insns(insns.to_vec());
        let mut vm = Vm::new(&prog).map_err(|e| e.to_string())?;
        vm.run(&SkBuff::test_run(frame))
            .map(|r0| r0 as u32)
            .map_err(|e| e.to_string())
    };
    for _ in 0..programs {
        let len = 4 + r.below(36) as usize;
        let insns = program(&mut r, len);
        let prog = match bpf_loader::load(&Program::from_insns(insns.clone())) {
            Ok(p) => p,
            Err(e) => {
                if std::env::var_os("VM_DIFF_SHOW").is_some() {
                    eprintln!("{}\n{e}", bpf_asm::disassemble(&insns));
                }
                continue;
            }
        };
        loaded += 1;
        for _ in 0..4 {
            let frame = packet(&mut r);
            let kernel = prog.test_run(&frame, 1).expect("test run").retval;
            let vm = vm_r0(&insns, &frame);
            runs += 1;
            if vm != Ok(kernel) {
                let disagree = |p: &[Insn], f: &[u8]| match kernel_r0(p, f) {
                    Some(k) => vm_r0(p, f) != Ok(k),
                    None => false,
                };
                let min = minimise(&insns, &frame, &disagree);
                let text = bpf_asm::disassemble(&min);
                let text: Vec<&str> = text.lines().filter(|l| l.trim() != "ja +0").collect();
                panic!(
                    "kernel r0 = {:?}, interpreter {:?}, on frame {frame:02x?}\nminimal program:\n{}",
                    kernel_r0(&min, &frame),
                    vm_r0(&min, &frame),
                    text.join("\n")
                );
            }
        }
    }
    eprintln!("{loaded} of {programs} random programs loaded; {runs} runs agreed");
    assert!(
        loaded * 10 >= programs * 9,
        "only {loaded} of {programs} programs loaded"
    );
}
