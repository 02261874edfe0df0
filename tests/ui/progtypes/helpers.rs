use bpf_loader::{Program, bpf_prog};

const CLONE: Program = bpf_prog! {
    mov r2, 1;
    mov r3, 0;
    call clone_redirect;
    mov r0, 0;
    exit
};

const LOAD_BYTES: Program = bpf_prog! {
    #![prog_type = xdp]
    mov r2, 0;
    mov r3, r10;
    add r3, -4;
    mov r4, 4;
    call skb_load_bytes;
    mov r0, 2;
    exit
};

fn main() {}
