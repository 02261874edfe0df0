use bpf_loader::{Program, bpf_prog};

// `map_value` needs an array of one entry, at an offset inside the value.
const P: Program = bpf_prog! {
    #![map(total: array, key = u32, value = u64, max_entries = 1)]
    #![map(counts: array, key = u32, value = u64, max_entries = 256)]
    #![map(flows: hash, key = 12, value = u64, max_entries = 1024)]
    lddw r1, map_value(total, 8);
    lddw r2, map_value(counts, 0);
    lddw r3, map_value(flows, 0);
    lddw r4, map_value(total, 4);
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
