use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    jeq r1, 0, out;
    mov r0, 1;
out:
    exit
};

fn main() {
    let _ = P;
}
