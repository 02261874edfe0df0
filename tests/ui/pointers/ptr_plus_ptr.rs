use bpf_loader::{Program, bpf_prog};

// Adding two pointers: the kernel says "R2 pointer += pointer prohibited".
const P: Program = bpf_prog! {
    mov r2, r10;
    add r2, r1;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
