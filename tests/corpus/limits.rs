//! What the checks leave to the kernel: rejections that need knowledge the
//! kernel has on one path and the checks lose where paths join, or states
//! the kernel explores one by one. Each is refused by the kernel and passes
//! the checks; the test fails if a check starts catching one (then move it
//! to its theme).

use super::Case;

pub(crate) fn cases() -> Vec<Case> {
    vec![
        // A constant on one path, joined with an unknown on the other: the
        // kernel walks the constant path alone and decides `jsge` there.
        Case::refused(
            "call get_prandom_u32\nmov r7, r0\nmov r0, 0\njne r7, 5, l1\nadd r7, 1\n\
             l1: jsge r7, 100, l2\nmov r10, 1\nl2: mov r0, 0\nexit",
            "",
            "frame pointer is read only",
        ),
        // A loop that provably never exits only on the path where r0 <= 7:
        // the kernel finds the same state again ("infinite loop").
        Case::refused(
            "call get_prandom_u32\nl: jgt r0, 7, out\nja l\nout: mov r0, 0\nexit",
            "",
            "infinite loop detected",
        ),
        // A callee reading the caller's stack through a pointer argument
        // beyond the caller's frame.
        Case::refused(
            "stdw [r10 - 8], 0\nmov r1, r10\nadd r1, -8\ncall local f\nexit\n\
             f: ldxdw r0, [r1 - 512]\nexit",
            "",
            "",
        ),
        // Comparisons of two registers holding ranges: the kernel refines
        // each from the other (not far enough to decide `jle r0, 3` here);
        // the checks do not follow it and stay quiet after them.
        Case::refused(
            "call get_prandom_u32\nmov r6, r0\nand r6, 15\ncall get_prandom_u32\nand r0, 7\n\
             jgt r0, r6, out\njgt r6, 3, out\njle r0, 3, out\nmov r10, 1\nout: mov r0, 0\nexit",
            "",
            "",
        ),
    ]
}
