//! Numbers the kernel knows more of than plain bounds: linked copies
//! (`r1 = r0 + 5`), byte swaps, negation, subtraction that wraps. A fault
//! on the branch the kernel proves dead must not be reported.

use super::Case;

/// `xdp`: r0 from `get_prandom_u32`, then `body` that may jump to `bad`
/// (a load through a number) and otherwise returns.
fn guarded(body: &str) -> String {
    format!(
        "#![prog_type = xdp]\ncall get_prandom_u32\n{body}\nja ok\nbad: mov r1, 7\n\
         ldxdw r0, [r1 + 0]\nexit\nok: mov r0, 2\nexit"
    )
}

pub(crate) fn cases() -> Vec<Case> {
    let dead = [
        "mov r1, r0\nadd r1, 5\njgt r0, 10, ok\njgt r1, 15, bad",
        "and r0, 255\nmov r1, r0\nadd r1, 5\njgt r0, 10, ok\njgt r1, 15, bad",
        "be16 r0\njgt r0, 0xffff, bad",
        "bswap16 r0\njslt r0, 0, bad",
        "le32 r0\njslt r0, 0, bad",
        "neg32 r0\njslt r0, 0, bad",
        "and r0, 0xff\nneg r0\njsgt r0, 0x7fff, bad",
        "and r0, 0xff\nmov r1, 5\nsub r1, r0\njsgt r1, 5, bad",
        "and r0, 0xff\nmov r6, r0\ncall get_prandom_u32\nand r0, 0xff\nsub r6, r0\n\
         jsgt r6, 255, bad",
    ];
    let mut cases: Vec<Case> = dead.iter().map(|b| Case::loads(guarded(b))).collect();
    // Masks followed bit by bit, 32-bit bounds, narrowing spills, signed
    // bounds through `add`: socket filters reading the context.
    let tail = "\nja ok\nbad: mov r10, 1\nexit\nok: mov r0, 0\nexit";
    for body in [
        "ldxb r0, [r1 + 0]\nand r0, 0x1e0\njgt r0, 224, bad",
        "ldxb r0, [r1 + 0]\nand32 r0, 0x8000\njne r0, 0, bad",
        "ldxw r6, [r1 + 0]\njsgt32 r6, 224, ok\njeq r6, 256, bad",
        "ldxw r6, [r1 + 0]\njne r6, 100, ok\nand r6, 0xffff\njlt r6, 100, bad",
        "ldxw r6, [r1 + 0]\njlt r6, 0x100, ok\njgt r6, 0x1ff, ok\nand r6, 0x3ff\njlt r6, 0x100, bad",
        "call get_prandom_u32\njgt32 r0, 10, ok\nstxw [r10 - 8], r0\nldxw r0, [r10 - 8]\n\
         jgt r0, 10, bad",
        "call get_prandom_u32\njsgt r0, 10, ok\nmov r1, 0\nadd r1, r0\njsgt r1, 10, bad",
        "call get_prandom_u32\nand r0, -128\njgt32 r0, -128, bad",
        // Bounds met with known bits: `x & 16` at most 8 is 0.
        "call get_prandom_u32\nand r0, 16\njgt r0, 8, ok\njne r0, 0, bad",
        "call get_prandom_u32\nand r0, 240\njgt r0, 15, ok\njne r0, 0, bad",
    ] {
        cases.push(Case::loads(format!("{body}{tail}")));
    }
    // The same faults where the kernel cannot rule the branch out.
    cases.push(Case::refused(
        guarded("mov r1, r0\nadd r1, 5\njgt r1, 15, bad"),
        "holds the number 7",
        "invalid mem access 'scalar'",
    ));
    cases.push(Case::refused(
        guarded("be16 r0\njgt r0, 0xff, bad"),
        "",
        "invalid mem access 'scalar'",
    ));
    cases
}
