use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mvo r0, 1;
    exti
};

fn main() {
    let _ = P;
}
