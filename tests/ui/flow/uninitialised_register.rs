use bpf_loader::{Program, bpf_prog};

// At entry only r1 (the context) and r10 (the frame pointer) are set.
const P: Program = bpf_prog! {
    mov r0, r5;
    exit
};

fn main() {
    let _ = P;
}
