// A typo and an out-of-range `{ expr }` are reported in the same build; the
// flow checks say once that they wait for those fixes.
use bpf_loader::{Program, bpf_prog};

const OFF: i32 = -600;

const P: Program = bpf_prog! {
    mvo r0, 1;
    ldxw r2, [r10 + { OFF }];
    mov r0, r7;
    exit
};

fn main() {
    let _ = P;
}
