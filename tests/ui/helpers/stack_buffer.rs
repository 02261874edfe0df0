use bpf_loader::{Program, bpf_prog};

// A 4-byte stack buffer given to `skb_load_bytes` with a length of 8.
const P: Program = bpf_prog! {
    mov r2, 0;
    mov r3, r10;
    add r3, -4;
    mov r4, 8;
    call skb_load_bytes;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
