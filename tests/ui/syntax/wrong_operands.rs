use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    add r0;
    ldxw r0, r1;
    exit r0
};

fn main() {
    let _ = P;
}
