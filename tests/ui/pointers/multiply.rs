use bpf_loader::{Program, bpf_prog};

// Multiplying the context pointer: the kernel says "R1 pointer arithmetic
// with *= operator prohibited".
const P: Program = bpf_prog! {
    mul r1, 2;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
