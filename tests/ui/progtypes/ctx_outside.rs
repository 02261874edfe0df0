use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    ldxw r0, [r1 + 192];
    ldxb r2, [r1 + 181];
    exit
};

fn main() {}
