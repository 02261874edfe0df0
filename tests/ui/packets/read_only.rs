use bpf_loader::{Program, bpf_prog};

// cgroup_skb programs read the packet but may not write it: "cannot write
// into packet"; an atomic on the packet: "BPF_ATOMIC stores into R2 pkt is
// not allowed".
const P: Program = bpf_prog! {
    #![prog_type = cgroup_skb]
    ldxw r2, [r1 + 76];
    ldxw r3, [r1 + 80];
    mov r4, r2;
    add r4, 8;
    jgt r4, r3, out;
    stb [r2 + 0], 0;
    mov r5, 1;
    lock add [r2 + 4], r5;
out:
    mov r0, 1;
    exit
};

fn main() {
    let _ = P;
}
