//! The pointer checks against the kernel: every program they reject, built
//! with the flow checks off, the kernel refuses too (with the message
//! given); every program of the accepted set (null checks on copies, `jne`
//! and `jeq`, pointers spilled and filled, moved stack pointers, map value
//! accesses within the declared size) passes the checks and loads.

use super::Case;

const MAP: &str = "#![map(m: hash, key = u32, value = u64, max_entries = 4)]\n";
const ARR: &str = "#![map(a: array, key = u32, value = u64, max_entries = 4)]\n";

/// Stores a key at r10 - 4, points r2 at it, r1 at map `NAME`, and calls
/// `map_lookup_elem`.
fn lookup(map: &str, name: &str, rest: &str) -> String {
    format!(
        "{map}mov r6, 0\nstw [r10 - 4], 0\nmov r2, r10\nadd r2, -4\nlddw r1, map_fd({name})\n\
         call map_lookup_elem\n{rest}"
    )
}

/// The programs the kernel refuses: what the checks say (`""`: nothing,
/// missed) and what the kernel says.
fn refused() -> Vec<Case> {
    let p = |s: &str| s.to_owned();
    let cases: Vec<(String, &str, &str)> = vec![
        // Through a number.
        (
            p("mov r3, 42\nldxw r0, [r3 + 0]\nexit"),
            "holds the number 42",
            "R3 invalid mem access 'scalar'",
        ),
        (
            p("call get_prandom_u32\nldxb r0, [r0 + 0]\nexit"),
            "holds a number",
            "R0 invalid mem access 'scalar'",
        ),
        (
            p(
                "mov r2, 0\nmov r3, 1\ncall get_socket_cookie\nmov r7, r0\nand r7, 7\nstb [r7 + 0], 1\nmov r0, 0\nexit",
            ),
            "holds a number",
            "R7 invalid mem access 'scalar'",
        ),
        (
            p("mov r0, 0\nstw [r0 + 8], 1\nexit"),
            "holds the number 0",
            "R0 invalid mem access 'scalar'",
        ),
        (
            p("ldxw r2, [r1 + 0]\nldxb r0, [r2 + 0]\nexit"),
            "holds a number",
            "R2 invalid mem access 'scalar'",
        ),
        (
            p("mov r6, 8\nmov r0, 1\nlock add [r6 + 0], r0\nexit"),
            "holds the number 8",
            "R6 invalid mem access 'scalar'",
        ),
        (
            // Part of a pointer spilled.
            p("mov r2, r10\nstxw [r10 - 8], r2\nmov r0, 0\nexit"),
            "partial spill of a pointer",
            "invalid size of register spill",
        ),
        (
            p("stxh [r10 - 8], r1\nmov r0, 0\nexit"),
            "partial spill of a pointer",
            "invalid size of register spill",
        ),
        (
            // Part of a spilled pointer.
            p("mov r2, r10\nstxdw [r10 - 8], r2\nldxw r3, [r10 - 8]\nldxw r0, [r3 + 0]\nexit"),
            "partial fill of a spilled pointer",
            "invalid size of register fill",
        ),
        // Not null-checked.
        (
            lookup(MAP, "m", "ldxdw r0, [r0 + 0]\nexit"),
            "r0 may be null here",
            "R0 invalid mem access 'map_value_or_null'",
        ),
        (
            lookup(MAP, "m", "mov r7, r0\nstdw [r7 + 0], 1\nmov r0, 0\nexit"),
            "r7 may be null here",
            "R7 invalid mem access 'map_value_or_null'",
        ),
        (
            lookup(
                MAP,
                "m",
                "stxdw [r10 - 16], r0\nldxdw r3, [r10 - 16]\nldxw r0, [r3 + 0]\nexit",
            ),
            "r3 may be null here",
            "R3 invalid mem access 'map_value_or_null'",
        ),
        (
            lookup(
                MAP,
                "m",
                "jeq32 r0, 0, out\nldxw r0, [r0 + 0]\nout: mov r0, 0\nexit",
            ),
            "r0 may be null here",
            "R0 invalid mem access 'map_value_or_null'",
        ),
        // The null path of a check.
        (
            lookup(
                MAP,
                "m",
                "jne r0, 0, out\nldxw r0, [r0 + 0]\nexit\nout: mov r0, 0\nexit",
            ),
            "holds the number 0",
            "R0 invalid mem access 'scalar'",
        ),
        // Outside the value.
        (
            lookup(
                MAP,
                "m",
                "jeq r0, 0, out\nldxdw r1, [r0 + 8]\nout: mov r0, 0\nexit",
            ),
            "at offset 8 of a value of map `m`",
            "invalid access to map value, value_size=8 off=8 size=8",
        ),
        (
            lookup(
                ARR,
                "a",
                "jeq r0, 0, out\nadd r0, 4\nstxdw [r0 + 0], r6\nout: mov r0, 0\nexit",
            ),
            "at offset 4 of a value of map `a`",
            "invalid access to map value, value_size=8 off=4 size=8",
        ),
        (
            lookup(
                MAP,
                "m",
                "jne r0, 0, ok\nexit\nok: ldxb r1, [r0 - 1]\nmov r0, 0\nexit",
            ),
            "at offset -1 of a value of map `m`",
            "invalid access to map value, value_size=8 off=-1 size=1",
        ),
        (
            lookup(
                MAP,
                "m",
                "jeq r0, 0, out\nmov r1, 1\nlock add [r0 + 8], r1\nout: mov r0, 0\nexit",
            ),
            "at offset 8 of a value of map `m`",
            "invalid access to map value, value_size=8 off=8 size=8",
        ),
        // Pointer arithmetic.
        (
            p("mov r3, r10\nor r3, 1\nmov r0, 0\nexit"),
            "bitwise operation (|) on r3, a stack pointer",
            "R3 bitwise operator |= on pointer prohibited",
        ),
        (
            p("and r1, -8\nmov r0, 0\nexit"),
            "bitwise operation (&) on r1, the context pointer",
            "R1 bitwise operator &= on pointer prohibited",
        ),
        (
            p("mov r2, r10\nmul r2, 2\nmov r0, 0\nexit"),
            "applies * to r2",
            "R2 pointer arithmetic with *= operator prohibited",
        ),
        (
            p("mov r2, r10\nlsh r2, 1\nmov r0, 0\nexit"),
            "applies << to r2",
            "R2 pointer arithmetic with <<= operator prohibited",
        ),
        (
            p("mov r2, r1\nadd32 r2, 4\nmov r0, 0\nexit"),
            "32-bit arithmetic on r2",
            "R2 32-bit pointer arithmetic prohibited",
        ),
        (
            p("mov r2, r10\nadd r2, r1\nmov r0, 0\nexit"),
            "pointer + pointer",
            "R2 pointer += pointer prohibited",
        ),
        (
            p("mov r2, r10\nsub r2, 16\nstdw [r2 + 0], 7\nldxdw r0, [r10 - 16]\nexit"),
            "subtracts from r2, a stack pointer",
            "R2 subtraction from stack pointer prohibited",
        ),
        (
            p("mov r2, 8\nsub r2, r10\nmov r0, 0\nexit"),
            "subtracts r10, a stack pointer, from a number",
            "R2 tried to subtract pointer from scalar",
        ),
        (
            p("mov r2, 8\nmul r2, r1\nmov r0, 0\nexit"),
            "applies * to r1",
            "pointer arithmetic with *= operator prohibited",
        ),
        (
            lookup(MAP, "m", "add r0, 4\nmov r0, 0\nexit"),
            "r0 may be null here",
            "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first",
        ),
        (
            lookup(MAP, "m", "jeq r0, 0, out\nxor r0, 1\nout: mov r0, 0\nexit"),
            "bitwise operation (^) on r0, a pointer into a value of map `m`",
            "R0 bitwise operator ^= on pointer prohibited",
        ),
        // Stack accesses through a moved stack pointer.
        (
            p("mov r2, r10\nadd r2, -8\nstdw [r2 + 8], 0\nmov r0, 0\nexit"),
            "outside the 512-byte stack",
            "invalid write to stack",
        ),
        (
            p("mov r2, r10\nadd r2, -512\nldxdw r0, [r2 - 8]\nexit"),
            "outside the 512-byte stack",
            "",
        ),
        (
            p("mov r2, r10\nadd r2, -8\nstw [r2 + 2], 0\nmov r0, 0\nexit"),
            "misaligned",
            "misaligned stack access",
        ),
        (
            p(
                "mov r2, r10\nadd r2, -16\nmov r3, r2\nadd r3, 4\nmov r1, 0\nstxdw [r3 + 0], r1\nmov r0, 0\nexit",
            ),
            "misaligned",
            "misaligned stack access",
        ),
    ];
    cases
        .into_iter()
        .map(|(s, says, kernel)| Case::refused(s, says, kernel))
        .collect()
}

/// Programs the kernel loads that are near the rejected ones.
fn loads() -> Vec<Case> {
    let p = |s: &str| s.to_owned();
    let cases = vec![
        // Moved stack pointers inside the frame, aligned.
        p("mov r2, r10\nadd r2, -16\nstdw [r2 + 8], 0\nldxdw r0, [r2 + 8]\nexit"),
        p("mov r2, r10\nadd r2, -512\nstb [r2 + 511], 1\nldxw r0, [r2 + 0]\nexit"),
        // Null checks: `jeq`, `jne`, on copies, spilled and filled.
        lookup(
            MAP,
            "m",
            "jeq r0, 0, out\nldxdw r1, [r0 + 0]\nout: mov r0, 0\nexit",
        ),
        lookup(
            MAP,
            "m",
            "jne r0, 0, ok\nexit\nok: stdw [r0 + 0], 1\nmov r0, 0\nexit",
        ),
        lookup(
            MAP,
            "m",
            "mov r2, r0\njeq r2, 0, out\nldxdw r1, [r0 + 0]\nldxw r1, [r2 + 4]\nout: mov r0, 0\nexit",
        ),
        lookup(
            MAP,
            "m",
            "mov r7, r0\njeq r0, 0, out\nldxdw r1, [r7 + 0]\nout: mov r0, 0\nexit",
        ),
        lookup(
            MAP,
            "m",
            "stxdw [r10 - 16], r0\njeq r0, 0, out\nldxdw r3, [r10 - 16]\nldxw r0, [r3 + 0]\n\
             out: mov r0, 0\nexit",
        ),
        lookup(
            MAP,
            "m",
            "jeq r0, 0, out\nstxdw [r10 - 16], r0\nldxdw r3, [r10 - 16]\nldxw r0, [r3 + 4]\n\
             out: mov r0, 0\nexit",
        ),
        // Checked twice, and after a helper call.
        lookup(
            MAP,
            "m",
            "mov r7, r0\njeq r7, 0, out\ncall get_prandom_u32\njeq r7, 0, out\nldxdw r0, [r7 + 0]\n\
             out: mov r0, 0\nexit",
        ),
        // Within the value: moved inside, atomics, the last byte.
        lookup(
            ARR,
            "a",
            "jeq r0, 0, out\nadd r0, 4\nldxw r1, [r0 + 0]\nldxb r1, [r0 + 3]\nsub r0, 4\n\
             mov r1, 1\nlock add [r0 + 0], r1\nout: mov r0, 0\nexit",
        ),
        // A pointer the loop moves: offsets unknown, not judged.
        lookup(
            ARR,
            "a",
            "jeq r0, 0, out\nmov r1, 0\nloop: ldxb r2, [r0 + 0]\nadd r0, 1\nadd r1, 1\n\
             jlt r1, 8, loop\nout: mov r0, 0\nexit",
        ),
        // Both lookups joined: not judged.
        format!(
            "{MAP}stw [r10 - 4], 0\nmov r2, r10\nadd r2, -4\nlddw r1, map_fd(m)\n\
             call map_lookup_elem\nmov r6, r0\nmov r2, r10\nadd r2, -4\nlddw r1, map_fd(m)\n\
             call map_lookup_elem\njeq r6, 0, out\njeq r0, 0, out\nldxdw r1, [r6 + 0]\n\
             ldxdw r1, [r0 + 0]\nout: mov r0, 0\nexit"
        ),
        // Stack pointers with constant offsets.
        p("mov r2, r10\nadd r2, -16\nstdw [r2 + 8], 7\nldxdw r0, [r2 + 8]\nexit"),
        // Pointers spilled and filled, then used.
        p("stxdw [r10 - 8], r1\nldxdw r2, [r10 - 8]\nldxw r0, [r2 + 0]\nexit"),
        p(
            "mov r3, r10\nstxdw [r10 - 8], r3\nldxdw r4, [r10 - 8]\nstdw [r4 - 16], 1\nmov r0, 0\nexit",
        ),
        // Pointer minus pointer, and 32-bit moves of pointers, are numbers.
        p("mov r2, r10\nsub r2, r1\nmov r0, 0\nexit"),
        p("mov32 r2, r10\nadd32 r2, 4\nmov r0, 0\nexit"),
        p("mov r2, r10\nsub32 r2, 4\nmov r0, 0\nexit"),
        // A number plus a pointer is a pointer.
        p("mov r2, -8\nadd r2, r10\nstdw [r2 + 0], 1\nmov r0, 0\nexit"),
        // Dead paths are not judged.
        p("mov r3, 0\njeq r3, 0, ok\nldxw r0, [r3 + 0]\nok: mov r0, 0\nexit"),
        // A number read through a map value is used as one.
        lookup(
            ARR,
            "a",
            "jeq r0, 0, out\nldxw r1, [r0 + 0]\nand r1, 7\nadd r0, r1\nldxb r0, [r0 + 0]\n\
             out: mov r0, 0\nexit",
        ),
    ];
    cases.into_iter().map(Case::loads).collect()
}

/// The pointer corpus.
pub(crate) fn cases() -> Vec<Case> {
    [refused(), loads()].concat()
}
