use bpf_loader::{Program, bpf_prog};

// A number minus a pointer: the kernel says "R2 tried to subtract pointer
// from scalar".
const P: Program = bpf_prog! {
    mov r2, 64;
    sub r2, r10;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
