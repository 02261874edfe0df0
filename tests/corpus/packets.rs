//! Direct packet access (`sched_cls`, `xdp`, `cgroup_skb`): loads and
//! stores through `data`, checked against `data_end` in every direction,
//! through copies, spills and moved pointers.

use super::Case;

/// `sched_cls`: r2 = data, r3 = data_end, then `body`.
fn tc(body: &str) -> String {
    format!("#![prog_type = sched_cls]\nldxw r2, [r1 + 76]\nldxw r3, [r1 + 80]\n{body}")
}

/// `xdp`: r2 = data, r3 = data_end, then `body`.
fn xdp(body: &str) -> String {
    format!("#![prog_type = xdp]\nldxw r2, [r1 + 0]\nldxw r3, [r1 + 4]\n{body}")
}

/// `cgroup_skb`: r2 = data, r3 = data_end, then `body`.
fn cg(body: &str) -> String {
    format!("#![prog_type = cgroup_skb]\nldxw r2, [r1 + 76]\nldxw r3, [r1 + 80]\n{body}")
}

const BAD: &str = "invalid access to packet";

fn refused() -> Vec<Case> {
    vec![
        // No check at all.
        Case::refused(
            tc("ldxb r0, [r2 + 0]\nmov r0, 0\nexit"),
            "no byte of the packet",
            BAD,
        ),
        Case::refused(
            xdp("ldxw r0, [r2 + 12]\nmov r0, 2\nexit"),
            "no byte of the packet",
            BAD,
        ),
        // Checked for 14 bytes, read past them.
        Case::refused(
            tc("mov r4, r2\nadd r4, 14\njgt r4, r3, out\nldxw r0, [r2 + 12]\nout: mov r0, 0\nexit"),
            "only the first 14 bytes",
            BAD,
        ),
        Case::refused(
            xdp(
                "mov r4, r2\nadd r4, 14\njgt r4, r3, out\nldxdw r0, [r2 + 8]\nout: mov r0, 2\nexit",
            ),
            "packet bytes 8..16",
            BAD,
        ),
        // The wrong edge: the taken side of `data + 14 > data_end`.
        Case::refused(
            tc(
                "mov r4, r2\nadd r4, 14\njgt r4, r3, short\nmov r0, 0\nexit\n\
                short: ldxb r0, [r2 + 0]\nmov r0, 0\nexit",
            ),
            "packet",
            BAD,
        ),
        // `data_end` on the left, the wrong edge.
        Case::refused(
            tc("mov r4, r2\nadd r4, 8\njlt r3, r4, out\nldxdw r0, [r2 + 4]\nout: mov r0, 0\nexit"),
            "only the first 8 bytes",
            BAD,
        ),
        Case::refused(
            tc("mov r4, r2\nadd r4, 8\njge r3, r4, ok\nldxb r0, [r2 + 0]\nok: mov r0, 0\nexit"),
            "packet",
            BAD,
        ),
        // Through a copy moved after the check.
        Case::refused(
            tc(
                "mov r4, r2\nadd r4, 4\njgt r4, r3, out\nadd r2, 2\nldxw r0, [r2 + 0]\n\
                out: mov r0, 0\nexit",
            ),
            "(r2 is `data` + 2)",
            BAD,
        ),
        // Before the packet.
        Case::refused(
            tc("mov r4, r2\nadd r4, 8\njgt r4, r3, out\nldxb r0, [r2 - 1]\nout: mov r0, 0\nexit"),
            "before the packet",
            BAD,
        ),
        // Through a spilled and filled pointer, unchecked.
        Case::refused(
            tc("stxdw [r10 - 8], r2\nldxdw r5, [r10 - 8]\nldxb r0, [r5 + 0]\nmov r0, 0\nexit"),
            "no byte of the packet",
            BAD,
        ),
        // Stores.
        Case::refused(
            tc("mov r4, r2\nadd r4, 2\njgt r4, r3, out\nsth [r2 + 1], 0\nout: mov r0, 0\nexit"),
            "packet bytes 1..3",
            BAD,
        ),
        Case::refused(
            cg("mov r4, r2\nadd r4, 2\njgt r4, r3, out\nstb [r2 + 0], 0\nout: mov r0, 1\nexit"),
            "may only read",
            "cannot write into packet",
        ),
        // A variable offset needs a check of its own.
        Case::refused(
            tc(
                "ldxw r5, [r1 + 0]\nand r5, 15\nmov r4, r2\nadd r4, 20\njgt r4, r3, out\n\
                mov r4, r2\nadd r4, r5\nldxw r0, [r4 + 0]\nout: mov r0, 0\nexit",
            ),
            "past r4's variable offset",
            BAD,
        ),
        // 32-bit comparisons teach the kernel nothing.
        Case::refused(
            tc("mov r4, r2\nadd r4, 4\njgt32 r4, r3, out\nldxw r0, [r2 + 0]\nout: mov r0, 0\nexit"),
            "no byte of the packet",
            BAD,
        ),
        // Through `data_end`.
        Case::refused(
            tc("ldxb r0, [r3 - 1]\nmov r0, 0\nexit"),
            "`data_end`",
            "invalid mem access 'pkt_end'",
        ),
        // Arithmetic on `data_end`.
        Case::refused(
            tc("add r3, -4\nmov r0, 0\nexit"),
            "arithmetic on `data_end`",
            "pointer arithmetic on pkt_end prohibited",
        ),
        Case::refused(
            xdp("mov r4, 4\nadd r4, r3\nmov r0, 2\nexit"),
            "arithmetic on `data_end`",
            "pointer arithmetic on pkt_end prohibited",
        ),
        // Other pointer arithmetic on packet pointers.
        Case::refused(
            tc("and r2, -4\nmov r0, 0\nexit"),
            "a packet pointer",
            "bitwise operator &= on pointer prohibited",
        ),
        Case::refused(
            tc("add32 r2, 4\nmov r0, 0\nexit"),
            "32-bit arithmetic",
            "32-bit pointer arithmetic prohibited",
        ),
        Case::refused(
            tc("add r2, r3\nmov r0, 0\nexit"),
            "pointer + pointer",
            "pointer += pointer prohibited",
        ),
        // Atomics on the packet.
        Case::refused(
            tc(
                "mov r4, r2\nadd r4, 8\njgt r4, r3, out\nmov r5, 1\nlock add [r2 + 0], r5\n\
                out: mov r0, 0\nexit",
            ),
            "atomic operation on the packet",
            "BPF_ATOMIC stores into R2 pkt is not allowed",
        ),
        // A helper call forgets the check (here: one that changes the packet).
        Case::refused(
            tc(
                "mov r6, r1\nmov r7, r2\nmov r4, r2\nadd r4, 8\njgt r4, r3, out\nmov r1, r6\n\
                mov r2, 8\ncall skb_pull_data\nldxb r0, [r7 + 0]\nmov r0, 0\nexit\n\
                out: mov r0, 0\nexit",
            ),
            "a packet pointer from before `call skb_pull_data`",
            "R7 invalid mem access 'scalar'",
        ),
    ]
}

fn loads() -> Vec<Case> {
    vec![
        // The usual check, each direction and each operator.
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njgt r4, r3, out\nldxw r0, [r2 + 10]\nldxb r0, [r2 + 13]\n\
             out: mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njlt r3, r4, out\nldxh r0, [r2 + 12]\nout: mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njge r3, r4, ok\nmov r0, 0\nexit\nok: ldxh r0, [r2 + 12]\n\
             mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njle r4, r3, ok\nmov r0, 0\nexit\nok: ldxh r0, [r2 + 12]\n\
             mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njge r4, r3, out\nldxh r0, [r2 + 12]\nout: mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njlt r4, r3, ok\nmov r0, 0\nexit\nok: ldxh r0, [r2 + 12]\n\
             mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njgt r3, r4, ok\nmov r0, 0\nexit\nok: ldxh r0, [r2 + 12]\n\
             mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "mov r4, r2\nadd r4, 14\njle r3, r4, out\nldxh r0, [r2 + 12]\nout: mov r0, 0\nexit",
        )),
        // Through the moved pointer, through the checked copy, and stores.
        Case::loads(xdp(
            "mov r4, r2\nadd r4, 20\njgt r4, r3, out\nldxw r0, [r4 - 4]\nadd r2, 16\n\
             ldxw r0, [r2 + 0]\nstw [r2 + 0], 7\nout: mov r0, 2\nexit",
        )),
        // Checked twice: the longer check wins.
        Case::loads(tc(
            "mov r4, r2\nadd r4, 8\njgt r4, r3, out\nmov r4, r2\nadd r4, 34\njgt r4, r3, out\n\
             ldxw r0, [r2 + 30]\nout: mov r0, 0\nexit",
        )),
        // Spilled and filled after the check.
        Case::loads(tc(
            "mov r4, r2\nadd r4, 4\njgt r4, r3, out\nstxdw [r10 - 8], r2\nldxdw r5, [r10 - 8]\n\
             ldxw r0, [r5 + 0]\nout: mov r0, 0\nexit",
        )),
        // Spilled before the check: the kernel refines spilled pointers too.
        Case::loads(tc(
            "stxdw [r10 - 8], r2\nmov r4, r2\nadd r4, 4\njgt r4, r3, out\nldxdw r5, [r10 - 8]\n\
             ldxw r0, [r5 + 0]\nout: mov r0, 0\nexit",
        )),
        // Two loads of `data` are one packet pointer to the kernel.
        Case::loads(tc(
            "ldxw r5, [r1 + 76]\nmov r4, r2\nadd r4, 4\njgt r4, r3, out\nldxw r0, [r5 + 0]\n\
             out: mov r0, 0\nexit",
        )),
        // Paths joined with different checks: each walked alone.
        Case::loads(tc(
            "mov r6, r1\nldxw r7, [r6 + 0]\nmov r4, r2\nadd r4, 8\njgt r4, r3, out\n\
             jeq r7, 0, join\nmov r4, r2\nadd r4, 16\njgt r4, r3, out\nldxdw r0, [r2 + 8]\n\
             join: ldxdw r0, [r2 + 0]\nout: mov r0, 0\nexit",
        )),
        // A check through pointers joined from two offsets.
        Case::loads(tc(
            "ldxw r7, [r1 + 0]\nmov r4, r2\nadd r4, 8\njeq r7, 0, j\nadd r4, 8\nj: jgt r4, r3, out\n\
             ldxdw r0, [r2 + 0]\nout: mov r0, 0\nexit",
        )),
        // A variable offset, checked: not followed, not refused.
        Case::loads(tc(
            "ldxw r7, [r1 + 0]\nand r7, 15\nmov r4, r2\nadd r4, r7\nmov r5, r4\nadd r5, 4\n\
             jgt r5, r3, out\nldxw r0, [r4 + 0]\nout: mov r0, 0\nexit",
        )),
        // A register the kernel knows exactly moves the pointer like a
        // constant: checks made through either copy hold for both.
        Case::loads(tc(
            "ldxw r5, [r1 + 0]\njne r5, 4, out\nmov r4, r2\nadd r4, 8\njgt r4, r3, out\n\
             mov r4, r2\nadd r4, r5\nldxw r0, [r4 + 0]\nout: mov r0, 0\nexit",
        )),
        Case::loads(tc(
            "ldxw r5, [r1 + 0]\njgt r5, 4, out\njlt r5, 4, out\nmov r4, r2\nadd r4, r5\n\
             add r4, 4\njgt r4, r3, out\nldxw r0, [r2 + 4]\nout: mov r0, 0\nexit",
        )),
        // A loop counter as an offset: the kernel walks each value.
        Case::loads(tc(
            "mov r4, r2\nadd r4, 16\njgt r4, r3, out\nmov r6, 0\nloop: mov r4, r2\n\
             add r4, r6\nldxb r0, [r4 + 0]\nadd r6, 1\njlt r6, 16, loop\nout: mov r0, 0\nexit",
        )),
        // The length as a number is not a check, but unused it is fine.
        Case::loads(tc("mov r0, r3\nsub r0, r2\nmov r0, 0\nexit")),
        // Reading after a check in cgroup_skb; `data_end` compared with itself.
        Case::loads(cg(
            "mov r4, r2\nadd r4, 1\njgt r4, r3, out\nldxb r0, [r2 + 0]\nout: mov r0, 1\nexit",
        )),
        // Dead paths are not judged.
        Case::loads(tc(
            "mov r5, 0\njne r5, 0, bad\nmov r0, 0\nexit\nbad: ldxdw r0, [r2 + 100]\nexit",
        )),
        // A check after a helper call that keeps packet pointers (reloaded).
        Case::loads(tc(
            "mov r6, r1\ncall get_prandom_u32\nldxw r2, [r6 + 76]\nldxw r3, [r6 + 80]\n\
             mov r4, r2\nadd r4, 2\njgt r4, r3, out\nldxh r0, [r2 + 0]\nout: mov r0, 0\nexit",
        )),
    ]
}

/// The packet corpus.
pub(crate) fn cases() -> Vec<Case> {
    [refused(), loads()].concat()
}
