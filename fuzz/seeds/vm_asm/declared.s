#![map(counts: array, key = u32, value = u64, max_entries = 1)]
#![map(flows: hash, key = u64, value = u64, max_entries = 2)]
    lddw r1, map_value(counts, 0)
    ldxdw r2, [r1 + 0]
    add r2, 1
    stxdw [r1 + 0], r2
    ldxdw r3, [r1 + 0]
    mov r0, r3
    exit
