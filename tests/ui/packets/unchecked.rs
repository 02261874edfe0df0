use bpf_loader::{Program, bpf_prog};

// A packet read with no check against `data_end`: the kernel says "invalid
// access to packet, off=12 size=2, R2(id=0,off=0,r=0)".
const P: Program = bpf_prog! {
    #![prog_type = sched_cls]
    ldxw r2, [r1 + 76];
    ldxw r3, [r1 + 80];
    ldxh r0, [r2 + 12];
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
