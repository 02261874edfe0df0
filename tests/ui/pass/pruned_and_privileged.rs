use bpf_loader::{Program, bpf_prog};

// The branch on a known constant never jumps, so `out`'s read of r7 is on a
// dead path, as the kernel also sees it; and reading unwritten stack is
// allowed without `#![unprivileged]`.
const P: Program = bpf_prog! {
    mov r2, 0;
    jne r2, 0, out;
    ldxdw r0, [r10 - 8];
    exit;
out:
    mov r0, r7;
    exit
};

fn main() {
    assert_eq!(P.len(), 6);
}
