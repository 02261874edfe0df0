//! Every encoding row of shared/ISA.md: each spelling assembles to the exact
//! bytes, the disassembler's text assembles back to them, and the pseudo-C
//! printer matches LLVM 19's spelling where the row was verified with it.

use bpf_asm::{Assembler, Insn, disassemble, insn_to_pseudo_c, insn_to_string};

const VECTORS: &str = include_str!("isa_vectors.txt");

/// Slots of padding before the instruction, so `-N` targets land inside.
const BEFORE: usize = 2;

fn hex_to_insns(hex: &str) -> Vec<Insn> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    bytes
        .chunks(8)
        .map(|c| Insn::from_bytes(c.try_into().unwrap()))
        .collect()
}

/// How many slots after the instruction a forward target needs.
fn after(insns: &[Insn]) -> usize {
    let i = insns[0];
    let reach = i64::from(i.off()).abs().max(i64::from(i.imm()).abs());
    // Only branches need the room; a little extra for everyone is cheap.
    if reach < 200_000 {
        reach as usize + 2
    } else {
        2
    }
}

/// Assembles `text` between padding `exit`s and returns the middle slots.
fn assemble_padded(text: &str, n: usize, after: usize) -> Result<Vec<Insn>, String> {
    let mut src = "exit\n".repeat(BEFORE);
    src.push_str(text);
    src.push('\n');
    src.push_str(&"exit\n".repeat(after));
    let prog = Assembler::new()
        .flow_checks(false)
        .assemble(&src)
        .map_err(|e| e.to_string())?;
    Ok(prog.insns()[BEFORE..BEFORE + n].to_vec())
}

fn rows() -> impl Iterator<Item = (&'static str, Vec<&'static str>, &'static str)> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cells = l.split(" | ");
            let hex = cells.next().unwrap().trim();
            let spellings = cells.next().unwrap().split(" ; ").map(str::trim).collect();
            let pseudo_c = cells.next().unwrap_or("").trim();
            (hex, spellings, pseudo_c)
        })
}

#[test]
fn every_spelling_encodes_to_its_vector() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (hex, spellings, _) in rows() {
        let want = hex_to_insns(hex);
        for s in spellings {
            count += 1;
            match assemble_padded(s, want.len(), after(&want)) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!("{s}: got {got:?}, want {want:?}")),
                Err(e) => failures.push(format!("{s}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count >= 200, "only {count} spellings checked");
}

#[test]
fn disassembly_of_every_vector_assembles_back() {
    let mut failures = Vec::new();
    for (hex, spellings, _) in rows() {
        let want = hex_to_insns(hex);
        let text = insn_to_string(&want);
        match assemble_padded(&text, want.len(), after(&want)) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{hex}: `{text}` gives {got:?}")),
            Err(e) => failures.push(format!("{hex}: `{text}`: {e}")),
        }
        // The canonical spelling is what the disassembler prints, modulo
        // helper names, `%r` and spacing.
        let canonical = spellings[0];
        if !canonical.contains('%') && !canonical.contains("+ 8]") && text != canonical {
            failures.push(format!("{hex}: prints `{text}`, table says `{canonical}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pseudo_c_matches_llvm_spelling() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (hex, _, pseudo_c) in rows() {
        if pseudo_c.is_empty() {
            continue;
        }
        count += 1;
        let got = insn_to_pseudo_c(&hex_to_insns(hex));
        if got != pseudo_c {
            failures.push(format!("{hex}: `{got}`, LLVM: `{pseudo_c}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count > 150, "{count}");
}

#[test]
fn rejected_encodings_have_no_spelling_and_print_raw() {
    // callx (0x8d), gotox (0x0d), ldabsdw (0x38), ldinddw (0x58).
    for (hex, text) in [
        ("8d02000000000000", "callx r2"),
        ("0d03000000000000", "gotox r3"),
        ("380000000c000000", "ldabsdw 12"),
        ("583000000c000000", "ldinddw r3, 12"),
    ] {
        let insns = hex_to_insns(hex);
        assert!(insn_to_string(&insns).starts_with("raw "), "{hex}");
        let err = Assembler::new()
            .flow_checks(false)
            .assemble(text)
            .unwrap_err();
        assert!(err.to_string().contains("unknown instruction"), "{err}");
        assert_eq!(disassemble(&insns).trim(), insn_to_string(&insns));
    }
}
