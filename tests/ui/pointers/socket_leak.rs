use bpf_loader::{Program, bpf_prog};

// A socket from `sk_lookup_tcp` read without a null check ("R0 invalid mem
// access 'sock_or_null'"), and one never released ("Unreleased reference").
const READ: Program = bpf_prog! {
    #![prog_type = sched_cls]
    stdw [r10 - 16], 0;
    stdw [r10 - 8], 0;
    mov r2, r10;
    add r2, -16;
    mov r3, 12;
    mov r4, -1;
    mov r5, 0;
    call sk_lookup_tcp;
    ldxw r1, [r0 + 4];
    mov r0, 0;
    exit
};

const LEAK: Program = bpf_prog! {
    #![prog_type = sched_cls]
    stdw [r10 - 16], 0;
    stdw [r10 - 8], 0;
    mov r2, r10;
    add r2, -16;
    mov r3, 12;
    mov r4, -1;
    mov r5, 0;
    call sk_lookup_tcp;
    jeq r0, 0, out;
    ldxw r1, [r0 + 4];
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = (READ, LEAK);
}
