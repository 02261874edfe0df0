use bpf_loader::{Program, bpf_prog};

// Four bytes of a spilled context pointer: the kernel says "invalid size of
// register fill".
const P: Program = bpf_prog! {
    stxdw [r10 - 8], r1;
    ldxw r2, [r10 - 8];
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
