use bpf_loader::{Program, bpf_prog};

// 8 bytes at offset 8 of an 8-byte value: the kernel says "invalid access
// to map value, value_size=8 off=8 size=8".
const P: Program = bpf_prog! {
    #![map(counts: hash, key = u32, value = u64, max_entries = 16)]
    stw [r10 - 4], 0;
    mov r2, r10;
    add r2, -4;
    lddw r1, map_fd(counts);
    call map_lookup_elem;
    jeq r0, 0, out;
    ldxdw r1, [r0 + 8];
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
