//! The per-instruction rules both directions apply: the encoder reports a
//! broken rule as an error at the operand, and the decoder prints a slot
//! that breaks one as `raw` (so its text still assembles to the same bytes).
//! One copy of each rule: r10 is read-only, immediate ranges (shifts,
//! divisors, sign extension), stack offsets, helper ids, pseudo arguments.

use crate::Insn;
use crate::isa::{Fld, Form, ImmRule, Opnd, PseudoArg};

/// An inclusive range a number field must lie in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) min: i128,
    pub(crate) max: i128,
    /// Zero is refused (a divisor).
    pub(crate) nonzero: bool,
    /// The value must be a multiple of this (a stack access's size).
    pub(crate) align: i64,
    /// What the value is, for messages: "expected {what}".
    pub(crate) what: &'static str,
}

impl Range {
    const fn new(min: i128, max: i128, what: &'static str) -> Range {
        Range {
            min,
            max,
            nonzero: false,
            align: 1,
            what,
        }
    }

    /// Whether `x` satisfies the range.
    pub(crate) fn holds(&self, x: i128) -> bool {
        x >= self.min
            && x <= self.max
            && !(self.nonzero && x == 0)
            && x % i128::from(self.align) == 0
    }
}

pub(crate) const I16: (i128, i128) = (i16::MIN as i128, i16::MAX as i128);
pub(crate) const I32: (i128, i128) = (i32::MIN as i128, i32::MAX as i128);
pub(crate) const B32: (i128, i128) = (i32::MIN as i128, u32::MAX as i128);

/// A memory operand's offset.
pub(crate) const OFFSET: Range = Range::new(I16.0, I16.1, "a 16-bit offset (-32768 to 32767)");
/// An `lddw` constant.
pub(crate) const IMM64: Range =
    Range::new(i64::MIN as i128, u64::MAX as i128, "a 64-bit immediate");
/// A helper id.
pub(crate) const HELPER_ID: Range = Range::new(B32.0, B32.1, "a helper id (32 bits)");
/// An address space of `addr_space_cast`.
pub(crate) const ADDR_SPACE: Range = Range::new(0, 0xffff, "an address space (0 to 65535)");

/// The range of a form's [`Opnd::Imm`] operand.
pub(crate) const fn imm(rule: ImmRule) -> Range {
    match rule {
        ImmRule::Sext => Range::new(I32.0, I32.1, "a 32-bit immediate, sign-extended to 64 bits"),
        ImmRule::Bits32 => Range::new(B32.0, B32.1, "a 32-bit immediate"),
        ImmRule::Shift(63) => Range::new(0, 63, "a shift amount from 0 to 63 for a 64-bit shift"),
        ImmRule::Shift(_) => Range::new(0, 31, "a shift amount from 0 to 31 for a 32-bit shift"),
        ImmRule::Divisor(true) => Range {
            nonzero: true,
            ..Range::new(
                I32.0,
                I32.1,
                "a non-zero divisor (32 bits, sign-extended to 64)",
            )
        },
        ImmRule::Divisor(false) => Range {
            nonzero: true,
            ..Range::new(B32.0, B32.1, "a non-zero 32-bit divisor")
        },
        ImmRule::PacketOff => Range::new(B32.0, B32.1, "a packet offset (32 bits)"),
        ImmRule::BtfId => Range::new(B32.0, B32.1, "a BTF id (32 bits)"),
    }
}

/// For a sign-extending rule, a value that fits 32 bits but not signed 32
/// bits: the kernel would use it sign-extended, as this `i32`.
pub(crate) fn sign_extension_surprise(rule: ImmRule, x: i128) -> Option<i32> {
    let sext = matches!(rule, ImmRule::Sext | ImmRule::Divisor(true));
    (sext && x > I32.1 && x <= B32.1).then_some(x as u32 as i32)
}

/// Whether `x` fits no 32-bit immediate at all, under a rule that takes
/// any 32-bit value: it needs `lddw` and a register.
pub(crate) fn needs_lddw(rule: ImmRule, x: i128) -> bool {
    matches!(rule, ImmRule::Sext | ImmRule::Bits32 | ImmRule::Divisor(_))
        && !(B32.0..=B32.1).contains(&x)
}

/// The range of a raw field.
pub(crate) const fn raw(f: Fld) -> Range {
    match f {
        Fld::Code => Range::new(0, 255, "an opcode (0 to 255)"),
        Fld::Dst | Fld::Src => Range::new(0, 15, "a register number (0 to 15)"),
        Fld::Off => Range::new(I16.0, I16.1, "a 16-bit offset"),
        Fld::Imm => Range::new(B32.0, B32.1, "a 32-bit immediate"),
    }
}

/// The range of a pseudo operand's numeric argument.
pub(crate) const fn pseudo_arg(a: PseudoArg) -> Range {
    match a {
        PseudoArg::Map => Range::new(0, I32.1, "a map fd (0 to 2^31-1)"),
        PseudoArg::Num(_, what) => Range::new(B32.0, B32.1, what),
        PseudoArg::Target => Range::new(I32.0, I32.1, "a 32-bit offset"),
    }
}

/// The slot-offset range of a jump target in field `f`.
pub(crate) const fn target(f: Fld) -> (i128, i128) {
    match f {
        Fld::Off => I16,
        _ => I32,
    }
}

/// What is wrong with a stack access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StackFault {
    /// Not inside the 512 bytes below r10.
    Outside,
    /// Not a multiple of the access size.
    Misaligned,
}

/// The kernel's stack size for one frame.
pub(crate) const STACK_SIZE: i64 = 512;

/// Whether `size` bytes at `r10 + off` lie inside the frame (a helper's
/// buffer, which need not be aligned, or any access).
pub(crate) fn within_stack(off: i64, size: i64) -> bool {
    off >= -STACK_SIZE && off + size <= 0
}

/// An access of `size` bytes at `r10 + off`.
pub(crate) fn stack_access(off: i64, size: i64) -> Option<StackFault> {
    if !within_stack(off, size) {
        Some(StackFault::Outside)
    } else if off % size != 0 {
        Some(StackFault::Misaligned)
    } else {
        None
    }
}

/// The offset of a stack access of `size` bytes written as a `{ expr }`
/// (a literal gets the detailed messages of [`stack_access`]).
pub(crate) const fn stack_offset(size: u8) -> Range {
    let what = match size {
        1 => "a stack offset from -512 to -1",
        2 => "a stack offset from -512 to -2, a multiple of 2",
        4 => "a stack offset from -512 to -4, a multiple of 4",
        _ => "a stack offset from -512 to -8, a multiple of 8",
    };
    let size = size as i64;
    Range {
        align: size,
        ..Range::new(-STACK_SIZE as i128, -size as i128, what)
    }
}

/// Whether the form, with these registers, writes r10 (read-only).
pub(crate) fn writes_r10(f: &Form, dst: u8, src: u8) -> bool {
    f.writes.iter().any(|r| r.reg(dst, src) == 10)
}

/// Whether the kernel headers bpf-sys was built with name helper `id`.
pub(crate) fn helper_known(id: i64) -> bool {
    u32::try_from(id)
        .ok()
        .and_then(bpf_sys::helper_name)
        .is_some()
}

/// Whether a decoded instruction obeys every rule above; `next` is an
/// `lddw`'s second slot.
pub(crate) fn accepts(f: &Form, i: &Insn, next: Option<&Insn>) -> bool {
    if writes_r10(f, i.dst(), i.src()) {
        return false;
    }
    let imm = i128::from(i.imm());
    f.operands.iter().all(|o| match o {
        Opnd::Imm => self::imm(f.rule).holds(imm),
        Opnd::Helper => helper_known(i64::from(i.imm())),
        Opnd::Mem(base) => {
            let reg = if *base == Fld::Dst { i.dst() } else { i.src() };
            reg != 10 || stack_access(i64::from(i.off()), i64::from(f.size)).is_none()
        }
        Opnd::Imm64 => {
            let Some(next) = next else { return false };
            let hi_free = f.pseudo().is_none_or(|p| p.uses_second_imm());
            let args_ok = f.pseudo().is_none_or(|p| {
                p.args().iter().all(|&a| match a {
                    PseudoArg::Num(true, _) => true,
                    _ => pseudo_arg(a).holds(imm),
                })
            });
            (hi_free || next.imm() == 0) && args_ok
        }
        _ => true,
    })
}
