//! The eBPF assembler core behind `bpf_prog!`: one table of the instruction
//! set, a parser shared by the macro and the runtime assembler, the checks,
//! the encoder and the disassembler.
//!
//! Pipeline (see `ARCHITECTURE.md`): tokens (a text lexer, or the macro's
//! token trees) → parse → encode (labels, forms, ranges) → checks (control
//! flow, registers, stack) → [`Program`], one driver for both front ends.
//! Every phase reads the instruction set from the rows of [`isa`];
//! [`disasm`] prints instructions back through the same rows.
//!
//! The public surface: [`assemble`] / [`Assembler`] and their errors, the
//! [`Program`] and [`Insn`] types that `bpf_prog!` emits, the disassemblers,
//! and the ISA rows, read-only.
//!
//! ```
//! let prog = bpf_asm::assemble("
//!     mov r6, r1         # legacy packet loads take the context from r6
//!     ldabsb 23          # IPv4 protocol on a live AF_PACKET socket
//!     jne r0, 17, drop
//!     mov r0, -1
//!     exit
//! drop:
//!     mov r0, 0
//!     exit
//! ").unwrap();
//! assert_eq!(prog.len(), 7);
//! print!("{}", bpf_asm::disassemble(prog.insns()));
//! ```

mod asm;
mod check;
mod decl;
mod diag;
pub mod disasm;
mod encode;
mod error;
#[cfg(feature = "macro")]
pub mod expand;
mod flow;
mod insn;
pub mod isa;
mod mapspec;
mod parse;
mod pipeline;
mod program;
pub mod progtype;
mod rules;
mod token;

pub use asm::{AsmError, AsmErrors, Assembler, assemble};
pub use check::Check;
pub use disasm::{
    disassemble, disassemble_program, disassemble_pseudo_c, insn_to_pseudo_c, insn_to_string,
};
pub use insn::{Insn, insns_as_bytes};
pub use mapspec::MapSpec;
pub use program::{MapReloc, Program, SourceLine};
