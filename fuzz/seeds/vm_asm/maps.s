# The maps the fuzz target binds: lookups, updates, deletes, atomics.
    mov r6, r1
    mov r1, 3
    stxw [r10 - 4], r1
    lddw r1, map_fd(array)
    mov r2, r10
    add r2, -4
    call bpf_map_lookup_elem
    jeq r0, 0, miss
    lock add [r0 + 0], r6
    ldxdw r7, [r0 + 0]
miss:
    stdw [r10 - 16], 9
    stdw [r10 - 32], 1
    stdw [r10 - 24], 2
    lddw r1, map_fd(hash)
    mov r2, r10
    add r2, -16
    mov r3, r10
    add r3, -32
    mov r4, 0
    call bpf_map_update_elem
    lddw r1, map_fd(hash)
    mov r2, r10
    add r2, -16
    call bpf_map_delete_elem
    lddw r1, map_fd(percpu)
    mov r2, r10
    add r2, -4
    call bpf_map_lookup_elem
    mov r0, -1
    exit
