use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    #![cpu = v2]
    mov r0, 0;
    jlt r0, 1, +0;
    jeq32 r0, 1, +0;
    sdiv r0, 3;
    bswap16 r0;
    exit
};

fn main() {
    let _ = P;
}
