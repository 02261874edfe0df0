use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 1;
    lsh r0, 64;
    rsh32 r0, 32;
    arsh r0, -1;
    exit
};

fn main() {
    let _ = P;
}
