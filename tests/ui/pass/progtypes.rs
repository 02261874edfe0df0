//! Context accesses and helpers each program type allows: they compile.

use bpf_loader::{Program, bpf_prog};

const NARROW: Program = bpf_prog! {
    ldxb r0, [r1 + 16];
    ldxh r0, [r1 + 18];
    mov r2, 0;
    stxdw [r1 + 48], r2;
    stw [r1 + 64], 1;
    mov r0, 0;
    exit
};

const TC: Program = bpf_prog! {
    #![prog_type = sched_cls]
    ldxw r2, [r1 + 76];
    ldxw r3, [r1 + 80];
    stw [r1 + 8], 7;
    mov r2, 1;
    mov r3, 0;
    call clone_redirect;
    mov r0, 0;
    exit
};

const XDP: Program = bpf_prog! {
    #![prog_type = xdp]
    ldxw r2, [r1 + 0];
    ldxw r3, [r1 + 4];
    mov r0, 2;
    exit
};

const DEAD: Program = bpf_prog! {
    mov r2, 0;
    jeq r2, 0, out;
    ldxw r0, [r1 + 80];
    call clone_redirect;
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = (NARROW, TC, XDP, DEAD);
}
