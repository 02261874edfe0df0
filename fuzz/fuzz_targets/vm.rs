//! Random instruction slots and a random packet through the interpreter.
//!
//! The input: 5 bytes of settings ([`vm_common::Settings`]: data start
//! live or test-run, self tail calls, maps rebound, `mark`), one byte `n`,
//! then `n` slots of 8 bytes (`Insn::from_bytes`, as the `decode` target
//! reads them; fewer if the input is shorter), and the rest is the packet.
//! Properties:
//! - `Vm::new` and `Vm::run` never panic, whatever the slots (undecodable
//!   ones, jumps out of the program, map loads without relocations,
//!   unknown helpers, wild pointers are all errors);
//! - no run passes the instruction budget (100,000), so nothing hangs;
//! - a program without helper calls gives the same result when run again
//!   on the same `Vm`.

#![no_main]

#[path = "vm_common.rs"]
mod vm_common;

use bpf_asm::{Insn, Program};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = vm_common::Settings::read(data);
    let rest = data.get(vm_common::SETTINGS..).unwrap_or(&[]);
    let Some((&n, rest)) = rest.split_first() else {
        return;
    };
    let slots = (usize::from(n) * 8).min(rest.len() / 8 * 8);
    let (code, packet) = rest.split_at(slots);
    let insns: Vec<Insn> = code
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8-byte chunk")))
        .collect();
    vm_common::run(&Program::from_insns(insns), packet, &settings);
});
