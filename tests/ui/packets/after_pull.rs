use bpf_loader::{Program, bpf_prog};

// A packet pointer kept across `skb_pull_data`, which may change the
// packet: the kernel forgets it ("R7 invalid mem access 'scalar'").
const P: Program = bpf_prog! {
    #![prog_type = sched_cls]
    mov r6, r1;
    ldxw r7, [r1 + 76];
    ldxw r8, [r1 + 80];
    mov r4, r7;
    add r4, 8;
    jgt r4, r8, out;
    mov r1, r6;
    mov r2, 8;
    call skb_pull_data;
    ldxb r0, [r7 + 0];
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
