//! Helper arguments of the kinds their prototypes fix: the context, a map,
//! a reference to release.

use super::Case;

const MAP: &str = "#![map(m: hash, key = u32, value = u64, max_entries = 4)]\n";
const JT: &str = "#![map(jt: prog_array, key = u32, value = u32, max_entries = 4)]\n";

/// `skb_load_bytes(r1, 0, r10 - 4, 4)` after `set_r1`.
fn load_bytes(set_r1: &str) -> String {
    format!(
        "{set_r1}\nmov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 4\ncall skb_load_bytes\nmov r0, 0\nexit"
    )
}

/// `map_lookup_elem(r1, r10 - 4)` after `set_r1`.
fn lookup(set_r1: &str) -> String {
    format!(
        "{MAP}stw [r10 - 4], 0\nmov r2, r10\nadd r2, -4\n{set_r1}\ncall map_lookup_elem\nmov r0, 0\nexit"
    )
}

fn refused() -> Vec<Case> {
    vec![
        Case::refused(
            load_bytes("mov r1, 0"),
            "takes the context pointer",
            "expected=ctx",
        ),
        Case::refused(
            load_bytes("mov r1, r10"),
            "takes the context pointer",
            "expected=ctx",
        ),
        Case::refused(
            load_bytes("add r1, 8"),
            "the context pointer moved by 8",
            "modified ctx ptr",
        ),
        Case::refused(
            load_bytes("mov r6, r1\ncall get_prandom_u32\nmov r1, r0"),
            "holds a number",
            "expected=ctx",
        ),
        Case::refused(lookup("mov r1, 0"), "takes a map", "expected=map_ptr"),
        Case::refused(lookup("mov r1, r10"), "takes a map", "expected=map_ptr"),
        Case::refused(
            format!("{JT}mov r2, 0\nmov r3, 0\ncall tail_call\nmov r0, 0\nexit"),
            "takes a map",
            "expected=map_ptr",
        ),
        Case::refused(
            "#![prog_type = sched_cls]\nstdw [r10 - 16], 0\nstdw [r10 - 8], 0\nmov r2, r10\n\
             add r2, -16\nmov r3, 12\nmov r4, -1\nmov r5, 0\ncall sk_lookup_tcp\nmov r1, r0\n\
             call sk_release\nmov r0, 0\nexit",
            "kernel refuses to release null",
            "",
        ),
    ]
}

fn loads() -> Vec<Case> {
    vec![
        Case::loads(load_bytes("mov r6, r1\ncall get_prandom_u32\nmov r1, r6")),
        Case::loads(load_bytes("stxdw [r10 - 16], r1\nldxdw r1, [r10 - 16]")),
        Case::loads(load_bytes("add r1, 8\nadd r1, -8")),
        Case::loads(format!(
            "{JT}mov r6, r1\nlddw r2, map_fd(jt)\nmov r3, 0\ncall tail_call\nmov r1, r6\n\
             mov r0, 0\nexit"
        )),
        Case::loads(lookup("lddw r1, map_fd(m)")),
    ]
}

/// The helper-argument corpus.
pub(crate) fn cases() -> Vec<Case> {
    [refused(), loads()].concat()
}
