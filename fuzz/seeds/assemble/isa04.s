mov32 %r1, -3
mov32 r1, -3
mov32 %r1, %r2
mov32 r1, r2
arsh32 %r1, 3
arsh32 r1, 3
arsh32 %r1, %r2
arsh32 r1, r2
neg32 %r1
neg32 r1
sdiv32 %r1, -3
sdiv32 %r1, %r2
smod32 %r1, -3
smod32 %r1, %r2
movsx832 r1, r2
movsx1632 r1, r2
le16 %r1
le16 r1
le32 %r1
le32 r1
le64 %r1
le64 r1
be16 %r1
be16 r1
be32 %r1
