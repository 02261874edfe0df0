use bpf_loader::{Program, bpf_prog};

// Subtracting from a stack pointer: the kernel says "R2 subtraction from
// stack pointer prohibited".
const P: Program = bpf_prog! {
    mov r2, r10;
    sub r2, 8;
    stdw [r2 + 0], 0;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
