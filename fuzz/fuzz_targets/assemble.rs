//! Random text through the runtime assembler.
//!
//! Properties:
//! - `bpf_asm::assemble` (every check) and `Assembler::new().flow_checks(false)`
//!   never panic, whatever the input;
//! - a program the full checks accept is accepted without the flow checks,
//!   to the same instructions (the flow checks only add errors);
//! - whatever assembles, disassembles to text that assembles (flow checks
//!   off) to exactly the same instructions.

#![no_main]

use bpf_asm::{Assembler, disassemble};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let checked = bpf_asm::assemble(text);
    let loose = Assembler::new().flow_checks(false);
    let prog = match loose.assemble(text) {
        Ok(prog) => prog,
        Err(e) => {
            if let Ok(p) = checked {
                panic!(
                    "accepted with the flow checks on ({} slots), rejected with them off:\n{e}",
                    p.len()
                );
            }
            return;
        }
    };
    if let Ok(p) = &checked {
        assert_eq!(
            p.insns(),
            prog.insns(),
            "the flow checks changed the instructions"
        );
    }
    let listing = disassemble(prog.insns());
    let again = loose.assemble(&listing).unwrap_or_else(|e| {
        panic!("the disassembly does not assemble:\n--- listing\n{listing}--- errors\n{e}")
    });
    assert_eq!(
        again.insns(),
        prog.insns(),
        "disassemble + assemble changed the instructions; listing:\n{listing}"
    );
});
