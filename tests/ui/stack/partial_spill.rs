use bpf_loader::{Program, bpf_prog};

// Four bytes of the context pointer stored on the stack: the kernel says
// "invalid size of register spill".
const P: Program = bpf_prog! {
    stxw [r10 - 8], r1;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
