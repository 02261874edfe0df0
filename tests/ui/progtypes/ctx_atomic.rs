use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r2, 1;
    lock add [r1 + 48], r2;
    mov r0, 0;
    exit
};

fn main() {}
