use bpf_loader::{Program, bpf_prog};

// Arithmetic on the lookup's result before its null check: the kernel
// says "R0 pointer arithmetic on map_value_or_null prohibited, null-check it
// first".
const P: Program = bpf_prog! {
    #![map(counts: hash, key = u32, value = u64, max_entries = 16)]
    stw [r10 - 4], 0;
    mov r2, r10;
    add r2, -4;
    lddw r1, map_fd(counts);
    call map_lookup_elem;
    add r0, 4;
    jeq r0, 0, out;
    ldxw r1, [r0 + 0];
out:
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
