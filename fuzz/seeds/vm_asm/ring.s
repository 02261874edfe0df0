# Ring buffer output and reserve/submit, skb_load_bytes, trace_printk.
    mov r6, r1
    mov r1, r6
    mov r2, 0
    mov r3, r10
    add r3, -16
    mov r4, 16
    call bpf_skb_load_bytes
    lddw r1, map_fd(ring)
    mov r2, r10
    add r2, -16
    mov r3, 16
    mov r4, 0
    call bpf_ringbuf_output
    lddw r1, map_fd(events)
    mov r2, 8
    mov r3, 0
    call bpf_ringbuf_reserve
    jeq r0, 0, out
    stdw [r0 + 0], 42
    mov r1, r0
    mov r2, 0
    call bpf_ringbuf_submit
out:
    stw [r10 - 24], 0x6425
    mov r1, r10
    add r1, -24
    mov r2, 4
    mov r3, 7
    call bpf_trace_printk
    call bpf_ktime_get_ns
    call bpf_get_prandom_u32
    call bpf_get_smp_processor_id
    ldxw r0, [r6 + 8]
    exit
