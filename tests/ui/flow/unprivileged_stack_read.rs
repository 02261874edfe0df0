use bpf_loader::{Program, bpf_prog};

// Privileged loaders may read unwritten stack; unprivileged ones may not.
const P: Program = bpf_prog! {
    #![unprivileged]
    ldxdw r0, [r10 - 8];
    exit
};

fn main() {
    let _ = P;
}
