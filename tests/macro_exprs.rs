//! `{ expr }` operands: every integer constant expression, typed as Rust
//! types it standing alone, in every operand position that takes a number,
//! each encoding checked. (The range errors are UI tests in `tests/ui/exprs/`.)

use bpf_loader::{Insn, Program, bpf_prog};

/// The fields of slot `i` as `(code, dst, src, off, imm)`.
fn fields(p: &Program, i: usize) -> (u8, u8, u8, i16, i32) {
    let x: Insn = p.insns()[i];
    (x.code(), x.dst(), x.src(), x.off(), x.imm())
}

/// The 64-bit value of the `lddw` at slot `i`.
fn imm64(p: &Program, i: usize) -> u64 {
    let (lo, hi) = (p.insns()[i].imm(), p.insns()[i + 1].imm());
    u64::from(lo as u32) | (u64::from(hi as u32) << 32)
}

// Constants of every integer type.
const V_I8: i8 = -5;
const OFF_I8: i8 = -8;
const P_I8: i8 = 14;
const H_I8: i8 = 7;
const V_I16: i16 = -5;
const OFF_I16: i16 = -8;
const P_I16: i16 = 14;
const H_I16: i16 = 7;
const V_I32: i32 = -5;
const OFF_I32: i32 = -8;
const P_I32: i32 = 14;
const H_I32: i32 = 7;
const V_I64: i64 = -5;
const OFF_I64: i64 = -8;
const P_I64: i64 = 14;
const H_I64: i64 = 7;
const V_I128: i128 = -5;
const OFF_I128: i128 = -8;
const P_I128: i128 = 14;
const H_I128: i128 = 7;
const V_ISIZE: isize = -5;
const OFF_ISIZE: isize = -8;
const P_ISIZE: isize = 14;
const H_ISIZE: isize = 7;
const V_U8: u8 = 5;
const OFF_U8: u8 = 8;
const P_U8: u8 = 14;
const H_U8: u8 = 7;
const V_U16: u16 = 5;
const OFF_U16: u16 = 8;
const P_U16: u16 = 14;
const H_U16: u16 = 7;
const V_U32: u32 = 5;
const OFF_U32: u32 = 8;
const P_U32: u32 = 14;
const H_U32: u32 = 7;
const V_U64: u64 = 5;
const OFF_U64: u64 = 8;
const P_U64: u64 = 14;
const H_U64: u64 = 7;
const V_U128: u128 = 5;
const OFF_U128: u128 = 8;
const P_U128: u128 = 14;
const H_U128: u128 = 7;
const V_USIZE: usize = 5;
const OFF_USIZE: usize = 8;
const P_USIZE: usize = 14;
const H_USIZE: usize = 7;

/// Every numeric position, with constants of one type: `$v` a small value
/// (negative for signed types), `$off` a stack offset (written `+` for signed
/// types, `-` for unsigned ones), `$p` a packet offset, `$h` a helper id.
macro_rules! positions {
    ($name:ident, $v:ident, $off:ident, $sign:tt, $p:ident, $h:ident) => {
        const $name: Program = bpf_prog! {
            stw [r10 $sign { $off }], { $v };       // 0: st imm, memory offset
            ldxw r2, [r10 $sign { $off }];          // 1: load offset
            stxw [r10 $sign { $off }], r2;          // 2: store offset
            add r2, { $v };                         // 3: ALU64 imm
            add32 r2, { $v };                       // 4: ALU32 imm
            jeq r2, { $v }, next;                   // 5: jump imm
        next:
            jeq32 r2, { $v }, next2;                // 6: 32-bit jump imm
        next2:
            lddw r3, { $v };                        // 7-8: 64-bit value
            lddw r4, map_value(cfg, { $p });        // 9-10: map_value offset
            mov r6, r1;                             // 11
            ldabsb { $p };                          // 12: packet offset
            ldindh r2, { $p };                      // 13: indirect packet offset
            call { $h };                            // 14: helper id
            mov r0, 0;
            exit
        };
    };
}
positions!(PROG_I8, V_I8, OFF_I8, +, P_I8, H_I8);
positions!(PROG_I16, V_I16, OFF_I16, +, P_I16, H_I16);
positions!(PROG_I32, V_I32, OFF_I32, +, P_I32, H_I32);
positions!(PROG_I64, V_I64, OFF_I64, +, P_I64, H_I64);
positions!(PROG_I128, V_I128, OFF_I128, +, P_I128, H_I128);
positions!(PROG_ISIZE, V_ISIZE, OFF_ISIZE, +, P_ISIZE, H_ISIZE);
positions!(PROG_U8, V_U8, OFF_U8, -, P_U8, H_U8);
positions!(PROG_U16, V_U16, OFF_U16, -, P_U16, H_U16);
positions!(PROG_U32, V_U32, OFF_U32, -, P_U32, H_U32);
positions!(PROG_U64, V_U64, OFF_U64, -, P_U64, H_U64);
positions!(PROG_U128, V_U128, OFF_U128, -, P_U128, H_U128);
positions!(PROG_USIZE, V_USIZE, OFF_USIZE, -, P_USIZE, H_USIZE);

#[track_caller]
fn check_positions(p: &Program, v: i64) {
    let v32 = v as i32;
    assert_eq!(fields(p, 0), (0x62, 10, 0, -8, v32), "stw");
    assert_eq!(fields(p, 1), (0x61, 2, 10, -8, 0), "ldxw");
    assert_eq!(fields(p, 2), (0x63, 10, 2, -8, 0), "stxw");
    assert_eq!(fields(p, 3), (0x07, 2, 0, 0, v32), "add");
    assert_eq!(fields(p, 4), (0x04, 2, 0, 0, v32), "add32");
    assert_eq!(fields(p, 5), (0x15, 2, 0, 0, v32), "jeq");
    assert_eq!(fields(p, 6), (0x16, 2, 0, 0, v32), "jeq32");
    assert_eq!(imm64(p, 7), v as u64, "lddw");
    assert_eq!(fields(p, 9).2, 2, "map_value pseudo source");
    assert_eq!(p.insns()[10].imm(), 14, "map_value offset");
    assert_eq!(fields(p, 12), (0x30, 0, 0, 0, 14), "ldabsb");
    assert_eq!(fields(p, 13), (0x48, 0, 2, 0, 14), "ldindh");
    assert_eq!(fields(p, 14), (0x85, 0, 0, 0, 7), "call");
    assert_eq!(p.relocs()[0].slot, 9);
}

#[test]
fn constants_of_every_integer_type_in_every_position() {
    check_positions(&PROG_I8, -5);
    check_positions(&PROG_I16, -5);
    check_positions(&PROG_I32, -5);
    check_positions(&PROG_I64, -5);
    check_positions(&PROG_I128, -5);
    check_positions(&PROG_ISIZE, -5);
    check_positions(&PROG_U8, 5);
    check_positions(&PROG_U16, 5);
    check_positions(&PROG_U32, 5);
    check_positions(&PROG_U64, 5);
    check_positions(&PROG_U128, 5);
    check_positions(&PROG_USIZE, 5);
}

const fn minus(x: i32) -> i32 {
    -x
}

struct Layout;

impl Layout {
    const SLOT: i16 = -16;
}

const LITERALS: Program = bpf_prog! {
    stxw [r10 + { -8 }], r1;              // 0: negative unsuffixed literal
    ldxb r2, [r10 + { -20 }];             // 1
    add r2, { -8 };                       // 2
    add r2, { (-8) };                     // 3: parenthesised
    add r2, { -(1 << 4) };                // 4: shifts
    add r2, { 0 - 8 };                    // 5: arithmetic
    add r2, { 1 << 20 };                  // 6
    add r2, -{ 8 };                       // 7: sign outside the braces
    stxdw [r10 - { 16 }], r2;             // 8
    add r2, { -8i8 };                     // 9: suffixed literals
    add r2, { -8i16 };                    // 10
    add r2, { -8i32 };                    // 11
    add r2, { -8i64 };                    // 12
    add r2, { -8i128 };                   // 13
    add r2, { -8isize };                  // 14
    add r2, { 8u8 };                      // 15
    add r2, { 8u16 };                     // 16
    add r2, { 8u32 };                     // 17
    add r2, { 8u64 };                     // 18
    add r2, { 8u128 };                    // 19
    add r2, { 8usize };                   // 20
    add r2, { 300u32 as u8 };             // 21: casts (300 as u8 = 44)
    add r2, { -1i64 as u16 };             // 22: 65535
    add r2, { minus(12) };                // 23: const fn
    add32 r2, { i32::MIN };               // 24: associated constants
    mov32 r2, { u32::MAX };               // 25
    lddw r3, { u64::MAX };                // 26-27
    lddw r3, { i64::MIN };                // 28-29
    stxw [r10 + { Layout::SLOT }], r2;    // 30
    jsgt r2, { i32::MIN }, out;           // 31
out:
    mov r0, 0;
    exit
};

#[test]
fn literals_casts_calls_and_associated_constants() {
    let p = &LITERALS;
    assert_eq!(fields(p, 0), (0x63, 10, 1, -8, 0));
    assert_eq!(fields(p, 1), (0x71, 2, 10, -20, 0));
    for i in 2..=5 {
        assert_eq!(fields(p, i).4, if i == 4 { -16 } else { -8 }, "slot {i}");
    }
    assert_eq!(fields(p, 6).4, 1 << 20);
    assert_eq!(fields(p, 7).4, -8);
    assert_eq!(fields(p, 8), (0x7b, 10, 2, -16, 0));
    for i in 9..=14 {
        assert_eq!(fields(p, i).4, -8, "slot {i}");
    }
    for i in 15..=20 {
        assert_eq!(fields(p, i).4, 8, "slot {i}");
    }
    assert_eq!(fields(p, 21).4, 44);
    assert_eq!(fields(p, 22).4, 65535);
    assert_eq!(fields(p, 23).4, -12);
    assert_eq!(fields(p, 24), (0x04, 2, 0, 0, i32::MIN));
    assert_eq!(fields(p, 25), (0xb4, 2, 0, 0, -1));
    assert_eq!(imm64(p, 26), u64::MAX);
    assert_eq!(imm64(p, 28), i64::MIN as u64);
    assert_eq!(fields(p, 30), (0x63, 10, 2, -16, 0));
    assert_eq!(fields(p, 31), (0x65, 2, 0, 0, i32::MIN));
}
