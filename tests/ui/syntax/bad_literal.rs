use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 10u32;
    mov r0, 0x1_0000_0000_0000_0000;
    mov r0, "one";
    exit
};

fn main() {
    let _ = P;
}
