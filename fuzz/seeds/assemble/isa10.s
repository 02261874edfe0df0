lock add32 [r1 + 8], r2
lock fetch add32 [r1 + 8], r2
lock or32 [r1 + 8], r2
lock fetch or32 [r1 + 8], r2
lock and32 [r1 + 8], r2
lock fetch and32 [r1 + 8], r2
lock xor32 [r1 + 8], r2
lock fetch xor32 [r1 + 8], r2
lock xchg32 [r1 + 8], r2
lock cmpxchg32 [r1 + 8], r2
lock add [r1 + 8], r2
lock add64 [r1+8], %r2
lock fetch add [r1 + 8], r2
lock fetch add64 [r1+8], %r2
lock or [r1 + 8], r2
lock or64 [r1+8], %r2
lock fetch or [r1 + 8], r2
lock fetch or64 [r1+8], %r2
lock and [r1 + 8], r2
lock and64 [r1+8], %r2
lock fetch and [r1 + 8], r2
lock fetch and64 [r1+8], %r2
lock xor [r1 + 8], r2
lock xor64 [r1+8], %r2
lock fetch xor [r1 + 8], r2
