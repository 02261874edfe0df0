use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 0;
    exit;
    mov r0, 1;
    exit
};

fn main() {
    let _ = P;
}
