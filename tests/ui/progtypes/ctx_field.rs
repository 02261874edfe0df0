use bpf_loader::{Program, bpf_prog};

const DATA_END: Program = bpf_prog! {
    ldxw r3, [r1 + 80];
    mov r0, 0;
    exit
};

const EGRESS: Program = bpf_prog! {
    #![prog_type = xdp]
    ldxw r0, [r1 + 20];
    mov r0, 2;
    exit
};

fn main() {}
