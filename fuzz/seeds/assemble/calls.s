    mov r1, 1
    call local sub
    ja32 done
    may_goto +0
sub:
    mov r0, r1
    exit
done:
    lddw r2, map_value(m, 16)
    movsx32 r3, r2
    sdiv32 r3, 7
    exit
