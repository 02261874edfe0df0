//! Random valid programs: every form of the ISA table with random operands,
//! and branch targets that land on instruction starts.

#![allow(dead_code)]

use bpf_asm::Insn;
use bpf_asm::isa::{Form, ImmRule, Shape, isa};

/// Raw random material for one instruction.
pub(crate) type Seed = (usize, u8, u8, i16, i32, i32, usize);

fn reg(x: u8) -> u8 {
    x % 10 // r0..r9: never a write to r10
}

fn imm_for(f: &Form, imm: i32) -> i32 {
    match f.rule {
        ImmRule::Shift(max) => imm.rem_euclid(i32::from(max) + 1),
        ImmRule::Divisor(_) if imm == 0 => 1,
        _ => imm,
    }
}

/// The instruction(s) of the `form`-th usable form built from `seed`;
/// branch offsets are placeholders fixed by [`program`].
pub(crate) fn insn(seed: Seed) -> Vec<Insn> {
    let forms: Vec<&Form> = isa()
        .forms
        .iter()
        .filter(|f| f.shape != Shape::Raw)
        .collect();
    let (fi, a, b, off, imm, imm2, _) = seed;
    let f = forms[fi % forms.len()];
    let (d, s) = (reg(a), reg(b));
    let c = f.code;
    // Stack-relative accesses need a valid, aligned slot; avoid r10 bases.
    let base = |r: u8| r % 10;
    let one = |dst, src, off, imm| vec![Insn::new(c, dst, src, off, imm)];
    match f.shape {
        Shape::AluK => one(d, 0, f.off, imm_for(f, imm)),
        Shape::AluX | Shape::MovSx => one(d, s, f.off, 0),
        Shape::Unary => one(d, 0, 0, f.imm),
        Shape::AddrSpaceCast => one(d, s, f.off, imm),
        Shape::Lddw => {
            let (lo, hi) = match f.pseudo {
                "" | "map_idx_value" => (imm, imm2),
                "map_value" => (imm & i32::MAX, imm2),
                "map_fd" => (imm & i32::MAX, 0),
                _ => (imm, 0),
            };
            vec![Insn::new(c, d, f.src, 0, lo), Insn::new(0, 0, 0, 0, hi)]
        }
        Shape::LdAbs => one(0, 0, 0, imm),
        Shape::LdInd => one(0, s, 0, imm),
        Shape::Load => one(d, base(b), off, f.imm),
        Shape::StoreImm => one(base(a), 0, off, imm),
        Shape::StoreReg => one(base(a), s, off, f.imm),
        Shape::Ja => one(0, f.src, 0, 0),
        Shape::Ja32 => one(0, 0, 0, 0),
        Shape::JmpK => one(d, 0, 0, imm),
        Shape::JmpX => one(d, s, 0, 0),
        Shape::Call => {
            let helpers = bpf_sys::HELPERS;
            one(
                0,
                0,
                0,
                helpers[imm.unsigned_abs() as usize % helpers.len()].1 as i32,
            )
        }
        Shape::CallLocal => one(0, f.src, 0, 0),
        Shape::CallKfunc => one(0, f.src, 0, imm),
        Shape::Exit => one(0, 0, 0, 0),
        Shape::Raw => unreachable!(),
    }
}

/// A program from seeds, with each branch aimed at a random instruction
/// start (seed's last element).
pub(crate) fn program(seeds: &[Seed]) -> Vec<Insn> {
    let mut insns = Vec::new();
    let mut starts = Vec::new();
    for &seed in seeds {
        starts.push(insns.len());
        insns.extend(insn(seed));
    }
    let mut slot = 0;
    for (i, &seed) in seeds.iter().enumerate() {
        let first = insns[slot];
        let d = bpf_asm::disasm::decode(&insns[slot..]).expect("decodes");
        let len = d.len();
        if let Some(f) = d.form {
            let dest = starts[seed.6 % starts.len()] as i64;
            let rel = dest - slot as i64 - 1;
            let patched = match (f.shape, f.pseudo) {
                (Shape::Ja | Shape::JmpK | Shape::JmpX, _) => Some(Insn::new(
                    first.code(),
                    first.dst(),
                    first.src(),
                    rel as i16,
                    first.imm(),
                )),
                (Shape::Ja32 | Shape::CallLocal, _) | (Shape::Lddw, "func") => {
                    Some(first.with_imm(rel as i32))
                }
                _ => None,
            };
            if let Some(p) = patched {
                insns[slot] = p;
            }
        }
        let _ = i;
        slot += len;
    }
    insns
}
