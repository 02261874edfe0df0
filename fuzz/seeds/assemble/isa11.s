lock fetch xor64 [r1+8], %r2
lock xchg [r1 + 8], r2
lock xchg64 [r1+8], %r2
lock cmpxchg [r1 + 8], r2
lock cmpxchg64 [r1+8], %r2
ldxacqb r1, [r2 + 8]
stxrelb [r1 + 8], r2
ldxacqh r1, [r2 + 8]
stxrelh [r1 + 8], r2
ldxacqw r1, [r2 + 8]
stxrelw [r1 + 8], r2
ldxacqdw r1, [r2 + 8]
stxreldw [r1 + 8], r2
bswap16 r1
swap16 %r1
call runtime 77
call helper 1
call helper map_lookup_elem
