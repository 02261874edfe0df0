use bpf_loader::{Program, bpf_prog};

// A load through a plain number: the kernel says "R3 invalid mem access
// 'scalar'".
const P: Program = bpf_prog! {
    mov r3, 42;
    ldxw r0, [r3 + 0];
    exit
};

fn main() {
    let _ = P;
}
