use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r11, 1;
    mov %r12, r1;
    exit
};

fn main() {
    let _ = P;
}
