use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    ldxw r0, [r1 * 8];
    stw [8], 1;
    exit
};

fn main() {
    let _ = P;
}
