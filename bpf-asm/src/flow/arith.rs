//! Arithmetic and comparisons on 64-bit values and intervals, as the
//! kernel's verifier evaluates them: constant folding, branch outcomes, and
//! the interval refinement a taken or not-taken compare allows.

use super::*;

pub(super) fn imm_operand(imm: i64, wide: bool) -> u64 {
    let imm = imm as i32;
    if wide {
        imm as i64 as u64
    } else {
        u64::from(imm as u32)
    }
}

/// The result of an ALU operation on constants, for the operations whose
/// constants the kernel tracks exactly.
pub(super) fn alu_const(op: AluOp, wide: bool, a: u64, b: u64) -> Option<u64> {
    if wide {
        Some(match op {
            AluOp::Add => a.wrapping_add(b),
            AluOp::Sub => a.wrapping_sub(b),
            AluOp::Mul => a.wrapping_mul(b),
            AluOp::Or => a | b,
            AluOp::And => a & b,
            AluOp::Xor => a ^ b,
            AluOp::Mov => b,
            AluOp::Lsh if b < 64 => a << b,
            AluOp::Rsh if b < 64 => a >> b,
            AluOp::Arsh if b < 64 => ((a as i64) >> b) as u64,
            _ => return None,
        })
    } else {
        let (x, y) = (a as u32, b as u32);
        Some(u64::from(match op {
            AluOp::Add => x.wrapping_add(y),
            AluOp::Sub => x.wrapping_sub(y),
            AluOp::Mul => x.wrapping_mul(y),
            AluOp::Or => x | y,
            AluOp::And => x & y,
            AluOp::Xor => x ^ y,
            AluOp::Mov => y,
            AluOp::Lsh if y < 32 => x << y,
            AluOp::Rsh if y < 32 => x >> y,
            AluOp::Arsh if y < 32 => ((x as i32) >> y) as u32,
            _ => return None,
        }))
    }
}

/// A comparison: operation and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cmp {
    pub(super) op: JmpOp,
    pub(super) wide: bool,
}

/// `a op b` (on the low 32 bits unless `wide`), if `op` is a comparison.
pub(super) fn cond(cmp: Cmp, a: u64, b: u64) -> Option<bool> {
    let (ua, ub, sa, sb) = if cmp.wide {
        (a, b, a as i64, b as i64)
    } else {
        (
            u64::from(a as u32),
            u64::from(b as u32),
            i64::from(a as u32 as i32),
            i64::from(b as u32 as i32),
        )
    };
    Some(match cmp.op {
        JmpOp::Jeq => ua == ub,
        JmpOp::Jne => ua != ub,
        JmpOp::Jgt => ua > ub,
        JmpOp::Jge => ua >= ub,
        JmpOp::Jlt => ua < ub,
        JmpOp::Jle => ua <= ub,
        JmpOp::Jset => ua & ub != 0,
        JmpOp::Jsgt => sa > sb,
        JmpOp::Jsge => sa >= sb,
        JmpOp::Jslt => sa < sb,
        JmpOp::Jsle => sa <= sb,
    })
}

/// The operation that holds when `op` does not.
pub(super) fn negate(op: JmpOp) -> Option<JmpOp> {
    Some(match op {
        JmpOp::Jeq => JmpOp::Jne,
        JmpOp::Jne => JmpOp::Jeq,
        JmpOp::Jgt => JmpOp::Jle,
        JmpOp::Jle => JmpOp::Jgt,
        JmpOp::Jge => JmpOp::Jlt,
        JmpOp::Jlt => JmpOp::Jge,
        JmpOp::Jsgt => JmpOp::Jsle,
        JmpOp::Jsle => JmpOp::Jsgt,
        JmpOp::Jsge => JmpOp::Jslt,
        JmpOp::Jslt => JmpOp::Jsge,
        _ => return None,
    })
}

/// The operation with its operands swapped.
pub(super) fn flip(op: JmpOp) -> JmpOp {
    match op {
        JmpOp::Jgt => JmpOp::Jlt,
        JmpOp::Jlt => JmpOp::Jgt,
        JmpOp::Jge => JmpOp::Jle,
        JmpOp::Jle => JmpOp::Jge,
        JmpOp::Jsgt => JmpOp::Jslt,
        JmpOp::Jslt => JmpOp::Jsgt,
        JmpOp::Jsge => JmpOp::Jsle,
        JmpOp::Jsle => JmpOp::Jsge,
        other => other,
    }
}

/// Values of `[lo, hi]` worth trying against the other side's bounds: for
/// every comparison but `jset` they include the extremes that decide it.
pub(super) fn witnesses(lo: u64, hi: u64, olo: u64, ohi: u64) -> impl Iterator<Item = u64> {
    [
        lo,
        hi,
        olo,
        ohi,
        olo.wrapping_sub(1),
        olo.wrapping_add(1),
        ohi.wrapping_sub(1),
        ohi.wrapping_add(1),
        0,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        i64::MAX as u64,
        1 << 63,
        olo & olo.wrapping_neg(),
        ohi & ohi.wrapping_neg(),
    ]
    .into_iter()
    .filter(move |&x| lo <= x && x <= hi)
}

/// Whether some `x` in `[xl, xh]` and `y` in `[yl, yh]` give `x op y ==
/// want`; `None` if `op` is not a comparison.
pub(super) fn exists(cmp: Cmp, x: (u64, u64), y: (u64, u64), want: bool) -> Option<bool> {
    cond(cmp, x.0, y.0)?;
    let (xs, ys) = if cmp.wide {
        ([Some(x), None], [Some(y), None])
    } else {
        (low32(x), low32(y))
    };
    for &(xl, xh) in xs.iter().flatten() {
        for &(yl, yh) in ys.iter().flatten() {
            if cmp.op == JmpOp::Jset && (xl == xh || yl == yh) {
                let found = if yl == yh {
                    jset_exists((xl, xh), yl, want)
                } else {
                    jset_exists((yl, yh), xl, want)
                };
                if found {
                    return Some(true);
                }
                continue;
            }
            for a in witnesses(xl, xh, yl, yh) {
                for b in witnesses(yl, yh, xl, xh) {
                    if cond(cmp, a, b) == Some(want) {
                        return Some(true);
                    }
                }
            }
        }
    }
    Some(false)
}

/// Whether some `x` in `[lo, hi]` has `(x & c != 0) == want`.
pub(super) fn jset_exists((lo, hi): (u64, u64), c: u64, want: bool) -> bool {
    if want {
        // The least x >= lo with bit j of c set, for each j.
        (0..64).filter(|j| c >> j & 1 == 1).any(|j| {
            let x = if lo >> j & 1 == 1 {
                lo
            } else {
                ((lo >> j) | 1) << j
            };
            x <= hi
        })
    } else {
        if lo & c == 0 {
            return true;
        }
        // The least x > lo with x & c == 0 keeps lo's bits above some j
        // (which must miss c), sets bit j (not in c) and clears the rest.
        (0..64)
            .filter(|&j| lo >> j & 1 == 0 && c >> j & 1 == 0)
            .filter(|&j| j == 63 || (lo >> (j + 1)) & (c >> (j + 1)) == 0)
            .map(|j| ((lo >> j) | 1) << j)
            .min()
            .is_some_and(|x| x <= hi)
    }
}

/// The low 32 bits of the values of `[lo, hi]`, as at most two intervals.
pub(super) fn low32((lo, hi): (u64, u64)) -> [Option<(u64, u64)>; 2] {
    let (l, h) = (u64::from(lo as u32), u64::from(hi as u32));
    if hi - lo >= 0xffff_ffff {
        [Some((0, 0xffff_ffff)), None]
    } else if lo >> 32 == hi >> 32 {
        [Some((l, h)), None]
    } else {
        [Some((l, 0xffff_ffff)), Some((0, h))]
    }
}

/// The values `x` of `[lo, hi]` for which `x op c` is `taken`: with `hull`,
/// the least interval holding them all; otherwise the largest interval of
/// them (any subset is a valid answer then). `None` if there are none.
pub(super) fn refine_interval(
    lo: u64,
    hi: u64,
    cmp: Cmp,
    c: u64,
    taken: bool,
    hull: bool,
) -> Option<(u64, u64)> {
    if !cmp.wide && hi > U32 {
        // The low halves of the values do not grow with them.
        return hull.then_some((lo, hi));
    }
    let found = refine_pieces(lo, hi, cmp, c, taken);
    let found = found.iter().flatten();
    if hull {
        let a = found.clone().map(|f| f.0).min()?;
        Some((a, found.map(|f| f.1).max()?))
    } else {
        found.max_by_key(|f| f.1 - f.0).copied()
    }
}

/// The values `x` of `[lo, hi]` for which `x op c` is `taken`, as at most
/// four intervals (a 32-bit comparison of values above 32 bits: `[lo, hi]`
/// itself, nothing learnt); none for an unknown `op`.
pub(super) fn refine_pieces(
    lo: u64,
    hi: u64,
    cmp: Cmp,
    c: u64,
    taken: bool,
) -> [Option<(u64, u64)>; 4] {
    let mut found: [Option<(u64, u64)>; 4] = [None; 4];
    let Some(op) = (if taken { Some(cmp.op) } else { negate(cmp.op) }) else {
        return found;
    };
    let wide = cmp.wide;
    let signed = matches!(op, JmpOp::Jsgt | JmpOp::Jsge | JmpOp::Jslt | JmpOp::Jsle);
    let key = |x: u64| -> i128 {
        match (signed, wide) {
            (true, true) => i128::from(x as i64),
            (true, false) => i128::from(x as u32 as i32),
            (false, true) => i128::from(x),
            (false, false) => i128::from(x as u32),
        }
    };
    let ck = key(c);
    if !wide && hi > U32 {
        // The low halves of the values do not grow with them.
        found[0] = Some((lo, hi));
        return found;
    }
    // Pieces on which the key grows with the value.
    let sign = if wide { 1 << 63 } else { 0x8000_0000 };
    let pieces = if signed && lo < sign && hi >= sign {
        [(lo, sign - 1), (sign, hi)]
    } else {
        [(lo, hi), (1, 0)]
    };
    let mut n = 0;
    let mut keep = |a: u64, b: u64| {
        if a <= b && n < found.len() {
            found[n] = Some((a, b));
            n += 1;
        }
    };
    for (p, q) in pieces {
        if p > q {
            continue;
        }
        let (kp, kq) = (key(p), key(q));
        let back = |k: i128| p + (k - kp) as u64;
        let (a, b) = match op {
            JmpOp::Jeq => (ck, ck),
            JmpOp::Jgt | JmpOp::Jsgt => (ck + 1, kq),
            JmpOp::Jge | JmpOp::Jsge => (ck, kq),
            JmpOp::Jlt | JmpOp::Jslt => (kp, ck - 1),
            JmpOp::Jle | JmpOp::Jsle => (kp, ck),
            JmpOp::Jne => {
                if ck < kp || ck > kq {
                    keep(p, q);
                } else {
                    if ck > kp {
                        keep(p, back(ck - 1));
                    }
                    if ck < kq {
                        keep(back(ck + 1), q);
                    }
                }
                continue;
            }
            _ => return [None; 4],
        };
        let (a, b) = (a.max(kp), b.min(kq));
        if a <= b {
            keep(back(a), back(b));
        }
    }
    found
}

/// The second operand of a comparison.
#[derive(Clone, Copy, Debug)]
pub(super) enum Opnd {
    Reg(Val),
    Imm(u64),
    Unknown,
}

impl Opnd {
    pub(super) fn val(self) -> Option<Val> {
        match self {
            Opnd::Reg(v) => Some(v),
            Opnd::Imm(c) => Some(Val::konst(c)),
            Opnd::Unknown => None,
        }
    }
}

/// What the kernel does with one edge of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// It walks it whenever it walks the comparison.
    Walks,
    /// It may never walk it (decided by what it knows): not followed.
    Skips,
    /// It may or may not.
    Unsure,
}

pub(super) fn verdict(cmp: Cmp, d: Val, s: Opnd, taken: bool, ctx_nonnull: bool) -> Verdict {
    if d.undecided_ptr() || s.val().is_some_and(Val::undecided_ptr) {
        return Verdict::Walks;
    }
    // An unknown operand may be any value: a comparison false for every
    // value (`jge r0, 0` never falls through) is decided all the same.
    let any = [Some((0, u64::MAX)), None];
    let kd = d.known().unwrap_or(any);
    let ks = s.val().and_then(Val::known).unwrap_or(any);
    let possible = kd.iter().flatten().any(|&x| {
        ks.iter()
            .flatten()
            .any(|&y| exists(cmp, x, y, taken) != Some(false))
    });
    if !possible || bits_decide(cmp, d, s, taken) {
        return Verdict::Skips;
    }
    // The kernel's known bits rule the other edge out: it takes this one.
    if bits_decide(cmp, d, s, !taken) {
        return Verdict::Walks;
    }
    let (Some(ud), Some(us)) = (d.under(), s.val().and_then(Val::under)) else {
        return Verdict::Unsure;
    };
    match exists(cmp, (ud.0, ud.1), (us.0, us.1), taken) {
        // A pointer the kernel knows is not null decides `==`/`!=` 0.
        Some(true)
            if (ud.2 || us.2) && ctx_nonnull && matches!(cmp.op, JmpOp::Jeq | JmpOp::Jne) =>
        {
            Verdict::Unsure
        }
        Some(true) => Verdict::Walks,
        _ => Verdict::Unsure,
    }
}

/// Whether the bits the kernel knows are 0 in `d` rule the edge out: `jeq`
/// with a constant having one of them set is never taken (`jne` always),
/// `jset` with a constant made only of them never.
fn bits_decide(cmp: Cmp, d: Val, s: Opnd, taken: bool) -> bool {
    let (Opnd::Imm(c), true) = (s, d.is_scalar()) else {
        return false;
    };
    let width = if cmp.wide { u64::MAX } else { U32 };
    let (z, c) = (d.known_zeros() & width, c & width);
    match cmp.op {
        JmpOp::Jeq => taken && c & z != 0,
        JmpOp::Jne => !taken && c & z != 0,
        JmpOp::Jset => taken && c & !z & width == 0,
        _ => false,
    }
}

/// A register compared with itself. The kernel decides a comparison from
/// the two operands' bounds, not from their being one register: unless it
/// knows the value, it walks both edges (even the false one of `jgt r2,
/// r2`). Otherwise `jeq r2, r2` is always taken, `jgt r2, r2` never (the
/// kernel may or may not see it).
pub(super) fn verdict_same(cmp: Cmp, v: Val, taken: bool) -> Verdict {
    if v.under().is_some_and(|(lo, hi, ptr)| lo < hi && !ptr) && v.is_scalar() {
        return Verdict::Walks;
    }
    match cond(cmp, 1, 1) {
        _ if cmp.op == JmpOp::Jset => Verdict::Unsure,
        Some(r) if r == taken => Verdict::Walks,
        Some(_) => Verdict::Skips,
        None => Verdict::Unsure,
    }
}
