be32 r1
be64 %r1
be64 r1
bswap16 %r1
bswap32 %r1
bswap64 %r1
addr_space_cast r1, r2, 1, 0
jeq %r1, -5, +2
jeq r1, -5, +2
jeq %r1, %r2, -2
jeq r1, r2, -2
jgt %r1, -5, +2
jgt r1, -5, +2
jgt %r1, %r2, -2
jgt r1, r2, -2
jge %r1, -5, +2
jge r1, -5, +2
jge %r1, %r2, -2
jge r1, r2, -2
jset %r1, -5, +2
jset r1, -5, +2
jset %r1, %r2, -2
jset r1, r2, -2
jne %r1, -5, +2
jne r1, -5, +2
