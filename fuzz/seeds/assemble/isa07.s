jsle r1, r2, -2
jeq32 r1, -5, +2
jeq32 r1, r2, -2
jgt32 r1, -5, +2
jgt32 r1, r2, -2
jge32 r1, -5, +2
jge32 r1, r2, -2
jset32 r1, -5, +2
jset32 r1, r2, -2
jne32 r1, -5, +2
jne32 r1, r2, -2
jsgt32 r1, -5, +2
jsgt32 r1, r2, -2
jsge32 r1, -5, +2
jsge32 r1, r2, -2
jlt32 r1, -5, +2
jlt32 r1, r2, -2
jle32 r1, -5, +2
jle32 r1, r2, -2
jslt32 r1, -5, +2
jslt32 r1, r2, -2
jsle32 r1, -5, +2
jsle32 r1, r2, -2
ja +3
ja32 +100000
