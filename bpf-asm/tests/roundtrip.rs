//! Property tests: disassembling and re-assembling gives the same bytes, for
//! random valid encodings of every form (printed without `raw`) and for
//! arbitrary bytes (where invalid slots print as `raw`).

mod common;

use bpf_asm::{Assembler, Insn, disassemble, disassemble_pseudo_c};
use proptest::prelude::*;

fn reassemble(text: &str) -> Vec<Insn> {
    match Assembler::new().flow_checks(false).assemble(text) {
        Ok(p) => p.insns().to_vec(),
        Err(e) => panic!("{e}\n--- text ---\n{text}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn valid_encodings_round_trip(seeds in prop::collection::vec(any::<common::Seed>(), 1..40)) {
        let insns = common::program(&seeds);
        let text = disassemble(&insns);
        prop_assert!(!text.lines().any(|l| l.trim_start().starts_with("raw ")), "a valid encoding printed as raw:\n{}", text);
        prop_assert_eq!(reassemble(&text), insns.clone());
        let _ = disassemble_pseudo_c(&insns);
    }

    #[test]
    fn arbitrary_bytes_round_trip(words in prop::collection::vec(any::<u64>(), 1..40)) {
        let insns: Vec<Insn> = words.iter().map(|w| Insn::from_bytes(w.to_le_bytes())).collect();
        let text = disassemble(&insns);
        prop_assert_eq!(reassemble(&text), insns.clone());
        let _ = disassemble_pseudo_c(&insns);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[a-z0-9 ,\\[\\]+\\-:;%#()\n_]{0,80}") {
        let _ = bpf_asm::assemble(&text);
        let _ = Assembler::new().flow_checks(false).assemble(&text);
    }
}

#[test]
fn every_form_is_generated() {
    let n = bpf_asm::isa::isa().forms.len();
    let mut seen = std::collections::HashSet::new();
    for fi in 0..n * 2 {
        let insns = common::insn((fi, 1, 2, -8, 3, 4, 0));
        if let Some(d) = bpf_asm::disasm::decode(&insns)
            && let Some(f) = d.form
        {
            seen.insert((f.name, f.pseudo()));
        }
    }
    let missing: Vec<_> = bpf_asm::isa::isa()
        .forms
        .iter()
        .filter(|f| f.op != bpf_asm::isa::Op::Raw && !seen.contains(&(f.name, f.pseudo())))
        .map(|f| f.name)
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}
