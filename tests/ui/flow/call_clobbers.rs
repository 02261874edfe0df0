use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r2, 5;
    call get_prandom_u32;
    add r0, r2;
    exit
};

fn main() {
    let _ = P;
}
