//! The interpreter never panics and never hangs, whatever it is given: the
//! bounded, in-CI counterpart of the cargo-fuzz targets `vm` and `vm_asm`
//! (`fuzz/`), sharing their harness (`fuzz/fuzz_targets/vm_common.rs`: the
//! maps bound by name, the settings, the run and its properties).
//!
//! Three generators: random slots (opcodes of the ISA table's rows or any
//! byte, any registers, edge-case immediates), valid programs of every form
//! (bpf-asm's property-test generator) disassembled and assembled again
//! by the runtime assembler, and assembly text built from pieces that
//! reach the interesting parts (labels and loops, map relocations, helper
//! calls with stack pointers, `call local`, tail calls, legacy loads); each
//! run on random packets with random settings and a small instruction
//! budget. Each run must return, `Ok` or `Err`.

#[path = "../fuzz/fuzz_targets/vm_common.rs"]
mod vm_common;

#[path = "../bpf-asm/tests/common/mod.rs"]
mod isa_gen;

use bpf_loader::asm::{Assembler, disassemble};
use bpf_loader::{Insn, Program};
use proptest::prelude::*;

/// Instructions per run: small, so that the debug build stays fast.
const BUDGET: u64 = 10_000;

/// Cases per property: 1,000 (about a second in a debug build), or
/// `VM_NO_PANIC_CASES`.
fn config() -> ProptestConfig {
    let cases = std::env::var("VM_NO_PANIC_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Immediates and offsets that find edge cases.
fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![
        -16..16i32,
        prop::sample::select(vec![i32::MIN, i32::MAX, -1, 0x7fff, 0x8000, 0xffff, 63, 64]),
        any::<i32>(),
    ]
}

fn off() -> impl Strategy<Value = i16> {
    prop_oneof![-24..24i16, (-64..0i16).prop_map(|o| o * 8), any::<i16>()]
}

fn packet() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..96)
}

fn settings() -> impl Strategy<Value = vm_common::Settings> {
    (any::<u8>(), any::<u32>()).prop_map(|(flags, mark)| {
        let [a, b, c, d] = mark.to_le_bytes();
        vm_common::Settings::read(&[flags, a, b, c, d])
    })
}

/// One random slot: half the time an opcode some row of the table has.
fn slot() -> impl Strategy<Value = Insn> {
    let codes: Vec<u8> = bpf_asm::isa::isa().forms.iter().map(|f| f.code).collect();
    (
        prop_oneof![prop::sample::select(codes), any::<u8>()],
        any::<u8>(),
        off(),
        imm(),
    )
        .prop_map(|(code, regs, off, imm)| Insn::new(code, regs & 0xf, regs >> 4, off, imm))
}

/// One piece of assembly text: `(kind, a, b, imm, target)`, the target a
/// label `L<n>` at the start of a piece.
type Piece = (u8, u8, u8, i32, u8);

const MAPS: [&str; 6] = ["array", "hash", "percpu", "ring", "progs", "nomap"];

fn line(p: Piece, labels: usize) -> String {
    let (kind, a, b, imm, t) = p;
    let (d, s) = (a % 10, b % 11);
    let target = usize::from(t) % labels;
    let map = MAPS[usize::from(b) % MAPS.len()];
    let slot = (usize::from(a) % 8 + 1) * 8;
    match kind % 24 {
        0 => format!("mov r{d}, {imm}"),
        1 => format!("add r{d}, r{s}"),
        2 => format!("stxdw [r10 - {slot}], r{s}"),
        3 => format!("ldxdw r{d}, [r10 - {slot}]"),
        4 => format!("mov r2, r10\n add r2, -{slot}"),
        5 => format!("mov r3, r10\n add r3, -{slot}"),
        6 => format!("lddw r1, map_fd({map})"),
        7 => format!(
            "lddw r1, map_fd({map})\n mov r2, r10\n add r2, -{slot}\n call bpf_map_lookup_elem"
        ),
        8 => format!(
            "lddw r1, map_fd({map})\n mov r2, r10\n add r2, -{slot}\n mov r3, r10\n \
             add r3, -{}\n mov r4, {}\n call bpf_map_update_elem",
            (usize::from(t) % 8 + 1) * 8,
            imm.rem_euclid(3)
        ),
        9 => format!(
            "lddw r1, map_fd({map})\n mov r2, r10\n add r2, -{slot}\n call bpf_map_delete_elem"
        ),
        10 => format!("ldxdw r{d}, {}", mem(0, imm % 24)),
        11 => format!("lock add {}, r{s}", mem(0, (imm % 4) * 8)),
        12 => format!("ldabsb {}", imm.rem_euclid(64)),
        13 => format!("ldindh r{s}, {}", imm % 64),
        14 => format!("jeq r{d}, {}, L{target}", imm % 4),
        15 => format!("jgt r{d}, r{s}, L{target}"),
        16 => format!("call local L{target}"),
        17 => "exit".to_owned(),
        18 => format!("may_goto L{target}"),
        19 => "mov r1, r6\n lddw r2, map_fd(progs)\n mov r3, 0\n call bpf_tail_call".to_owned(),
        20 => format!(
            "mov r1, r6\n mov r2, {}\n mov r3, r10\n add r3, -16\n mov r4, {}\n call bpf_skb_load_bytes",
            imm % 80,
            usize::from(a) % 20
        ),
        21 => format!(
            "lddw r1, map_fd(ring)\n mov r2, r10\n add r2, -{slot}\n mov r3, {}\n mov r4, 0\n call bpf_ringbuf_output",
            usize::from(b) % 16
        ),
        22 => format!("ldxw r{d}, {}", mem(6, (imm % 48) * 4)),
        _ => format!("stxw {}, r{s}", mem(d, imm % 16)),
    }
}

/// `[rB + off]` or `[rB - |off|]`.
fn mem(base: u8, off: i32) -> String {
    if off < 0 {
        format!("[r{base} - {}]", off.unsigned_abs())
    } else {
        format!("[r{base} + {off}]")
    }
}

/// A program of labelled pieces: `mov r6, r1` first (the context, for the
/// legacy loads and tail calls), a final `exit`.
fn text(pieces: &[Piece]) -> String {
    let mut t = String::from("    mov r6, r1\n");
    for (i, &p) in pieces.iter().enumerate() {
        t.push_str(&format!("L{i}:\n    {}\n", line(p, pieces.len())));
    }
    t.push_str("    mov r0, 0\n    exit\n");
    t
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_slots(
        insns in prop::collection::vec(slot(), 0..48),
        packet in packet(),
        settings in settings(),
    ) {
        vm_common::run_with_budget(&Program::from_insns(insns), &packet, &settings, BUDGET);
    }

    #[test]
    fn valid_programs_through_the_runtime_assembler(
        seeds in prop::collection::vec(any::<isa_gen::Seed>(), 1..40),
        packet in packet(),
        settings in settings(),
    ) {
        let insns = isa_gen::program(&seeds);
        let listing = disassemble(&insns);
        let prog = Assembler::new().flow_checks(false).assemble(&listing);
        prop_assert!(prog.is_ok(), "{listing}");
        if let Ok(prog) = prog {
            prop_assert_eq!(prog.insns(), insns.as_slice());
            vm_common::run_with_budget(&prog, &packet, &settings, BUDGET);
        }
    }

    #[test]
    fn assembled_text(
        pieces in prop::collection::vec(any::<Piece>(), 1..30),
        packet in packet(),
        settings in settings(),
    ) {
        let src = text(&pieces);
        // Undeclared names and out-of-range immediates are assembler
        // errors: those programs are skipped.
        if let Ok(prog) = Assembler::new().flow_checks(false).assemble(&src) {
            vm_common::run_with_budget(&prog, &packet, &settings, BUDGET);
        }
    }
}

/// The text generator mostly produces programs that assemble (else the
/// property above tests little).
#[test]
fn generated_text_mostly_assembles() {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut ok = 0;
    for _ in 0..200 {
        let pieces: Vec<Piece> = (0..1 + next() % 29)
            .map(|_| {
                let r = next();
                (
                    r as u8,
                    (r >> 8) as u8,
                    (r >> 16) as u8,
                    (r >> 24) as i32,
                    (r >> 56) as u8,
                )
            })
            .collect();
        if Assembler::new()
            .flow_checks(false)
            .assemble(&text(&pieces))
            .is_ok()
        {
            ok += 1;
        }
    }
    assert!(ok >= 50, "only {ok} of 200 generated programs assemble");
}
