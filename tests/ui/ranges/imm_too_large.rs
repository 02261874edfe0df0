use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov32 r0, 0x1_0000_0000;
    add r0, -2147483649;
    lddw r1, -0xffff_ffff_ffff_ffff;
    exit
};

fn main() {
    let _ = P;
}
