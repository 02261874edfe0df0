use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    stdw [r10 - 520], 0;
    stw [r10 + 0], 0;
    ldxdw r0, [r10 - 4];
    ldxw r0, [r10 - 6];
    exit
};

fn main() {
    let _ = P;
}
