//! Unit tests of the flow checker's pieces.

use super::*;

const EQ64: Cmp = Cmp {
    op: JmpOp::Jeq,
    wide: true,
};

#[test]
fn constants() {
    assert_eq!(alu_const(AluOp::Add, true, 1, u64::MAX), Some(0));
    assert_eq!(alu_const(AluOp::Add, false, 0xffff_ffff, 1), Some(0));
    assert_eq!(
        alu_const(AluOp::Arsh, false, 0x8000_0000, 4),
        Some(0xf800_0000)
    );
    assert_eq!(alu_const(AluOp::Arsh, true, 1 << 63, 63), Some(u64::MAX));
    assert_eq!(alu_const(AluOp::Lsh, true, 1, 64), None);
    assert_eq!(alu_const(AluOp::Lsh, false, 1, 32), None);
    assert_eq!(
        alu_const(AluOp::Div, true, 6, 3),
        None,
        "division is not tracked"
    );
    assert_eq!(imm_operand(-1, true), u64::MAX);
    assert_eq!(imm_operand(-1, false), 0xffff_ffff);
    assert_eq!(imm_operand(0xffff_ffff, true), u64::MAX);
}

#[test]
fn comparisons() {
    let c = |op, wide| Cmp { op, wide };
    assert_eq!(cond(c(JmpOp::Jsgt, true), 1, u64::MAX), Some(true));
    assert_eq!(cond(c(JmpOp::Jgt, true), 1, u64::MAX), Some(false));
    assert_eq!(cond(c(JmpOp::Jeq, false), 0x1_0000_0005, 5), Some(true));
    assert_eq!(cond(c(JmpOp::Jslt, false), 0xffff_ffff, 0), Some(true));
    assert_eq!(cond(c(JmpOp::Jset, true), 6, 1), Some(false));
    for op in [
        JmpOp::Jeq,
        JmpOp::Jne,
        JmpOp::Jgt,
        JmpOp::Jge,
        JmpOp::Jlt,
        JmpOp::Jle,
        JmpOp::Jsgt,
        JmpOp::Jsge,
        JmpOp::Jslt,
        JmpOp::Jsle,
    ] {
        for (a, b) in [(3u64, 5u64), (5, 3), (4, 4), (u64::MAX, 0)] {
            let n = negate(op).unwrap();
            assert_eq!(cond(c(op, true), a, b), cond(c(n, true), a, b).map(|x| !x));
            assert_eq!(cond(c(op, true), a, b), cond(c(flip(op), true), b, a));
        }
    }
}

#[test]
fn existence_over_intervals() {
    let c = |op| Cmp { op, wide: true };
    assert_eq!(
        exists(c(JmpOp::Jgt), (0, 255), (255, 255), true),
        Some(false)
    );
    assert_eq!(
        exists(c(JmpOp::Jgt), (0, 255), (254, 254), true),
        Some(true)
    );
    assert_eq!(exists(c(JmpOp::Jeq), (0, 255), (7, 7), false), Some(true));
    assert_eq!(exists(c(JmpOp::Jeq), (7, 7), (7, 7), false), Some(false));
    assert_eq!(
        exists(c(JmpOp::Jslt), (0, 0xffff_ffff), (0, 0), true),
        Some(false)
    );
    let w32 = Cmp {
        op: JmpOp::Jslt,
        wide: false,
    };
    assert_eq!(exists(w32, (0, 0xffff_ffff), (0, 0), true), Some(true));
    assert_eq!(exists(w32, (0, 0x7fff_ffff), (0, 0), true), Some(false));
    assert_eq!(exists(c(JmpOp::Jne), (3, 9), (1, 1), false), Some(false));
    assert_eq!(exists(c(JmpOp::Jgt), (0, 9), (5, 20), true), Some(true));
    assert_eq!(exists(c(JmpOp::Jgt), (0, 9), (9, 20), true), Some(false));
}

#[test]
fn existence_matches_enumeration() {
    // The witnesses decide every comparison but `jset` exactly: check
    // against every value of small intervals, near zero and around the
    // 32-bit sign boundary.
    for base in [0u64, 0x7fff_fff8, 0xffff_fff8] {
        let vals: Vec<u64> = (0..=16).map(|d| base + d).collect();
        for op in [
            JmpOp::Jeq,
            JmpOp::Jne,
            JmpOp::Jgt,
            JmpOp::Jge,
            JmpOp::Jlt,
            JmpOp::Jle,
            JmpOp::Jsgt,
            JmpOp::Jsge,
            JmpOp::Jslt,
            JmpOp::Jsle,
        ] {
            for wide in [true, false] {
                let cmp = Cmp { op, wide };
                for &xl in &vals {
                    for &xh in vals.iter().filter(|&&h| h >= xl) {
                        for &c in vals.iter().chain(&[0, u64::MAX, 1 << 63]) {
                            for want in [false, true] {
                                let any = (xl..=xh).any(|x| cond(cmp, x, c) == Some(want));
                                assert_eq!(
                                    exists(cmp, (xl, xh), (c, c), want),
                                    Some(any),
                                    "{op:?} {wide} [{xl:#x}, {xh:#x}] {c:#x} {want}"
                                );
                                let any = (xl..=xh).any(|y| cond(cmp, c, y) == Some(want));
                                assert_eq!(exists(cmp, (c, c), (xl, xh), want), Some(any));
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn jset_existence_is_exact() {
    for lo in 0u64..40 {
        for hi in lo..40 {
            for c in 0u64..40 {
                for want in [false, true] {
                    let brute = (lo..=hi).any(|x| (x & c != 0) == want);
                    assert_eq!(
                        jset_exists((lo, hi), c, want),
                        brute,
                        "[{lo}, {hi}] & {c} {want}"
                    );
                }
            }
        }
    }
    assert!(!jset_exists((0, u64::MAX), 0, true));
    assert!(jset_exists((0, u64::MAX), 1 << 63, true));
    assert!(!jset_exists((u64::MAX, u64::MAX), 1, false));
    assert!(jset_exists((1 << 63, u64::MAX), 1 << 62, false));
}

#[test]
fn refining_intervals() {
    let c = |op, wide| Cmp { op, wide };
    assert_eq!(
        refine_interval(0, 255, c(JmpOp::Jgt, true), 100, true, false),
        Some((101, 255))
    );
    assert_eq!(
        refine_interval(0, 255, c(JmpOp::Jgt, true), 100, false, false),
        Some((0, 100))
    );
    assert_eq!(
        refine_interval(0, 255, c(JmpOp::Jgt, true), 255, true, false),
        None
    );
    assert_eq!(
        refine_interval(0, 255, EQ64, 17, true, false),
        Some((17, 17))
    );
    assert_eq!(
        refine_interval(0, 255, EQ64, 17, false, false),
        Some((18, 255))
    );
    assert_eq!(
        refine_interval(0, 255, EQ64, 0, false, false),
        Some((1, 255))
    );
    assert_eq!(refine_interval(0, 255, EQ64, 300, true, false), None);
    assert_eq!(
        refine_interval(0, 255, c(JmpOp::Jset, true), 1, true, false),
        None
    );
    // Signed 32-bit: 0x80000000.. are negative.
    assert_eq!(
        refine_interval(0, U32, c(JmpOp::Jslt, false), 0, true, false),
        Some((0x8000_0000, U32))
    );
    assert_eq!(
        refine_interval(0, U32, c(JmpOp::Jsge, false), 0, true, false),
        Some((0, 0x7fff_ffff))
    );
    // Signed 64-bit: every value below 2^32 is non-negative.
    assert_eq!(
        refine_interval(0, U32, c(JmpOp::Jslt, true), 0, true, false),
        None
    );
    assert_eq!(
        refine_interval(0, U32, c(JmpOp::Jsgt, true), u64::MAX, true, false),
        Some((0, U32))
    );
    // Every refinement keeps only values for which the comparison holds.
    for op in [
        JmpOp::Jeq,
        JmpOp::Jne,
        JmpOp::Jgt,
        JmpOp::Jge,
        JmpOp::Jlt,
        JmpOp::Jle,
        JmpOp::Jsgt,
        JmpOp::Jsge,
        JmpOp::Jslt,
        JmpOp::Jsle,
    ] {
        for wide in [true, false] {
            for (lo, hi) in [
                (0u64, 255u64),
                (0x7fff_fff0, 0x8000_0010),
                (0, U32),
                (0, u64::MAX),
                (5, 1 << 63),
            ] {
                for cst in [0u64, 5, 0x7fff_ffff, 0x8000_0000, u64::MAX] {
                    for taken in [false, true] {
                        let cmp = c(op, wide);
                        if let Some((a, b)) = refine_interval(lo, hi, cmp, cst, taken, false) {
                            assert!(lo <= a && a <= b && b <= hi);
                            for x in [a, b, a + (b - a) / 2] {
                                assert_eq!(cond(cmp, x, cst), Some(taken), "{op:?} {x}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn hull_refinement() {
    let c = |op, wide| Cmp { op, wide };
    // `!= 5` leaves [0, 255] around a hole: the hull keeps it all.
    assert_eq!(
        refine_interval(0, 255, EQ64, 5, false, true),
        Some((0, 255))
    );
    assert_eq!(
        refine_interval(0, 255, EQ64, 0, false, true),
        Some((1, 255))
    );
    // Both signed halves.
    assert_eq!(
        refine_interval(
            0x7fff_fff0,
            0x8000_0010,
            c(JmpOp::Jsgt, false),
            0x8000_0005,
            true,
            true
        ),
        Some((0x7fff_fff0, 0x8000_0010))
    );
    assert_eq!(
        refine_interval(
            0x7fff_fff0,
            0x8000_0010,
            c(JmpOp::Jsgt, false),
            0,
            true,
            true
        ),
        Some((0x7fff_fff0, 0x7fff_ffff))
    );
}

#[test]
fn joins() {
    let r = |lo, hi| Val::range(lo, hi, 7, false);
    let hull = |v: Val| v.hull();
    let under = |v: Val| v.under().map(|u| (u.0, u.1));
    assert_eq!(join_val(Val::konst(1), Val::konst(1)), Val::konst(1));
    // Constants from two paths: the kernel knows each, so both bound it.
    let j = join_val(Val::konst(1), Val::konst(7));
    assert_eq!((hull(j), under(j)), (Some((1, 7)), None));
    assert_eq!(
        hull(join_val(Val::konst(1), Val::konst(1 << 40))),
        Some((1, 1 << 40))
    );
    assert_eq!(join_val(Val::UNSET, Val::konst(2)).init, Init::Maybe);
    assert_eq!(join_val(Val::UNSET, Val::UNSET), Val::UNSET);
    // One range group: what cannot be ruled out on both, bounds of either.
    let j = join_val(r(0, 10), r(5, 20));
    assert_eq!((hull(j), under(j)), (Some((0, 20)), Some((5, 10))));
    let j = join_val(r(0, 10), Val::konst(3));
    assert_eq!((hull(j), under(j)), (Some((0, 10)), Some((3, 3))));
    // Two groups: merged (into the lesser), nothing surely possible.
    let j = join_val(r(0, 10), Val::range(0, 10, 8, false));
    assert_eq!((hull(j), under(j)), (Some((0, 10)), None));
    assert!(matches!(j.k, K::Range { site: 7, .. }));
    // A range lost in a join may still be a copy to the kernel.
    assert!(join_val(r(0, 10), Val::ptr(OTHER, None)).linked);
    let sp = Val::ptr(STACK, Some(-8));
    assert_eq!(
        join_val(sp, Val::ptr(STACK, Some(-16))).k,
        Val::ptr(STACK, None).k
    );
    let mixed = join_val(sp, Val::konst(0));
    assert!(mixed.stack && mixed.k == K::None);
}

#[test]
fn arithmetic() {
    let fp = Val::ptr(STACK, Some(0));
    let k = Val::konst;
    assert_eq!(
        alu(AluOp::Add, true, false, Some(fp), k((-8i64) as u64), 9),
        Val::ptr(STACK, Some(-8))
    );
    assert_eq!(
        alu(AluOp::Sub, true, false, Some(fp), k(16), 9),
        Val::ptr(STACK, Some(-16))
    );
    assert_eq!(
        alu(AluOp::Add, true, false, Some(fp), Val::UNKNOWN, 9),
        Val::ptr(STACK, None)
    );
    assert_eq!(
        alu(AluOp::Mov, false, false, None, k(u64::MAX), 9),
        k(0xffff_ffff)
    );
    let r = Val::range(0, 255, 3, false);
    let f = alu(AluOp::And, true, false, Some(r), k(0xf), 9);
    assert_eq!(
        (f.hull(), f.under().map(|u| (u.0, u.1))),
        (Some((0, 15)), Some((0, 15)))
    );
    let f = alu(AluOp::Rsh, true, false, Some(r), k(4), 9);
    assert_eq!(f.under().map(|u| (u.0, u.1)), Some((0, 15)));
    // Sums are bounded (the kernel tracks them) but linked to r; every sum
    // of a value the kernel cannot rule out stays possible.
    let f = alu(AluOp::Add, true, false, Some(r), k(10), 9);
    assert_eq!(
        (f.hull(), f.under(), f.linked),
        (Some((10, 265)), Some((10, 265, false)), true)
    );
    let f = alu(AluOp::Sub, false, false, Some(r), k(10), 9);
    assert_eq!(f.under(), Some((0, 245, false)));
    // A 32-bit result is zero-extended.
    assert_eq!(
        alu(AluOp::Add, false, false, Some(Val::UNKNOWN), k(1), 9).hull(),
        Some((0, U32))
    );
    // A new value, of its own group.
    let f = alu(AluOp::Add, true, false, Some(Val::UNKNOWN), k(1), 9);
    assert_eq!(f.hull(), Some((0, u64::MAX)));
    assert!(matches!(f.k, K::Range { site: 9, .. }));
    assert_eq!(hull_arith(AluOp::Sub, true, (0, 5), (1, 1)), None);
    assert_eq!(hull_arith(AluOp::Sub, false, (0, 5), (1, 1)), None);
    assert_eq!(hull_arith(AluOp::Or, true, (4, 5), (1, 2)), Some((4, 7)));
    assert_eq!(hull_arith(AluOp::Lsh, true, (1, 3), (4, 4)), Some((16, 48)));
    assert_eq!(hull_arith(AluOp::Mul, true, (2, 3), (4, 5)), Some((8, 15)));
}

#[test]
fn joins_merge_groups() {
    let mut a = State::entry_main(false);
    let mut b = State::entry_main(false);
    // r2 and r3 are copies in group 5 on one path; on the other r2 is
    // of group 6 and r4 a copy of it.
    a.regs[2] = Val::range(0, 9, 5, false);
    a.regs[3] = Val::range(0, 9, 5, false);
    b.regs[2] = Val::range(0, 9, 6, false);
    b.regs[3] = Val::range(0, 9, 5, false);
    b.regs[4] = Val::range(0, 9, 6, false);
    a.regs[4] = Val::range(0, 9, 6, false);
    assert!(a.join(&b, false));
    for r in 2..=4 {
        assert!(matches!(a.regs[r].k, K::Range { site: 5, .. }), "{r}");
    }
    // Refining r2 now refines r3 and r4 too.
    a.refine(
        2,
        Cmp {
            op: JmpOp::Jgt,
            wide: true,
        },
        4,
        false,
    );
    for r in 2..=4 {
        assert_eq!(a.regs[r].hull(), Some((0, 4)), "{r}");
    }
    assert!(!a.join(&a.clone(), false));
}

#[test]
fn spills_and_fills() {
    let mut st = State::entry_main(false);
    st.spill(-8, 8, Some(Val::konst(3)));
    assert_eq!(st.fill(-8, 8), Some(Val::konst(3)));
    assert_eq!(st.fill(-8, 4), None);
    st.spill(-16, 8, Some(Val::konst(0)));
    assert_eq!(st.fill(-12, 4), Some(Val::konst(0)));
    // An overlapping write replaces what was there.
    st.spill(-12, 4, None);
    assert_eq!(st.fill(-16, 8), None);
    assert_eq!(st.fill(-8, 8), Some(Val::konst(3)));
    st.spill(-4, 4, Some(Val::konst(0x1_0000_0007)));
    assert_eq!(st.fill(-4, 4), Some(Val::konst(7)));
    st.stack_havoc();
    assert!(st.spills.is_empty());
}

#[test]
fn program_type_checks_only_where_the_kernel_walks() {
    let err = |src: &str| crate::assemble(src).err().map(|e| e.to_string());
    // Dead on a constant branch: the kernel never walks it.
    assert_eq!(
        err(
            "mov r2, 0\njeq r2, 0, out\nldxw r0, [r1 + 80]\ncall clone_redirect\nout: mov r0, 0\nexit"
        ),
        None
    );
    // On a path the kernel walks.
    let e = err("ldxdw r0, [r1 + 8]\nexit").unwrap();
    assert!(
        e.contains("`__sk_buff.mark`") && e.contains("e.g. `ldxw r0, [r1 + 8]`"),
        "{e}"
    );
    let e = err("#![prog_type = xdp]\nmov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 4\ncall skb_load_bytes\nmov r0, 2\nexit").unwrap();
    assert!(e.contains("did you mean `xdp_load_bytes`"), "{e}");
    // The context pointer moved and moved back is the context pointer.
    assert_eq!(
        err("mov r2, r1\nadd r2, 8\nadd r2, -8\nldxw r0, [r2 + 8]\nexit"),
        None
    );
    // Program types without a table: no context or helper checks.
    assert_eq!(
        err("#![prog_type = kprobe]\nldxdw r0, [r1 + 8]\nexit"),
        None
    );
}
