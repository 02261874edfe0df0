use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r2, r1;
    add r2, 8;
    ldxw r0, [r2 + 0];
    exit
};

fn main() {}
