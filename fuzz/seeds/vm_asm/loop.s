# A counted loop with may_goto in it, local calls (nested up to the frame
# limit), and a spin only the budget stops.
    mov r1, 0
again:
    add r1, 1
    may_goto +1
    jlt r1, 100, again
    stdw [r10 - 8], 5
    call local f
    mov r2, 0
spin:
    add r2, 1
    jne r2, 0, spin
    exit
f:
    stdw [r10 - 512], 1
    add r1, -1
    jeq r1, 0, back
    call local f
back:
    exit
