use bpf_loader::{Program, bpf_prog};

// A program the kernel refuses on purpose (a test of the verifier, say):
// the checks it would fail are turned off by name; the others still run.
const P: Program = bpf_prog! {
    #![allow(unset_register, divisor)]
    mov r0, r2;
    div r0, 0;
    exit
};

fn main() {
    assert_eq!(P.len(), 3);
}
