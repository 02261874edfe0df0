use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    #![allow(unreachabel, unset_register)]
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
