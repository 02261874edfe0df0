use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    ldabsh 12;
    exit
};

fn main() {
    let _ = P;
}
