use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r2, 1;
    stxw [r1 + 8], r2;
    mov r0, 0;
    exit
};

const TC: Program = bpf_prog! {
    #![prog_type = sched_cls]
    stw [r1 + 0], 1;
    mov r0, 0;
    exit
};

fn main() {}
