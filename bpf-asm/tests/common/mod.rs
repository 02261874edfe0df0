//! Random valid programs: every form of the ISA table with random operands,
//! and branch targets that land on instruction starts.

#![allow(dead_code)]

use bpf_asm::Insn;
use bpf_asm::isa::{Fld, Form, ImmRule, Op, Opnd, PseudoArg, isa};

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

/// The instruction(s) of the `form`-th usable form built from `seed`, each
/// operand from the field its row names; branch offsets are placeholders
/// fixed by [`program`].
pub(crate) fn insn(seed: Seed) -> Vec<Insn> {
    let forms: Vec<&Form> = isa().forms.iter().filter(|f| f.op != Op::Raw).collect();
    let (fi, a, b, off, imm, imm2, _) = seed;
    let f = forms[fi % forms.len()];
    let (mut dst, mut src, mut o, mut m, mut hi) = (0, f.src, f.off, f.imm, 0);
    for op in f.operands {
        match *op {
            Opnd::Dst => dst = reg(a),
            Opnd::Src => src = reg(b),
            Opnd::Imm => m = imm_for(f, imm),
            // Stack-relative accesses need a valid, aligned slot; avoid r10 bases.
            Opnd::Mem(Fld::Dst) => (dst, o) = (reg(a), off),
            Opnd::Mem(_) => (src, o) = (reg(b), off),
            Opnd::Target(_) => {}
            Opnd::Helper => {
                let helpers = bpf_sys::HELPERS;
                m = helpers[imm.unsigned_abs() as usize % helpers.len()].1 as i32;
            }
            Opnd::Imm64 => match f.pseudo() {
                None => (m, hi) = (imm, imm2),
                Some(p) => {
                    for arg in p.args() {
                        match arg {
                            PseudoArg::Map => m = imm & i32::MAX,
                            PseudoArg::Num(false, _) => m = imm,
                            PseudoArg::Num(true, _) => hi = imm2,
                            PseudoArg::Target => {}
                        }
                    }
                }
            },
            Opnd::AsDst | Opnd::AsSrc => m = imm,
            Opnd::Raw(_) => unreachable!("raw is not generated"),
        }
    }
    let first = Insn::new(f.code, dst, src, o, m);
    if f.slots() == 2 {
        vec![first, Insn::new(0, 0, 0, 0, hi)]
    } else {
        vec![first]
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
    for &seed in seeds {
        let first = insns[slot];
        let d = bpf_asm::disasm::decode(&insns[slot..]).expect("decodes");
        let len = d.len();
        if let Some(field) = d.form.and_then(Form::target_field) {
            let dest = starts[seed.6 % starts.len()] as i64;
            let rel = dest - slot as i64 - 1;
            insns[slot] = match field {
                Fld::Off => Insn::new(
                    first.code(),
                    first.dst(),
                    first.src(),
                    rel as i16,
                    first.imm(),
                ),
                _ => first.with_imm(rel as i32),
            };
        }
        slot += len;
    }
    insns
}
