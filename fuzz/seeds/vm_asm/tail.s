# Tail calls through the bound program array `progs` (index 1: exit 1;
# index 0: the program itself when the settings say so).
    mov r6, r1
    ldxw r3, [r6 + 8]
    and r3, 1
    mov r1, r6
    lddw r2, map_fd(progs)
    call bpf_tail_call
    mov r0, 2
    exit
