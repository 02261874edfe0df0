use bpf_loader::{MapSpec, MapType, Program, bpf_prog};

// Declared maps end up in the constant, usable in `const` and `static`.
static P: Program = bpf_prog! {
    #![map(counts: array, key = u32, value = u64, max_entries = 256)]
    #![map(total: array, value = u64, max_entries = 1)]
    #![map(events: ringbuf, max_entries = 65536)]
    #![map(flows: lru_hash, key = 12, value = u64, max_entries = 1024, flags = no_common_lru)]
    mov r6, r1;
    ldabsb 23;
    stxw [r10 - 4], r0;
    mov r2, r10;
    add r2, -4;
    lddw r1, map_fd(counts);
    call map_lookup_elem;
    lddw r1, map_value(total, 0);
    mov r2, 1;
    lock add [r1], r2;
    mov r0, -1;
    exit
};

fn main() {
    assert_eq!(P.maps().len(), 4);
    assert_eq!(
        P.map_spec("counts"),
        Some(&MapSpec::new("counts", MapType::Array, 4, 8, 256, 0))
    );
    assert_eq!(P.map_spec("flows").map(|m| m.key_size), Some(12));
}
