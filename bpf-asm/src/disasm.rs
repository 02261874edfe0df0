//! Instructions to text, through the same ISA table: the canonical mnemonic
//! spelling (which assembles back to the same bytes) and the LLVM/kernel
//! pseudo-C spelling.
//!
//! A slot that no form describes, or that the assembler would refuse (a
//! shift by 64, a jump out of the program, ...), prints as `raw`, so every
//! byte sequence round-trips.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::Insn;
use crate::isa::{Form, ImmRule, Shape, isa};

/// One decoded instruction: its form (if valid) and the slots it spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'f> {
    /// The form, or `None` for a slot printed as `raw`.
    pub form: Option<&'f Form>,
    /// The first slot.
    pub insn: Insn,
    /// The second slot of an `lddw`.
    pub next: Option<Insn>,
}

impl Decoded<'_> {
    /// Slots taken: 2 for `lddw`, else 1.
    pub fn len(&self) -> usize {
        1 + usize::from(self.next.is_some())
    }

    /// Always false: a decoded instruction spans at least one slot.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The 64-bit value of an `lddw` constant, or the second slot's imm.
    fn imm64(&self) -> i64 {
        let hi = self.next.map_or(0, |n| n.imm());
        (i64::from(hi) << 32) | i64::from(self.insn.imm() as u32)
    }
}

/// Decodes the instruction at `slots[0]` (and `slots[1]` for `lddw`).
pub fn decode(slots: &[Insn]) -> Option<Decoded<'static>> {
    let insn = *slots.first()?;
    let raw = Decoded {
        form: None,
        insn,
        next: None,
    };
    let isa = isa();
    for &i in isa.by_code(insn.code()) {
        let f = &isa.forms[i];
        if !fixed_fields_match(f, &insn) {
            continue;
        }
        if f.shape == Shape::Lddw {
            let Some(&next) = slots.get(1) else {
                return Some(raw);
            };
            let next_ok = next.code() == 0 && next.dst() == 0 && next.src() == 0 && next.off() == 0;
            let next_free = matches!(f.pseudo, "" | "map_value" | "map_idx_value");
            let fd_ok = !matches!(f.pseudo, "map_fd" | "map_value") || insn.imm() >= 0;
            if !next_ok || !fd_ok || (!next_free && next.imm() != 0) || insn.dst() > 9 {
                return Some(raw);
            }
            return Some(Decoded {
                form: Some(f),
                insn,
                next: Some(next),
            });
        }
        return Some(if assembler_accepts(f, &insn) {
            Decoded {
                form: Some(f),
                insn,
                next: None,
            }
        } else {
            raw
        });
    }
    Some(raw)
}

/// Whether the fields the form fixes hold the form's values.
fn fixed_fields_match(f: &Form, i: &Insn) -> bool {
    let (d, s, o, m) = (i.dst(), i.src(), i.off(), i.imm());
    let regs_ok = d <= 10 && s <= 10;
    regs_ok
        && match f.shape {
            Shape::AluK => s == 0 && o == f.off,
            Shape::AluX | Shape::MovSx => m == 0 && o == f.off,
            Shape::Unary => s == 0 && o == 0 && m == f.imm,
            Shape::AddrSpaceCast => o == f.off,
            Shape::Lddw => s == f.src && o == 0,
            Shape::LdAbs => d == 0 && s == 0 && o == 0,
            Shape::LdInd => d == 0 && o == 0,
            Shape::Load | Shape::StoreReg => m == f.imm,
            Shape::StoreImm => s == 0,
            Shape::Ja => d == 0 && s == f.src && m == 0,
            Shape::Ja32 => d == 0 && s == 0 && o == 0,
            Shape::JmpK => s == 0,
            Shape::JmpX => m == 0,
            Shape::Call | Shape::CallLocal | Shape::CallKfunc => d == 0 && s == f.src && o == 0,
            Shape::Exit => d == 0 && s == 0 && o == 0 && m == 0,
            Shape::Raw => false,
        }
}

/// The per-instruction rules the assembler enforces beyond the encoding.
fn assembler_accepts(f: &Form, i: &Insn) -> bool {
    let writes_r10 = match f.shape {
        Shape::AluK
        | Shape::AluX
        | Shape::MovSx
        | Shape::Unary
        | Shape::AddrSpaceCast
        | Shape::Load => i.dst() == 10,
        Shape::StoreReg => f.writes_src() && i.src() == 10,
        _ => false,
    };
    if writes_r10 {
        return false;
    }
    let imm = i64::from(i.imm());
    let imm_ok = match (f.shape, f.rule) {
        (Shape::AluK, ImmRule::Shift(max)) => (0..=i64::from(max)).contains(&imm),
        (Shape::AluK, ImmRule::Divisor(_)) => imm != 0,
        (Shape::AddrSpaceCast, _) => true,
        (Shape::Call, _) => u32::try_from(imm)
            .ok()
            .and_then(bpf_sys::helper_name)
            .is_some(),
        _ => true,
    };
    let base = match f.shape {
        Shape::Load => Some(i.src()),
        Shape::StoreImm | Shape::StoreReg => Some(i.dst()),
        _ => None,
    };
    let stack_ok = base != Some(10) || {
        let size = f.access_size();
        let o = i64::from(i.off());
        o >= -512 && o + size <= 0 && o % size == 0
    };
    imm_ok && stack_ok
}

/// Where a control-transfer instruction goes: slot offset relative to the
/// next slot.
fn branch_offset(d: &Decoded<'_>) -> Option<i64> {
    let f = d.form?;
    match f.shape {
        Shape::Ja | Shape::JmpK | Shape::JmpX => Some(i64::from(d.insn.off())),
        Shape::Ja32 | Shape::CallLocal => Some(i64::from(d.insn.imm())),
        Shape::Lddw if f.pseudo == "func" => Some(i64::from(d.insn.imm())),
        _ => None,
    }
}

/// Which printer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Mnemonic,
    PseudoC,
}

/// Disassembles a whole program in the canonical mnemonic spelling, with
/// labels (`l<slot>`) at jump targets. The text assembles back to the same
/// bytes (flow checks aside).
///
/// ```
/// let prog = bpf_asm::assemble("mov r0, 0\njeq r1, 0, out\nmov r0, 1\nout: exit").unwrap();
/// assert_eq!(
///     bpf_asm::disassemble(prog.insns()),
///     "    mov r0, 0\n    jeq r1, 0, l3\n    mov r0, 1\nl3:\n    exit\n"
/// );
/// ```
pub fn disassemble(insns: &[Insn]) -> String {
    print_program(insns, Syntax::Mnemonic)
}

/// Disassembles a whole program in LLVM's pseudo-C spelling (the form
/// `llvm-objdump` and, nearly, the verifier log use). Forms LLVM cannot
/// write print in the kernel log's spelling (`call pc+5`) or as `.8byte`.
///
/// ```
/// let prog = bpf_asm::assemble("mov r0, -1\nexit").unwrap();
/// assert_eq!(bpf_asm::disassemble_pseudo_c(prog.insns()), "    r0 = -1\n    exit\n");
/// ```
pub fn disassemble_pseudo_c(insns: &[Insn]) -> String {
    print_program(insns, Syntax::PseudoC)
}

fn print_program(insns: &[Insn], syntax: Syntax) -> String {
    let decoded = decode_program(insns);
    let mut labels = BTreeMap::new();
    for &(slot, d) in &decoded {
        if let Some(off) = branch_offset(&d) {
            let dest = slot as i64 + off + 1;
            labels.insert(dest as usize, format!("l{dest}"));
        }
    }
    let mut out = String::with_capacity(insns.len() * 24);
    for (slot, d) in &decoded {
        if let Some(name) = labels.get(slot) {
            let _ = writeln!(out, "{name}:");
        }
        out.push_str("    ");
        let target = branch_offset(d)
            .map(|off| *slot as i64 + off + 1)
            .and_then(|dest| labels.get(&(dest as usize)))
            .map(String::as_str);
        let _ = write_insn(&mut out, d, target, syntax);
        out.push('\n');
    }
    out
}

/// Decodes a whole program with each instruction's first slot. Branches
/// whose target is outside the program or inside an `lddw` become `raw`
/// (the assembler would refuse them), an `lddw` turning into two raw slots.
pub fn decode_program(insns: &[Insn]) -> Vec<(usize, Decoded<'static>)> {
    let mut decoded = Vec::with_capacity(insns.len());
    let mut starts = vec![false; insns.len() + 1];
    let mut i = 0;
    while let Some(d) = decode(&insns[i..]) {
        starts[i] = true;
        decoded.push((i, d));
        i += d.len();
    }
    let bad_target = |slot: usize, d: &Decoded<'_>| {
        branch_offset(d).is_some_and(|off| {
            let dest = slot as i64 + off + 1;
            !(dest >= 0 && (dest as usize) < insns.len() && starts[dest as usize])
        })
    };
    if !decoded.iter().any(|(slot, d)| bad_target(*slot, d)) {
        return decoded;
    }
    let mut out = Vec::with_capacity(decoded.len() + 1);
    for (slot, d) in decoded {
        if !bad_target(slot, &d) {
            out.push((slot, d));
            continue;
        }
        out.push((
            slot,
            Decoded {
                form: None,
                insn: d.insn,
                next: None,
            },
        ));
        if let Some(next) = d.next {
            out.push((
                slot + 1,
                Decoded {
                    form: None,
                    insn: next,
                    next: None,
                },
            ));
        }
    }
    out
}

/// One instruction in the mnemonic spelling, with numeric targets.
///
/// ```
/// let insn = bpf_asm::Insn::new(0x15, 1, 0, 2, -5);
/// assert_eq!(bpf_asm::insn_to_string(&[insn]), "jeq r1, -5, +2");
/// ```
pub fn insn_to_string(slots: &[Insn]) -> String {
    let mut s = String::new();
    if let Some(d) = decode(slots) {
        let _ = write_insn(&mut s, &d, None, Syntax::Mnemonic);
    }
    s
}

/// One instruction in pseudo-C, with numeric targets.
///
/// ```
/// let insn = bpf_asm::Insn::new(0x07, 1, 0, 0, -3);
/// assert_eq!(bpf_asm::insn_to_pseudo_c(&[insn]), "r1 += -3");
/// ```
pub fn insn_to_pseudo_c(slots: &[Insn]) -> String {
    let mut s = String::new();
    if let Some(d) = decode(slots) {
        let _ = write_insn(&mut s, &d, None, Syntax::PseudoC);
    }
    s
}

impl fmt::Display for Insn {
    /// The mnemonic spelling; an `lddw` alone shows its first slot as `raw`
    /// (use [`insn_to_string`] with both slots).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&insn_to_string(std::slice::from_ref(self)))
    }
}

fn rel(off: i64) -> String {
    if off < 0 {
        off.to_string()
    } else {
        format!("+{off}")
    }
}

fn mem(reg: u8, off: i16) -> String {
    if off < 0 {
        format!("[r{reg} - {}]", off.unsigned_abs())
    } else {
        format!("[r{reg} + {off}]")
    }
}

fn cmem(reg: u8, off: i16) -> String {
    if off < 0 {
        format!("r{reg} - {}", off.unsigned_abs())
    } else {
        format!("r{reg} + {off}")
    }
}

fn num64(v: i64) -> String {
    if v < 0x10000 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

fn write_insn(
    out: &mut String,
    d: &Decoded<'_>,
    target: Option<&str>,
    syntax: Syntax,
) -> fmt::Result {
    let i = &d.insn;
    let Some(f) = d.form else {
        return match syntax {
            Syntax::Mnemonic => write!(
                out,
                "raw {:#04x}, {}, {}, {}, {}",
                i.code(),
                i.dst(),
                i.src(),
                i.off(),
                i.imm()
            ),
            Syntax::PseudoC => write!(out, ".8byte {:#018x}", u64::from_le_bytes(i.to_bytes())),
        };
    };
    let tgt = |off: i64| target.map_or_else(|| rel(off), str::to_owned);
    let (dst, src, off, imm) = (i.dst(), i.src(), i.off(), i.imm());
    match syntax {
        Syntax::Mnemonic => match f.shape {
            Shape::AluK => write!(out, "{} r{dst}, {imm}", f.name),
            Shape::AluX | Shape::MovSx => write!(out, "{} r{dst}, r{src}", f.name),
            Shape::Unary => write!(out, "{} r{dst}", f.name),
            Shape::AddrSpaceCast => write!(
                out,
                "{} r{dst}, r{src}, {}, {}",
                f.name,
                (imm as u32) >> 16,
                imm as u32 & 0xffff
            ),
            Shape::Lddw => {
                let next = d.next.map_or(0, |n| n.imm());
                match f.pseudo {
                    "" => write!(out, "lddw r{dst}, {}", num64(d.imm64())),
                    "map_value" | "map_idx_value" => {
                        write!(out, "lddw r{dst}, {}({imm}, {next})", f.pseudo)
                    }
                    "func" => write!(out, "lddw r{dst}, func({})", tgt(i64::from(imm))),
                    p => write!(out, "lddw r{dst}, {p}({imm})"),
                }
            }
            Shape::LdAbs => write!(out, "{} {imm}", f.name),
            Shape::LdInd => write!(out, "{} r{src}, {imm}", f.name),
            Shape::Load => write!(out, "{} r{dst}, {}", f.name, mem(src, off)),
            Shape::StoreImm => write!(out, "{} {}, {imm}", f.name, mem(dst, off)),
            Shape::StoreReg => write!(out, "{} {}, r{src}", f.name, mem(dst, off)),
            Shape::Ja => write!(out, "{} {}", f.name, tgt(i64::from(off))),
            Shape::Ja32 | Shape::CallLocal => write!(out, "{} {}", f.name, tgt(i64::from(imm))),
            Shape::JmpK => write!(out, "{} r{dst}, {imm}, {}", f.name, tgt(i64::from(off))),
            Shape::JmpX => write!(out, "{} r{dst}, r{src}, {}", f.name, tgt(i64::from(off))),
            Shape::Call => match u32::try_from(imm).ok().and_then(bpf_sys::helper_name) {
                Some(name) => write!(out, "call {name}"),
                None => write!(out, "call {imm}"),
            },
            Shape::CallKfunc => write!(out, "call kfunc {imm}"),
            Shape::Exit => out.write_str("exit"),
            Shape::Raw => Ok(()),
        },
        Syntax::PseudoC => {
            let r = |n: u8| {
                if f.wide {
                    format!("r{n}")
                } else {
                    format!("w{n}")
                }
            };
            match f.shape {
                Shape::AluK => write!(out, "{} {} {imm}", r(dst), f.op),
                Shape::AluX => write!(out, "{} {} {}", r(dst), f.op, r(src)),
                Shape::MovSx => write!(out, "{} = (s{}){}", r(dst), off, r(src)),
                Shape::Unary if f.op == "-" => write!(out, "{} = -{}", r(dst), r(dst)),
                Shape::Unary => write!(out, "r{dst} = {} r{dst}", f.op),
                Shape::AddrSpaceCast => write!(
                    out,
                    "r{dst} = addr_space_cast(r{src}, {}, {})",
                    (imm as u32) >> 16,
                    imm as u32 & 0xffff
                ),
                Shape::Lddw => {
                    let next = d.next.map_or(0, |n| n.imm());
                    match f.pseudo {
                        "" => write!(out, "r{dst} = {} ll", d.imm64()),
                        "func" if target.is_some() => {
                            write!(out, "r{dst} = func({}) ll", tgt(i64::from(imm)))
                        }
                        _ if next == 0 => write!(out, "ld_pseudo r{dst}, {}, {imm}", f.src),
                        p => write!(out, "r{dst} = {p}({imm}, {next}) ll"),
                    }
                }
                Shape::LdAbs => write!(out, "r0 = *({} *)skb[{imm}]", f.op),
                Shape::LdInd if imm == 0 => write!(out, "r0 = *({} *)skb[r{src}]", f.op),
                Shape::LdInd => write!(out, "r0 = *({} *)skb[r{src} + {imm}]", f.op),
                Shape::Load if f.imm != 0 => write!(
                    out,
                    "{} = load_acquire(({} *)({}))",
                    r(dst),
                    f.op,
                    cmem(src, off)
                ),
                Shape::Load => {
                    let reg = if f.op.starts_with('s') || f.wide {
                        format!("r{dst}")
                    } else {
                        format!("w{dst}")
                    };
                    write!(out, "{reg} = *({} *)({})", f.op, cmem(src, off))
                }
                Shape::StoreImm => write!(out, "*({} *)({}) = {imm}", f.op, cmem(dst, off)),
                Shape::StoreReg => {
                    let m = cmem(dst, off);
                    let ty = if f.wide { "u64" } else { "u32" };
                    match f.name.rsplit(' ').next().unwrap_or("") {
                        _ if f.imm == bpf_sys::BPF_STORE_REL as i32 => {
                            write!(out, "store_release(({} *)({m}), {})", f.op, r(src))
                        }
                        _ if !f.name.starts_with("lock") => {
                            write!(out, "*({} *)({m}) = {}", f.op, r(src))
                        }
                        n if n.starts_with("cmpxchg") => {
                            let suffix = if f.wide { "_64" } else { "32_32" };
                            write!(out, "{} = cmpxchg{suffix}({m}, {}, {})", r(0), r(0), r(src))
                        }
                        n if n.starts_with("xchg") => {
                            let suffix = if f.wide { "_64" } else { "32_32" };
                            write!(out, "{} = xchg{suffix}({m}, {})", r(src), r(src))
                        }
                        _ if f.name.contains("fetch") => {
                            write!(out, "{} = {}(({ty} *)({m}), {})", r(src), f.op, r(src))
                        }
                        _ => write!(out, "lock *({ty} *)({m}) {} {}", f.op, r(src)),
                    }
                }
                Shape::Ja if f.name == "may_goto" => {
                    write!(out, "may_goto {}", tgt(i64::from(off)))
                }
                Shape::Ja => write!(out, "goto {}", tgt(i64::from(off))),
                Shape::Ja32 => write!(out, "gotol {}", tgt(i64::from(imm))),
                Shape::JmpK => write!(
                    out,
                    "if {} {} {imm} goto {}",
                    r(dst),
                    f.op,
                    tgt(i64::from(off))
                ),
                Shape::JmpX => write!(
                    out,
                    "if {} {} {} goto {}",
                    r(dst),
                    f.op,
                    r(src),
                    tgt(i64::from(off))
                ),
                Shape::Call => write!(out, "call {imm}"),
                Shape::CallLocal => match target {
                    Some(t) => write!(out, "call {t}"),
                    None => write!(out, "call pc{}", rel(i64::from(imm))),
                },
                Shape::CallKfunc => write!(out, "call kfunc({imm})"),
                Shape::Exit => out.write_str("exit"),
                Shape::Raw => Ok(()),
            }
        }
    }
}
