// Range errors point at the expression whatever its type.
use bpf_loader::{Program, bpf_prog};

const FAR: i64 = -40_000;
const WIDE: u64 = 1 << 40;
const SMALL: u8 = 200;

const P: Program = bpf_prog! {
    ldxw r0, [r1 + { FAR }];
    stxw [r10 + { -600 }], r1;
    stxdw [r10 + { -12 }], r1;
    add r0, { WIDE };
    lsh r0, { SMALL as i16 - 100 };
    lddw r2, map_value(cfg, { -(1i64 << 33) });
    exit
};

fn main() {
    let _ = P;
}
