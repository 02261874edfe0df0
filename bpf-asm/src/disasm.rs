//! Instructions to text, through the same ISA table: the canonical mnemonic
//! spelling (which assembles back to the same bytes) and the LLVM/kernel
//! pseudo-C spelling.
//!
//! A slot that no form describes, or that the assembler would refuse (a
//! shift by 64, a jump out of the program, ...), prints as `raw`, so every
//! byte sequence round-trips.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::isa::{Fld, Form, Opnd, Pseudo, PseudoArg, isa};
use crate::rules;
use crate::{Insn, MapReloc};

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
        let next = if f.slots() == 2 {
            match slots.get(1) {
                Some(n) if n.code() == 0 && n.dst() == 0 && n.src() == 0 && n.off() == 0 => {
                    Some(*n)
                }
                _ => return Some(raw),
            }
        } else {
            None
        };
        return Some(if rules::accepts(f, &insn, next.as_ref()) {
            Decoded {
                form: Some(f),
                insn,
                next,
            }
        } else {
            raw
        });
    }
    Some(raw)
}

/// Whether the fields no operand fills hold the form's values (and the
/// register fields name registers).
fn fixed_fields_match(f: &Form, i: &Insn) -> bool {
    let fixed = |fld: Fld, have: i64, want: i64| f.fills(fld) || have == want;
    i.dst() <= 10
        && i.src() <= 10
        && fixed(Fld::Dst, i64::from(i.dst()), 0)
        && fixed(Fld::Src, i64::from(i.src()), i64::from(f.src))
        && fixed(Fld::Off, i64::from(i.off()), i64::from(f.off))
        && fixed(Fld::Imm, i64::from(i.imm()), i64::from(f.imm))
}

/// Where a control-transfer instruction goes: slot offset relative to the
/// next slot.
fn branch_offset(d: &Decoded<'_>) -> Option<i64> {
    match d.form?.target_field()? {
        Fld::Off => Some(i64::from(d.insn.off())),
        _ => Some(i64::from(d.insn.imm())),
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
    print_program(insns, &[], Syntax::Mnemonic)
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
    print_program(insns, &[], Syntax::PseudoC)
}

/// A program's disassembly with its map names (`lddw r1, map_fd(counts)`):
/// the mnemonic text assembles back to the same program, relocations
/// included. In pseudo-C a named map load is `r1 = counts ll` (which LLVM
/// reads as a relocation against `counts`), a named map value
/// `r1 = counts+8 ll`; numeric ones are LLVM's `ld_pseudo r1, 1, fd` and
/// the verifier log's `r1 = map[id:fd][0]+off`.
///
/// ```
/// let prog = bpf_asm::assemble("lddw r1, map_fd(counts)\nmov r0, 0\nexit").unwrap();
/// assert_eq!(bpf_asm::disassemble_program(&prog, false).lines().next(), Some("    lddw r1, map_fd(counts)"));
/// assert_eq!(bpf_asm::disassemble_program(&prog, true).lines().next(), Some("    r1 = counts ll"));
/// ```
pub fn disassemble_program(prog: &crate::Program, pseudo_c: bool) -> String {
    let syntax = if pseudo_c {
        Syntax::PseudoC
    } else {
        Syntax::Mnemonic
    };
    print_program(prog.insns(), prog.relocs(), syntax)
}

fn print_program(insns: &[Insn], relocs: &[MapReloc], syntax: Syntax) -> String {
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
        let map = relocs
            .iter()
            .find(|r| r.slot == *slot)
            .map(|r| r.name.as_ref());
        let _ = write_insn(&mut out, d, target, map, syntax);
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
        let _ = write_insn(&mut s, &d, None, None, Syntax::Mnemonic);
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
        let _ = write_insn(&mut s, &d, None, None, Syntax::PseudoC);
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

// The printers write straight into the output: a listing of 100,000
// instructions is not 300,000 small strings.

/// A relative target: `+3`, `-2`.
fn rel(out: &mut String, off: i64) -> fmt::Result {
    if off < 0 {
        write!(out, "{off}")
    } else {
        write!(out, "+{off}")
    }
}

/// A target: its label, or relative.
fn tgt(out: &mut String, target: Option<&str>, off: i64) -> fmt::Result {
    match target {
        Some(t) => {
            out.push_str(t);
            Ok(())
        }
        None => rel(out, off),
    }
}

/// `r{n}` (registers are 0 to 15).
fn reg(out: &mut String, prefix: char, n: u8) {
    out.push(prefix);
    if n >= 10 {
        out.push('1');
    }
    out.push(char::from(b'0' + n % 10));
}

/// `rN + off` / `rN - off`, bracketed for the mnemonic spelling.
fn mem(out: &mut String, n: u8, off: i16, brackets: bool) -> fmt::Result {
    if brackets {
        out.push('[');
    }
    reg(out, 'r', n);
    if off < 0 {
        write!(out, " - {}", off.unsigned_abs())?;
    } else {
        write!(out, " + {off}")?;
    }
    if brackets {
        out.push(']');
    }
    Ok(())
}

fn num64(out: &mut String, v: i64) -> fmt::Result {
    if v < 0x10000 {
        write!(out, "{v}")
    } else {
        write!(out, "{v:#x}")
    }
}

/// One instruction; `target` names its jump target, `map` the map of its
/// relocation.
fn write_insn(
    out: &mut String,
    d: &Decoded<'_>,
    target: Option<&str>,
    map: Option<&str>,
    syntax: Syntax,
) -> fmt::Result {
    let f = d.form.unwrap_or_else(|| isa().raw());
    match syntax {
        Syntax::Mnemonic => write_mnemonic(out, f, d, target, map),
        Syntax::PseudoC => write_pseudo_c(out, f, d, target, map),
    }
}

/// The mnemonic and each operand from the field its row names.
fn write_mnemonic(
    out: &mut String,
    f: &Form,
    d: &Decoded<'_>,
    target: Option<&str>,
    map: Option<&str>,
) -> fmt::Result {
    let i = &d.insn;
    let field = |fld: Fld| match fld {
        Fld::Off => i64::from(i.off()),
        _ => i64::from(i.imm()),
    };
    out.push_str(f.name);
    for (n, o) in f.operands.iter().enumerate() {
        out.push_str(if n == 0 { " " } else { ", " });
        match *o {
            Opnd::Dst => reg(out, 'r', i.dst()),
            Opnd::Src => reg(out, 'r', i.src()),
            Opnd::Imm => write!(out, "{}", i.imm())?,
            Opnd::Mem(base) => {
                let r = if base == Fld::Dst { i.dst() } else { i.src() };
                mem(out, r, i.off(), true)?;
            }
            Opnd::Target(fld) => tgt(out, target, field(fld))?,
            Opnd::Helper => match u32::try_from(i.imm()).ok().and_then(bpf_sys::helper_name) {
                Some(name) => out.push_str(name),
                None => write!(out, "{}", i.imm())?,
            },
            Opnd::Imm64 => match f.pseudo() {
                None => num64(out, d.imm64())?,
                Some(p) => {
                    let next = d.next.map_or(0, |n| n.imm());
                    write!(out, "{}(", p.keyword())?;
                    for (k, a) in p.args().iter().enumerate() {
                        if k > 0 {
                            out.push_str(", ");
                        }
                        match a {
                            PseudoArg::Num(true, _) => write!(out, "{next}")?,
                            PseudoArg::Target => tgt(out, target, i64::from(i.imm()))?,
                            PseudoArg::Map => match map {
                                Some(m) => out.push_str(m),
                                None => write!(out, "{}", i.imm())?,
                            },
                            PseudoArg::Num(false, _) => write!(out, "{}", i.imm())?,
                        }
                    }
                    out.push(')');
                }
            },
            Opnd::AsDst => write!(out, "{}", (i.imm() as u32) >> 16)?,
            Opnd::AsSrc => write!(out, "{}", i.imm() as u32 & 0xffff)?,
            Opnd::Raw(Fld::Code) => write!(out, "{:#04x}", i.code())?,
            Opnd::Raw(Fld::Dst) => write!(out, "{}", i.dst())?,
            Opnd::Raw(Fld::Src) => write!(out, "{}", i.src())?,
            Opnd::Raw(Fld::Off) => write!(out, "{}", i.off())?,
            Opnd::Raw(Fld::Imm) => write!(out, "{}", i.imm())?,
        }
    }
    Ok(())
}

/// The row's pseudo-C template with its placeholders filled in:
/// registers (`{d}`/`{s}` by the form's width, `{rd}`/`{wd}`/`{rs}`/`{ws}`
/// fixed), fields (`{imm}`, `{off}`, `{imm64}`), memory (`{md}`, `{ms}`:
/// `rN + off`), `{op}` and `{ty}`, the target `{tgt}`, and a few that
/// depend on the values (`{pseudo}`, `{skb}`, `{call}`, `{as}`, `{bytes}`).
fn write_pseudo_c(
    out: &mut String,
    f: &Form,
    d: &Decoded<'_>,
    target: Option<&str>,
    map: Option<&str>,
) -> fmt::Result {
    let i = &d.insn;
    let (dst, src, off, imm) = (i.dst(), i.src(), i.off(), i.imm());
    let w = if f.wide { 'r' } else { 'w' };
    let mut rest = f.c;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let key = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        match key {
            "d" => reg(out, w, dst),
            "s" => reg(out, w, src),
            "rd" => reg(out, 'r', dst),
            "wd" => reg(out, 'w', dst),
            "rs" => reg(out, 'r', src),
            "ws" => reg(out, 'w', src),
            "imm" => write!(out, "{imm}")?,
            "off" => write!(out, "{off}")?,
            "imm64" => write!(out, "{}", d.imm64())?,
            "op" => out.push_str(f.c_op),
            "ty" => out.push_str(if f.wide { "u64" } else { "u32" }),
            "md" => mem(out, dst, off, false)?,
            "ms" => mem(out, src, off, false)?,
            "tgt" => {
                let field = f.target_field().unwrap_or(Fld::Off);
                let rel = if field == Fld::Off {
                    i64::from(off)
                } else {
                    i64::from(imm)
                };
                tgt(out, target, rel)?;
            }
            "skb" if imm == 0 => write!(out, "r{src}")?,
            "skb" => write!(out, "r{src} + {imm}")?,
            "call" => match target {
                Some(t) => write!(out, "call {t}")?,
                None => {
                    out.push_str("call pc");
                    rel(out, i64::from(imm))?;
                }
            },
            "as" => write!(out, "{}, {}", (imm as u32) >> 16, imm as u32 & 0xffff)?,
            "bytes" => write!(out, "{:#018x}", u64::from_le_bytes(i.to_bytes()))?,
            "pseudo" => {
                let next = d.next.map_or(0, |n| n.imm());
                match (f.pseudo(), map) {
                    (Some(Pseudo::MapFd), Some(m)) => write!(out, "r{dst} = {m} ll")?,
                    (Some(Pseudo::MapValue), Some(m)) => write!(out, "r{dst} = {m}+{next} ll")?,
                    // No LLVM spelling (LLVM writes a map value as a
                    // relocation): the verifier log's.
                    (Some(Pseudo::MapValue), None) => {
                        write!(out, "r{dst} = map[id:{imm}][0]+{next}")?;
                    }
                    (Some(Pseudo::Func), _) if target.is_some() => {
                        write!(out, "r{dst} = func(")?;
                        tgt(out, target, i64::from(imm))?;
                        out.push_str(") ll");
                    }
                    (_, _) if next == 0 => write!(out, "ld_pseudo r{dst}, {}, {imm}", f.src)?,
                    (p, _) => {
                        let p = p.map_or("", Pseudo::keyword);
                        write!(out, "r{dst} = {p}({imm}, {next}) ll")?;
                    }
                }
            }
            other => write!(out, "{{{other}}}")?,
        }
    }
    out.push_str(rest);
    Ok(())
}
