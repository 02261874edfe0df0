use bpf_loader::{Program, bpf_prog};

// Packet reads after checks against `data_end` in each direction, through
// a spilled copy and a moved pointer: the kernel loads it.
const P: Program = bpf_prog! {
    #![prog_type = sched_cls]
    ldxw r2, [r1 + 76];
    ldxw r3, [r1 + 80];
    mov r4, r2;
    add r4, 14;
    jgt r4, r3, out;
    stxdw [r10 - 8], r2;
    ldxh r0, [r2 + 12];
    mov r4, r2;
    add r4, 34;
    jlt r3, r4, out;
    ldxdw r5, [r10 - 8];
    add r5, 26;
    ldxw r0, [r5 + 4];
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
