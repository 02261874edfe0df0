use bpf_loader::{Program, bpf_prog};

// A bitwise operation on a stack pointer: the kernel says "R3 bitwise
// operator |= on pointer prohibited".
const P: Program = bpf_prog! {
    mov r3, r10;
    or r3, 1;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
