use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov64 r0, 0xffffffff;
    jeq r0, 0x80000000, +0;
    exit
};

fn main() {
    let _ = P;
}
