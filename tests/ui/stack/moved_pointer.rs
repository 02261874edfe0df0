use bpf_loader::{Program, bpf_prog};

// A copy of r10 moved down 8 bytes, then written 8 bytes above that.
const P: Program = bpf_prog! {
    mov r2, r10;
    add r2, -8;
    stdw [r2 + 8], 0;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
