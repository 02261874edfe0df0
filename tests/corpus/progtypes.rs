//! The program-type checks (helpers, context fields, helper buffers)
//! against the kernel, each program loaded as its own program type.

use super::Case;

/// Programs the program-type checks reject: the kernel rejects each one,
/// loaded with the checks off, as its own program type.
const REJECTED: &[&str] = &[
    "mov r2, 1\nmov r3, 0\ncall clone_redirect\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, 0\nmov r4, 0\ncall l3_csum_replace\nmov r0, 0\nexit",
    "#![prog_type = xdp]\nmov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 4\ncall skb_load_bytes\nmov r0, 2\nexit",
    "#![prog_type = cgroup_skb]\nmov r2, 0\ncall redirect\nmov r0, 1\nexit",
    "ldxw r3, [r1 + 80]\nmov r0, 0\nexit",
    "ldxw r3, [r1 + 76]\nmov r0, 0\nexit",
    "ldxdw r0, [r1 + 8]\nexit",
    "ldxw r0, [r1 + 18]\nexit",
    "ldxh r2, [r1 + 168]\nmov r0, 0\nexit",
    "mov r2, 1\nstxw [r1 + 8], r2\nmov r0, 0\nexit",
    "stw [r1 + 0], 1\nmov r0, 0\nexit",
    "mov r2, r1\nadd r2, 8\nldxw r0, [r2 + 0]\nexit",
    "ldxw r0, [r1 + 192]\nexit",
    "ldxb r0, [r1 + 181]\nexit",
    "mov r2, 0\nstxdw [r1 + 64], r2\nmov r0, 0\nexit",
    "mov r2, 1\nlock add [r1 + 48], r2\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nmov r2, 0\nstxdw [r1 + 8], r2\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nldxw r0, [r1 + 92]\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nldxh r0, [r1 + 152]\nmov r0, 0\nexit",
    "#![prog_type = xdp]\nldxh r0, [r1 + 0]\nmov r0, 2\nexit",
    "#![prog_type = xdp]\nldxw r0, [r1 + 20]\nmov r0, 2\nexit",
    "#![prog_type = xdp]\nmov r2, 0\nstxw [r1 + 16], r2\nmov r0, 2\nexit",
    "#![prog_type = cgroup_skb]\nldxw r0, [r1 + 140]\nmov r0, 1\nexit",
    "#![prog_type = cgroup_skb]\nmov r2, 0\nstxw [r1 + 40], r2\nmov r0, 1\nexit",
    "call get_prandom_u32\nmov r6, r0\nmov r0, 0\njgt r6, 5, out\nldxw r0, [r1 + 80]\nout: exit",
    // A helper's buffer reaching outside the stack at its size.
    "mov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 8\ncall skb_load_bytes\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, r10\nadd r3, -516\nmov r4, 8\ncall skb_load_bytes\nmov r0, 0\nexit",
    "mov r6, r1\nldxw r4, [r6 + 0]\nand r4, 63\nadd r4, 1\nmov r1, r6\nmov r2, 0\nmov r3, r10\nadd r3, -8\ncall skb_load_bytes\nmov r0, 0\nexit",
];

/// Tricky programs the checks accept: each loads.
const ACCEPTED: &[&str] = &[
    "ldxb r0, [r1 + 16]\nldxb r0, [r1 + 19]\nldxh r0, [r1 + 18]\nldxw r0, [r1 + 16]\nexit",
    "mov r2, 0\nstxdw [r1 + 48], r2\nstxw [r1 + 64], r2\nstb [r1 + 51], 1\nldxdw r0, [r1 + 56]\nmov r0, 0\nexit",
    "ldxdw r2, [r1 + 168]\nldxb r3, [r1 + 0]\nmov r0, 0\nexit",
    "mov r2, r1\nadd r2, 8\nadd r2, -8\nldxw r0, [r2 + 8]\nexit",
    "mov r2, 0\njeq r2, 0, out\nldxw r0, [r1 + 80]\ncall clone_redirect\nout: mov r0, 0\nexit",
    "mov r2, r10\nadd r2, -8\nmov r3, 0\nmov r4, r2\nmov r2, 0\nmov r3, r10\nadd r3, -8\nmov r4, 8\ncall skb_load_bytes\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nldxw r2, [r1 + 76]\nldxw r3, [r1 + 80]\nldxw r4, [r1 + 140]\nldxdw r5, [r1 + 152]\nldxb r5, [r1 + 180]\nstw [r1 + 8], 7\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nmov r2, 1\nmov r3, 0\ncall clone_redirect\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, r10\nadd r3, -16\nmov r4, 16\ncall skb_load_bytes\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, r10\nadd r3, -512\nmov r4, 512\ncall skb_load_bytes\nmov r0, 0\nexit",
    "#![prog_type = xdp]\nldxw r2, [r1 + 0]\nldxw r3, [r1 + 4]\nldxw r4, [r1 + 16]\nmov r0, 2\nexit",
    "#![prog_type = cgroup_skb]\nldxw r2, [r1 + 76]\nldxw r3, [r1 + 80]\nstw [r1 + 8], 1\nldxh r4, [r1 + 132]\nmov r0, 1\nexit",
];

/// The program-type corpus.
pub(crate) fn cases() -> Vec<Case> {
    let refused = REJECTED.iter().map(|s| Case::agree(*s, true));
    let loads = ACCEPTED.iter().map(|s| Case::agree(*s, false));
    refused.chain(loads).collect()
}
