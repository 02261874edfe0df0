//! The checks the kernel makes before it walks (control flow) and the
//! simplest ones it makes while walking: each named check's plainest case,
//! refused, beside a near miss that loads.

use super::Case;

const MAP: &str = "#![map(m: hash, key = u32, value = u64, max_entries = 4)]\n";

fn refused() -> Vec<Case> {
    vec![
        // jump_target: into another function.
        Case::caught("mov r0, 0\ncall local f\nja g\nf: mov r0, 1\ng: exit", ""),
        // unreachable
        Case::caught("mov r0, 0\nexit\nmov r0, 1\nexit", "unreachable insn"),
        // fall_off_end
        Case::caught(
            "mov r0, 0\njeq r0, 0, +1\nexit\nmov r0, 1",
            "last insn is not an exit or jmp",
        ),
        // fall_into_function
        Case::caught("call local f\nmov r0, 0\nf: mov r0, 1\nexit", ""),
        // call_frames: recursion and deep chains, followed walked or not.
        Case::caught(
            "mov r0, 0\ncall local f\nexit\nf: call local f\nmov r0, 0\nexit",
            "too deep",
        ),
        Case::caught(
            "mov r0, 0\ncall local f\nexit\nf: mov r0, 0\ncall local g\nexit\n\
             g: call local f\nexit",
            "too deep",
        ),
        Case::caught(
            "mov r0, 0\nmov r1, 0\njne r1, 0, l\nexit\nl: call local f\nexit\n\
             f: call local f\nmov r0, 0\nexit",
            "too deep",
        ),
        Case::caught(
            format!(
                "mov r0, 0\nmov r1, 0\njne r1, 0, l\nexit\nl: call local f1\nexit\n{}",
                chain(9)
            ),
            "too deep",
        ),
        // call_frames: legacy packet loads inside a function.
        Case::caught(
            "mov r6, r1\ncall local f\nexit\nf: mov r6, r1\nldabsb 0\nexit",
            "LD_ABS is not allowed in subprogs",
        ),
        // exit_r0
        Case::caught("exit", "R0 !read_ok"),
        Case::caught("call get_prandom_u32\nmov r0, r1\nexit", "R1 !read_ok"),
        // unset_register
        Case::caught("mov r0, r5\nexit", "R5 !read_ok"),
        Case::caught(
            "call get_prandom_u32\njgt r0, 5, l\nmov r7, 1\nl: mov r0, r7\nexit",
            "R7 !read_ok",
        ),
        // map_args
        Case::caught(
            format!(
                "{MAP}mov r2, r10\nadd r2, -2\nlddw r1, map_fd(m)\ncall map_lookup_elem\n\
                 mov r0, 0\nexit"
            ),
            "",
        ),
        Case::caught(
            format!(
                "{MAP}stw [r10 - 4], 0\nmov r2, r10\nadd r2, -4\nmov r3, r10\nadd r3, 4\n\
                 mov r4, 0\nlddw r1, map_fd(m)\ncall map_update_elem\nmov r0, 0\nexit"
            ),
            "",
        ),
    ]
}

/// Functions f1 → f2 → ... → f(n-1), each calling the next.
fn chain(n: usize) -> String {
    (1..n)
        .map(|k| {
            let call = if k + 1 < n {
                format!("call local f{}\n", k + 1)
            } else {
                String::new()
            };
            format!("f{k}: {call}mov r0, 0\nexit\n")
        })
        .collect()
}

fn loads() -> Vec<Case> {
    vec![
        // Eight frames, on a dead path; a function called from two depths.
        Case::loads(format!(
            "mov r0, 0\nmov r1, 0\njne r1, 0, l\nexit\nl: call local f1\nexit\n{}",
            chain(8)
        )),
        Case::loads("call local f\ncall local g\nexit\nf: call local g\nexit\ng: mov r0, 0\nexit"),
        // A legacy load in the entry function of a program with functions.
        Case::loads("mov r6, r1\nldabsb 0\ncall local f\nexit\nf: mov r0, 0\nexit"),
        Case::loads("mov r0, 0\nja +0\nexit"),
        Case::loads("mov r0, 0\njeq r0, 1, +2\nlddw r1, 5\nexit"),
        Case::loads("call local f\nexit\nf: mov r0, 1\nexit"),
        Case::loads(
            "call get_prandom_u32\njgt r0, 5, l\nmov r7, 1\nexit\nl: mov r7, 2\nmov r0, r7\nexit",
        ),
        Case::loads(format!(
            "{MAP}stw [r10 - 4], 0\nstdw [r10 - 16], 7\nmov r2, r10\nadd r2, -4\nmov r3, r10\n\
             add r3, -16\nmov r4, 0\nlddw r1, map_fd(m)\ncall map_update_elem\nmov r0, 0\nexit"
        )),
    ]
}

/// The basic corpus.
pub(crate) fn cases() -> Vec<Case> {
    [refused(), loads()].concat()
}
