use bpf_loader::{Program, bpf_prog};

// One build reports every mistake, each at its own tokens.
const P: Program = bpf_prog! {
    mov r0, 0xffffffff;
    jeq r1, 0, nowhere;
    ldxw r0, [r1 + 70000];
    lsh r0, 99;
    frob r0;
    exit
};

fn main() {
    let _ = P;
}
