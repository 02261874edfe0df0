use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r10, 0;
    ldxdw r10, [r1];
    add32 r10, 1;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
