use bpf_loader::{Program, bpf_prog};

// 32-bit arithmetic on a pointer: the kernel says "R2 32-bit pointer
// arithmetic prohibited".
const P: Program = bpf_prog! {
    mov r2, r10;
    add32 r2, -8;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
