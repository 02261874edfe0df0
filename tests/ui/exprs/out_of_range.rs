use bpf_loader::{Program, bpf_prog};

const BIG: u64 = 300_000_000_000;

const P: Program = bpf_prog! {
    mov32 r0, {BIG};
    ldxw r0, [r1 + {40_000}];
    div r0, {2 - 2};
    mov32 r0, {300_000_000_000};
    mov r0, -{i64::MIN};
    exit
};

fn main() {
    let _ = P;
}
