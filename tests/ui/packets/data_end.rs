use bpf_loader::{Program, bpf_prog};

// Through `data_end` ("invalid mem access 'pkt_end'"), and moving it
// ("pointer arithmetic on pkt_end prohibited").
const P: Program = bpf_prog! {
    #![prog_type = sched_cls]
    ldxw r3, [r1 + 80];
    ldxb r0, [r3 - 1];
    ldxw r4, [r1 + 80];
    add r4, -4;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
