use bpf_loader::{Program, bpf_prog};

// r2 is set, then clobbered by the legacy packet load.
const P: Program = bpf_prog! {
    mov r6, r1;
    mov r2, 7;
    ldabsb 23;
    add r0, r2;
    exit
};

fn main() {
    let _ = P;
}
