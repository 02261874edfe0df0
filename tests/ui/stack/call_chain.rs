use bpf_loader::{Program, bpf_prog};

// Two bpf-to-bpf frames whose stacks add up to more than 512 bytes.
const P: Program = bpf_prog! {
    stdw [r10 - 304], 0;
    call local f;
    mov r0, 0;
    exit;
f:
    stdw [r10 - 304], 0;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
