use bpf_loader::{Program, bpf_prog};

// A load through what `map_lookup_elem` returned, without a null check:
// the kernel says "R0 invalid mem access 'map_value_or_null'".
const P: Program = bpf_prog! {
    #![map(counts: hash, key = u32, value = u64, max_entries = 16)]
    stw [r10 - 4], 0;
    mov r2, r10;
    add r2, -4;
    lddw r1, map_fd(counts);
    call map_lookup_elem;
    ldxdw r0, [r0 + 0];
    exit
};

fn main() {
    let _ = P;
}
