use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    ldxw r0, [r1 + 40000];
    stxdw [r1 - 32769], r0;
    exit
};

fn main() {
    let _ = P;
}
