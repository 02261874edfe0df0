#![cpu = v4]
#![unprivileged]
mov64 r6, r1; mov r0, 0
stxdw [r10 - 8], r0 /* key */
mov r2, r10; add r2, -8
lddw r1, map_fd(counters)
call bpf_map_lookup_elem
jeq r0, 0, out // miss
lock fetch add [r0 + 0], r6
out: mov32 r0, 0; exit;
