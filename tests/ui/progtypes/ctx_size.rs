use bpf_loader::{Program, bpf_prog};

const MARK: Program = bpf_prog! {
    ldxdw r0, [r1 + 8];
    exit
};

const SK: Program = bpf_prog! {
    ldxh r2, [r1 + 168];
    mov r0, 0;
    exit
};

fn main() {}
