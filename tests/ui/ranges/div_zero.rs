use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 1;
    div r0, 0;
    mod32 r0, 0;
    sdiv r0, 0;
    exit
};

fn main() {
    let _ = P;
}
