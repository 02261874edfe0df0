use bpf_loader::{Program, bpf_prog};

// A packet pointer moved by a variable offset needs a check of its own:
// "invalid access to packet, off=0 size=4, R4(id=1,off=0,r=0)".
const P: Program = bpf_prog! {
    #![prog_type = sched_cls]
    ldxw r2, [r1 + 76];
    ldxw r3, [r1 + 80];
    ldxw r5, [r1 + 0];
    and r5, 15;
    mov r4, r2;
    add r4, 20;
    jgt r4, r3, out;
    mov r4, r2;
    add r4, r5;
    ldxw r0, [r4 + 0];
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
