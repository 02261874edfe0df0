lsh64 r1, 3
lsh %r1, %r2
lsh64 r1, r2
rsh %r1, 3
rsh64 r1, 3
rsh %r1, %r2
rsh64 r1, r2
mod %r1, -3
mod64 r1, -3
mod %r1, %r2
mod64 r1, r2
xor %r1, -3
xor64 r1, -3
xor %r1, %r2
xor64 r1, r2
mov %r1, -3
mov64 r1, -3
mov %r1, %r2
mov64 r1, r2
arsh %r1, 3
arsh64 r1, 3
arsh %r1, %r2
arsh64 r1, r2
neg %r1
neg64 r1
