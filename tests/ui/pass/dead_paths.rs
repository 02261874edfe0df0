use bpf_loader::{Program, bpf_prog};

// The kernel checks divisors, shift amounts, r10 writes and stack bounds
// only on the instructions it walks, and it decides branches from
// constants and from value ranges: each faulty instruction below is on a
// path it never walks, so the programs load (tests/corpus/walked.rs proves
// it) and compile.
const CONSTANT: Program = bpf_prog! {
    mov r0, 0;
    jeq r0, 0, ok;
    div r0, 0;
    lsh r0, 64;
    mov r10, 1;
    stdw [r10 + 8], 0;
    stw [r10 - 6], 0;
ok:
    exit
};

// After the first branch the kernel knows r0 s<= 100, so 200 s< r0 never
// holds.
const RANGE: Program = bpf_prog! {
    call get_prandom_u32;
    jsgt r0, 100, out;
    mov r2, 200;
    jslt r2, r0, never;
out:
    mov r0, 0;
    exit;
never:
    mov r10, 1;
    mov r0, 0;
    exit
};

fn main() {
    assert_eq!(CONSTANT.len(), 8);
    assert_eq!(RANGE.len(), 9);
}
