//! Helpers that return a reference or null (`sk_lookup_tcp`,
//! `ringbuf_reserve`): null checks, releases on every path, arithmetic.

use super::Case;

/// `sched_cls`: looks up a TCP socket for a zeroed IPv4 tuple; r0 holds
/// the result, then `body`.
fn sk(body: &str) -> String {
    format!(
        "#![prog_type = sched_cls]\nstdw [r10 - 16], 0\nstdw [r10 - 8], 0\nmov r2, r10\n\
         add r2, -16\nmov r3, 12\nmov r4, -1\nmov r5, 0\ncall sk_lookup_tcp\n{body}"
    )
}

/// Reserves 8 bytes of ring buffer `rb`; r0 holds the result, then `body`.
fn rb(body: &str) -> String {
    format!(
        "#![map(rb: ringbuf, max_entries = 4096)]\nlddw r1, map_fd(rb)\nmov r2, 8\nmov r3, 0\n\
         call ringbuf_reserve\n{body}"
    )
}

const LEAK: &str = "Unreleased reference";

/// Looks up key 0 of sockmap `s` (sched_cls); r0 holds the result.
fn sockmap(body: &str) -> String {
    format!(
        "#![prog_type = sched_cls]\n#![map(s: sockmap, key = u32, value = u64, max_entries = 4)]\n\
         stw [r10 - 4], 0\nlddw r1, map_fd(s)\nmov r2, r10\nadd r2, -4\ncall map_lookup_elem\n{body}"
    )
}

fn refused() -> Vec<Case> {
    vec![
        Case::refused(
            sockmap("jeq r0, 0, out\nldxw r2, [r0 + 4]\nout: mov r0, 0\nexit"),
            "still holds what `call map_lookup_elem`",
            LEAK,
        ),
        Case::refused(
            sk("ldxw r1, [r0 + 4]\nmov r0, 0\nexit"),
            "when no socket matches",
            "R0 invalid mem access 'sock_or_null'",
        ),
        Case::refused(
            sk("jeq r0, 0, out\nmov r0, 0\nexit\nout: mov r0, 0\nexit"),
            "still holds what `call sk_lookup_tcp`",
            LEAK,
        ),
        Case::refused(
            sk(
                "mov r6, r0\njeq r6, 0, out\nldxw r1, [r6 + 4]\njeq r1, 2, out\nmov r1, r6\n\
                call sk_release\nout: mov r0, 0\nexit",
            ),
            "still holds",
            LEAK,
        ),
        Case::refused(
            sk("jeq r0, 0, out\nadd r0, 4\nmov r1, r0\ncall sk_release\nout: mov r0, 0\nexit"),
            "arithmetic on sockets",
            "pointer arithmetic on sock prohibited",
        ),
        Case::refused(
            sk("add r0, 4\nmov r0, 0\nexit"),
            "r0 may be null here",
            "pointer arithmetic on sock_or_null prohibited",
        ),
        Case::refused(
            rb("stdw [r0 + 0], 1\nmov r1, r0\nmov r2, 0\ncall ringbuf_submit\nmov r0, 0\nexit"),
            "when the ring buffer has no room",
            "R0 invalid mem access 'ringbuf_mem_or_null'",
        ),
        Case::refused(
            rb("jeq r0, 0, out\nstdw [r0 + 0], 1\nout: mov r0, 0\nexit"),
            "pass it to `call ringbuf_submit`",
            LEAK,
        ),
    ]
}

fn loads() -> Vec<Case> {
    vec![
        // Once released, every copy of a reference is a number.
        Case::loads(sk(
            "mov r6, r0\njeq r6, 0, out\nmov r1, r6\ncall sk_release\nadd r6, 2\nout: mov r0, 0\nexit",
        )),
        Case::loads(rb(
            "jeq r0, 0, out\nmov r6, r0\nstxdw [r10 - 8], r0\nmov r1, r6\nmov r2, 0\n\
             call ringbuf_discard\nldxdw r7, [r10 - 8]\nadd r7, r6\nout: mov r0, 0\nexit",
        )),
        // A sockmap lookup gives a referenced socket.
        Case::loads(sockmap(
            "jeq r0, 0, out\nldxw r2, [r0 + 4]\nmov r1, r0\ncall sk_release\nout: mov r0, 0\nexit",
        )),
        Case::loads(sk(
            "jeq r0, 0, out\nmov r1, r0\ncall sk_release\nout: mov r0, 0\nexit",
        )),
        Case::loads(sk(
            "jne r0, 0, got\nmov r0, 0\nexit\ngot: ldxw r2, [r0 + 4]\nmov r1, r0\n\
             call sk_release\nmov r0, 0\nexit",
        )),
        Case::loads(sk(
            "mov r6, r0\njeq r6, 0, out\nldxw r1, [r6 + 4]\nmov r1, r6\ncall sk_release\n\
             out: mov r0, 0\nexit",
        )),
        // Released on both paths of a later branch.
        Case::loads(sk(
            "mov r6, r0\njeq r6, 0, out\nldxw r1, [r6 + 4]\njeq r1, 2, two\nmov r1, r6\n\
             call sk_release\nja out\ntwo: mov r1, r6\ncall sk_release\nout: mov r0, 0\nexit",
        )),
        Case::loads(rb(
            "jeq r0, 0, out\nstdw [r0 + 0], 1\nmov r1, r0\nmov r2, 0\ncall ringbuf_submit\n\
             out: mov r0, 0\nexit",
        )),
        Case::loads(rb(
            "jeq r0, 0, out\nmov r1, r0\nmov r2, 0\ncall ringbuf_discard\nout: mov r0, 0\nexit",
        )),
    ]
}

/// The reference corpus.
pub(crate) fn cases() -> Vec<Case> {
    [refused(), loads()].concat()
}
