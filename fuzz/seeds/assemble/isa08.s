gotol +100000
call map_lookup_elem
call bpf_map_lookup_elem
call 1
call local +5
call local 5
call kfunc 77
exit
may_goto +4
lddw %r1, 0x123400005678
lddw r1, 0x123400005678
lddw r1, map_fd(22136)
lddw r1, map_value(22136, 4660)
lddw r1, btf_id(22136)
lddw r1, func(+22136)
lddw r1, map_idx(22136)
lddw r1, map_idx_value(22136, 4660)
ldabsw 12
ldindw r3, 12
ldabsh 12
ldindh r3, 12
ldabsb 12
ldindb r3, 12
ldxw %r1, [%r2-8]
ldxw r1, [r2-8]
