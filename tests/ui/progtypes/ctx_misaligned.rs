use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    ldxw r0, [r1 + 18];
    exit
};

fn main() {}
