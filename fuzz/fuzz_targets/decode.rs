//! Random instruction slots through the disassembler and back.
//!
//! The input is cut to a multiple of 8 bytes, read as `struct bpf_insn`
//! slots. Properties:
//! - `disassemble`, `disassemble_pseudo_c`, and the per-instruction printers
//!   never panic;
//! - the mnemonic listing assembles (flow checks off) to exactly the same
//!   slots, whatever they hold (undecodable slots print as `raw`);
//! - the full checks (`bpf_asm::assemble`) never panic on that listing.

#![no_main]

use bpf_asm::{Assembler, Insn, disassemble, disassemble_pseudo_c};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let insns: Vec<Insn> = data
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8-byte chunk")))
        .collect();
    let listing = disassemble(&insns);
    let _ = disassemble_pseudo_c(&insns);
    for i in 0..insns.len() {
        let _ = bpf_asm::insn_to_string(&insns[i..]);
        let _ = bpf_asm::insn_to_pseudo_c(&insns[i..]);
    }
    let again = Assembler::new()
        .flow_checks(false)
        .assemble(&listing)
        .unwrap_or_else(|e| {
            panic!(
                "the disassembly of {insns:?} does not assemble:\n--- listing\n{listing}--- errors\n{e}"
            )
        });
    assert_eq!(
        again.insns(),
        insns.as_slice(),
        "disassemble + assemble changed the slots; listing:\n{listing}"
    );
    let _ = bpf_asm::assemble(&listing);
});
