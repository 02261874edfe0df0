use bpf_loader::{Program, bpf_prog};

// Checked for 14 bytes, read at 12..16: "invalid access to packet, off=12
// size=4, R2(id=0,off=0,r=14)".
const P: Program = bpf_prog! {
    #![prog_type = xdp]
    ldxw r2, [r1 + 0];
    ldxw r3, [r1 + 4];
    mov r4, r2;
    add r4, 14;
    jgt r4, r3, out;
    ldxw r0, [r2 + 12];
out:
    mov r0, 2;
    exit
};

fn main() {
    let _ = P;
}
