//! The eBPF assembler core behind `bpf_prog!`: one table of the instruction
//! set, a parser shared by the macro and the runtime assembler, the checks,
//! the encoder and the disassembler.

mod insn;
mod program;

pub use insn::{Insn, insns_as_bytes};
pub use program::{MapReloc, Program, SourceLine};
