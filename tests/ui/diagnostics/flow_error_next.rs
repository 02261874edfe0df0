// The same program with the typo and the offset fixed: now the flow checks
// run and find the read of r7, at the register.
use bpf_loader::{Program, bpf_prog};

const OFF: i32 = -8;

const P: Program = bpf_prog! {
    mov r0, 1;
    ldxw r2, [r10 + { OFF }];
    mov r0, r7;
    exit
};

fn main() {
    let _ = P;
}
