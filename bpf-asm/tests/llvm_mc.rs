//! Differential test against LLVM: the pseudo-C printer's text for random
//! valid instructions of every form LLVM 19 can express, assembled by
//! `llvm-mc-19 -triple bpfel -mcpu=v4 -show-encoding`, gives our bytes.
//!
//! Needs `llvm-mc-19` (Debian `llvm-19`). Without it the test is skipped,
//! unless `BPF_TESTS_REQUIRE_LLVM=1` (set by `.ci/run`) makes that a failure.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use bpf_asm::disasm::decode;
use bpf_asm::isa::{Fld, Op, Pseudo};
use bpf_asm::{Insn, insn_to_pseudo_c};

const LLVM_MC: &str = "llvm-mc-19";

/// Whether LLVM 19's assembler can write this instruction (ISA.md §2, V ✔).
fn llvm_expressible(slots: &[Insn]) -> bool {
    let Some(d) = decode(slots) else { return false };
    let Some(f) = d.form else { return false };
    let i = d.insn;
    match f.op {
        Op::Ja if f.target_field() == Some(Fld::Imm) => i16::try_from(i.imm()).is_ok(),
        Op::CallLocal | Op::CallKfunc | Op::Raw => false,
        Op::Lddw(None) => true,
        Op::Lddw(Some(Pseudo::Func)) => false,
        Op::Lddw(Some(_)) => d.next.is_some_and(|n| n.imm() == 0),
        Op::LdInd => i.imm() == 0,
        // Load-acquire and store-release need LLVM 21.
        Op::LoadAcquire | Op::StoreRelease => false,
        _ => true,
    }
}

/// `llvm-mc-19 -show-encoding` on `text`, or `None` (after saying so) when
/// it is not installed and not required.
fn llvm_mc(text: String) -> Option<std::process::Output> {
    let mut child = match Command::new(LLVM_MC)
        .args(["-triple", "bpfel", "-mcpu=v4", "-show-encoding"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => {
            let msg = format!("skipped: {LLVM_MC} not found (apt-get install llvm-19)");
            assert!(
                std::env::var("BPF_TESTS_REQUIRE_LLVM").as_deref() != Ok("1"),
                "{msg}, and BPF_TESTS_REQUIRE_LLVM=1"
            );
            eprintln!("{msg}");
            return None;
        }
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().expect("llvm-mc runs");
    writer.join().expect("writer").expect("write");
    Some(out)
}

fn llvm_encode(lines: &[String]) -> Option<Vec<Vec<u8>>> {
    let out = llvm_mc(lines.join("\n") + "\n")?;
    assert!(
        out.status.success(),
        "llvm-mc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    Some(
        stdout
            .lines()
            .filter_map(|l| l.split("encoding: [").nth(1))
            .map(|enc| {
                enc.trim_end_matches(']')
                    .split(',')
                    .map(|b| {
                        u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).expect("hex")
                    })
                    .collect()
            })
            .collect(),
    )
}

#[test]
fn llvm_mc_assembles_our_pseudo_c_to_our_bytes() {
    // Deterministic pseudo-random seeds covering every form many times.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n_forms = bpf_asm::isa::isa().forms.len();
    let mut cases: Vec<(Vec<Insn>, String)> = Vec::new();
    for round in 0..20 {
        for fi in 0..n_forms {
            let r = next();
            let seed = (
                fi,
                r as u8,
                (r >> 8) as u8,
                (r >> 16) as i16,
                (r >> 32) as i32 >> (round % 31),
                next() as i32,
                0,
            );
            let mut slots = common::insn(seed);
            // Give branches a small random offset; LLVM takes any in range.
            if let Some(d) = decode(&slots)
                && let Some(f) = d.form
            {
                let off = (next() % 200) as i16 - 100;
                match f.target_field() {
                    Some(Fld::Off) => {
                        let i = slots[0];
                        slots[0] = Insn::new(i.code(), i.dst(), i.src(), off, i.imm());
                    }
                    Some(_) => slots[0] = slots[0].with_imm(i32::from(off)),
                    None => {}
                }
            }
            if llvm_expressible(&slots) {
                let text = insn_to_pseudo_c(&slots);
                cases.push((slots, text));
            }
        }
    }
    assert!(cases.len() > 2000, "{}", cases.len());
    let lines: Vec<String> = cases.iter().map(|c| c.1.clone()).collect();
    let Some(encodings) = llvm_encode(&lines) else {
        return;
    };
    assert_eq!(
        encodings.len(),
        cases.len(),
        "llvm-mc printed a different number of encodings"
    );
    let mut failures = Vec::new();
    for ((slots, text), got) in cases.iter().zip(&encodings) {
        let want: Vec<u8> = slots.iter().flat_map(|i| i.to_bytes()).collect();
        if &want != got {
            failures.push(format!("`{text}`: ours {want:02x?}, llvm {got:02x?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}

#[test]
fn llvm_mc_reads_named_map_loads_as_relocations() {
    let prog =
        bpf_asm::assemble("lddw r1, map_fd(counts)\nlddw r2, map_value(cfg, 8)\nmov r0, 0\nexit")
            .expect("assembles");
    let Some(out) = llvm_mc(bpf_asm::disassemble_program(&prog, true)) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("fixup A - offset: 0, value: counts,"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fixup A - offset: 0, value: cfg+8,"),
        "{stdout}"
    );
}
