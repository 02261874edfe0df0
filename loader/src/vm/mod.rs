//! A pure-Rust interpreter with the kernel's semantics, so filters are
//! testable without privileges: `assert_eq!(vm.run(&SkBuff::live(&pkt))?, KEEP)`
//! in a plain `#[test]`.
//!
//! Each instruction's meaning comes from its row in the ISA table
//! ([`bpf_asm::isa`]): the interpreter decodes the program once and runs the
//! rows' operations with the kernel's rules: 32-bit results zero-extended,
//! division by zero giving 0 and modulo by zero leaving the dividend, shift
//! counts masked, `sdiv`/`smod` of `MIN / -1`, sign-extending loads and
//! moves, byte swaps, atomics and their fetch results, `may_goto` with the
//! kernel's budget (`BPF_MAX_LOOPS` per frame), bpf-to-bpf calls with their
//! own 512-byte stack frames (8 at most), tail calls through a program
//! array (33 at most), and the legacy packet loads (big-endian, an offset
//! out of range ends the program with 0, r1–r5 clobbered).
//!
//! Without the verifier, every memory access is checked against the region
//! it points into (the context, a stack frame, a map value, a ring-buffer
//! record): what the kernel would have refused is an [`VmError`] naming
//! the instruction's source line, never undefined behaviour or a panic, and
//! an instruction budget stops runaway loops.
//!
//! ```
//! use bpf_loader::bpf_prog;
//! use bpf_loader::vm::{SkBuff, Verdict, Vm};
//!
//! // Keep UDP over IPv4 (live-socket offsets).
//! const UDP: bpf_loader::Program = bpf_prog! {
//!     mov r6, r1;
//!     ldabsh 12;
//!     jne r0, 0x0800, drop;
//!     ldabsb 23;
//!     jne r0, 17, drop;
//!     mov r0, -1;
//!     exit;
//! drop:
//!     mov r0, 0;
//!     exit
//! };
//!
//! let mut vm = Vm::new(&UDP)?;
//! let mut frame = [0u8; 42];
//! frame[12] = 0x08;
//! frame[23] = 17;
//! assert_eq!(Verdict::of(vm.run(&SkBuff::live(&frame))?), Verdict::Keep(u32::MAX));
//! frame[23] = 6;
//! assert_eq!(Verdict::of(vm.run(&SkBuff::live(&frame))?), Verdict::Drop);
//! # Ok::<(), bpf_loader::vm::VmError>(())
//! ```

mod ctx;
mod exec;
mod helpers;
mod maps;
mod mem;

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use bpf_asm::isa::{AluOp, AtomicOp, ByteOrder, Fld, Form, JmpOp, Op, Pseudo};
use bpf_asm::{Insn, Program, SourceLine};

pub use ctx::{DataStart, SkBuff};
pub use helpers::HelperCall;
pub(crate) use maps::{MapError, MemMap};

/// The most frames of bpf-to-bpf calls (`MAX_CALL_FRAMES`).
const MAX_FRAMES: usize = 8;
/// The most tail calls in one run (`MAX_TAIL_CALL_CNT`).
const MAX_TAIL_CALLS: u32 = 33;
/// `may_goto`'s budget per frame (`BPF_MAX_LOOPS`).
const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;
/// Bytes of stack per frame (`MAX_BPF_STACK`).
const STACK: usize = 512;

/// Why a run stopped without an `exit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmError {
    /// What went wrong.
    pub kind: VmErrorKind,
    /// The slot of the instruction, if one was running.
    pub slot: Option<usize>,
    /// Its source line, if the program has one.
    pub source_line: Option<SourceLine>,
}

/// The kinds of [`VmError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmErrorKind {
    /// A slot that is no instruction the assembler accepts (the kernel
    /// refuses to load it).
    InvalidInstruction(String),
    /// A load or store the kernel's verifier would have refused.
    Memory(String),
    /// A helper the interpreter does not implement and no closure was
    /// given for (by name).
    UnknownHelper(String),
    /// A helper given arguments the kernel would have refused.
    Helper(String),
    /// A map the program names that no map was bound to.
    UnboundMap(String),
    /// More instructions than the budget ([`Vm::budget`]).
    Budget(u64),
    /// More than 8 frames of `call local`.
    CallDepth,
    /// Control left the program (a jump out of it, or off its end).
    OutOfProgram,
}

impl fmt::Display for VmErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmErrorKind::InvalidInstruction(s) => write!(f, "invalid instruction: {s}"),
            VmErrorKind::Memory(s) => write!(f, "{s}"),
            VmErrorKind::UnknownHelper(h) => write!(
                f,
                "helper `{h}` is not implemented by the interpreter; give it one with \
                 `Vm::helper`"
            ),
            VmErrorKind::Helper(s) => write!(f, "{s}"),
            VmErrorKind::UnboundMap(m) => {
                write!(f, "no map is bound to `{m}`: use `Vm::map(\"{m}\", ...)`")
            }
            VmErrorKind::Budget(n) => write!(
                f,
                "ran {n} instructions without exiting (the budget; raise it with `Vm::budget`)"
            ),
            VmErrorKind::CallDepth => f.write_str("more than 8 frames of `call local`"),
            VmErrorKind::OutOfProgram => f.write_str("control left the program"),
        }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source_line, self.slot) {
            (Some(s), _) => write!(f, "at {}: `{}`: {}", s.location(), s.text, self.kind),
            (None, Some(slot)) => write!(f, "at instruction {slot}: {}", self.kind),
            (None, None) => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for VmError {}

/// What a step does: its row's operation with the fields that select the
/// arithmetic resolved, so the run loop dispatches once per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exec {
    // ALU steps by operation, operand (the immediate or `src`) and width:
    // one variant each, so the run loop dispatches once per step (a nested
    // match on the operation costs a second indirect jump).
    AddImm64,
    AddReg64,
    AddImm32,
    AddReg32,
    SubImm64,
    SubReg64,
    SubImm32,
    SubReg32,
    MulImm64,
    MulReg64,
    MulImm32,
    MulReg32,
    DivImm64,
    DivReg64,
    DivImm32,
    DivReg32,
    SDivImm64,
    SDivReg64,
    SDivImm32,
    SDivReg32,
    OrImm64,
    OrReg64,
    OrImm32,
    OrReg32,
    AndImm64,
    AndReg64,
    AndImm32,
    AndReg32,
    LshImm64,
    LshReg64,
    LshImm32,
    LshReg32,
    RshImm64,
    RshReg64,
    RshImm32,
    RshReg32,
    ModImm64,
    ModReg64,
    ModImm32,
    ModReg32,
    SModImm64,
    SModReg64,
    SModImm32,
    SModReg32,
    XorImm64,
    XorReg64,
    XorImm32,
    XorReg32,
    MovImm64,
    MovReg64,
    MovImm32,
    MovReg32,
    ArshImm64,
    ArshReg64,
    ArshImm32,
    ArshReg32,
    Neg {
        wide: bool,
    },
    Endian {
        order: ByteOrder,
        width: u8,
    },
    MovSx {
        wide: bool,
        bytes: u8,
    },
    /// `lddw` of a constant (in `imm`).
    Lddw,
    /// `lddw` of a relocated map (`value`: `map_value(NAME, off)`).
    LddwMap {
        value: bool,
    },
    LdAbs,
    LdInd,
    /// A legacy load whose next step is `jeq`/`jne r0, imm` (the classic
    /// filter's load and test): both run in one dispatch. The next step
    /// stays as it is, for jumps to it.
    LdAbsCompare,
    LdIndCompare,
    /// `ldabsb k; and r0, 0xf; lsh r0, 2`: the IPv4 header length in bytes
    /// (classic BPF's `ldxb 4*([k]&0xf)`), in one dispatch.
    LdAbsHeaderLen,
    Load {
        signed: bool,
    },
    Store {
        reg: bool,
    },
    Atomic {
        op: AtomicOp,
        fetch: bool,
        wide: bool,
    },
    Ja,
    MayGoto,
    // Conditional jumps likewise.
    JeqImm64,
    JeqReg64,
    JeqImm32,
    JeqReg32,
    JgtImm64,
    JgtReg64,
    JgtImm32,
    JgtReg32,
    JgeImm64,
    JgeReg64,
    JgeImm32,
    JgeReg32,
    JsetImm64,
    JsetReg64,
    JsetImm32,
    JsetReg32,
    JneImm64,
    JneReg64,
    JneImm32,
    JneReg32,
    JsgtImm64,
    JsgtReg64,
    JsgtImm32,
    JsgtReg32,
    JsgeImm64,
    JsgeReg64,
    JsgeImm32,
    JsgeReg32,
    JltImm64,
    JltReg64,
    JltImm32,
    JltReg32,
    JleImm64,
    JleReg64,
    JleImm32,
    JleReg32,
    JsltImm64,
    JsltReg64,
    JsltImm32,
    JsltReg32,
    JsleImm64,
    JsleReg64,
    JsleImm32,
    JsleReg32,
    Call,
    CallLocal,
    Exit,
    /// `mov r0, imm` (its value in `imm`, 32-bit moves zero-extended) and
    /// the `exit` after it, in one dispatch: how most filters return.
    MovExit,
    /// Not runnable (why).
    Invalid(Unrunnable),
}

impl Exec {
    /// The ALU step of `op` with the immediate or `src` (`reg`), 64- or
    /// 32-bit.
    fn alu(op: Arith, wide: bool, reg: bool) -> Exec {
        match (op, wide, reg) {
            (Arith::Add, true, false) => Exec::AddImm64,
            (Arith::Add, true, true) => Exec::AddReg64,
            (Arith::Add, false, false) => Exec::AddImm32,
            (Arith::Add, false, true) => Exec::AddReg32,
            (Arith::Sub, true, false) => Exec::SubImm64,
            (Arith::Sub, true, true) => Exec::SubReg64,
            (Arith::Sub, false, false) => Exec::SubImm32,
            (Arith::Sub, false, true) => Exec::SubReg32,
            (Arith::Mul, true, false) => Exec::MulImm64,
            (Arith::Mul, true, true) => Exec::MulReg64,
            (Arith::Mul, false, false) => Exec::MulImm32,
            (Arith::Mul, false, true) => Exec::MulReg32,
            (Arith::Div, true, false) => Exec::DivImm64,
            (Arith::Div, true, true) => Exec::DivReg64,
            (Arith::Div, false, false) => Exec::DivImm32,
            (Arith::Div, false, true) => Exec::DivReg32,
            (Arith::SDiv, true, false) => Exec::SDivImm64,
            (Arith::SDiv, true, true) => Exec::SDivReg64,
            (Arith::SDiv, false, false) => Exec::SDivImm32,
            (Arith::SDiv, false, true) => Exec::SDivReg32,
            (Arith::Or, true, false) => Exec::OrImm64,
            (Arith::Or, true, true) => Exec::OrReg64,
            (Arith::Or, false, false) => Exec::OrImm32,
            (Arith::Or, false, true) => Exec::OrReg32,
            (Arith::And, true, false) => Exec::AndImm64,
            (Arith::And, true, true) => Exec::AndReg64,
            (Arith::And, false, false) => Exec::AndImm32,
            (Arith::And, false, true) => Exec::AndReg32,
            (Arith::Lsh, true, false) => Exec::LshImm64,
            (Arith::Lsh, true, true) => Exec::LshReg64,
            (Arith::Lsh, false, false) => Exec::LshImm32,
            (Arith::Lsh, false, true) => Exec::LshReg32,
            (Arith::Rsh, true, false) => Exec::RshImm64,
            (Arith::Rsh, true, true) => Exec::RshReg64,
            (Arith::Rsh, false, false) => Exec::RshImm32,
            (Arith::Rsh, false, true) => Exec::RshReg32,
            (Arith::Mod, true, false) => Exec::ModImm64,
            (Arith::Mod, true, true) => Exec::ModReg64,
            (Arith::Mod, false, false) => Exec::ModImm32,
            (Arith::Mod, false, true) => Exec::ModReg32,
            (Arith::SMod, true, false) => Exec::SModImm64,
            (Arith::SMod, true, true) => Exec::SModReg64,
            (Arith::SMod, false, false) => Exec::SModImm32,
            (Arith::SMod, false, true) => Exec::SModReg32,
            (Arith::Xor, true, false) => Exec::XorImm64,
            (Arith::Xor, true, true) => Exec::XorReg64,
            (Arith::Xor, false, false) => Exec::XorImm32,
            (Arith::Xor, false, true) => Exec::XorReg32,
            (Arith::Mov, true, false) => Exec::MovImm64,
            (Arith::Mov, true, true) => Exec::MovReg64,
            (Arith::Mov, false, false) => Exec::MovImm32,
            (Arith::Mov, false, true) => Exec::MovReg32,
            (Arith::Arsh, true, false) => Exec::ArshImm64,
            (Arith::Arsh, true, true) => Exec::ArshReg64,
            (Arith::Arsh, false, false) => Exec::ArshImm32,
            (Arith::Arsh, false, true) => Exec::ArshReg32,
        }
    }

    /// The conditional jump `op` likewise.
    fn jmp(op: JmpOp, wide: bool, reg: bool) -> Exec {
        match (op, wide, reg) {
            (JmpOp::Jeq, true, false) => Exec::JeqImm64,
            (JmpOp::Jeq, true, true) => Exec::JeqReg64,
            (JmpOp::Jeq, false, false) => Exec::JeqImm32,
            (JmpOp::Jeq, false, true) => Exec::JeqReg32,
            (JmpOp::Jgt, true, false) => Exec::JgtImm64,
            (JmpOp::Jgt, true, true) => Exec::JgtReg64,
            (JmpOp::Jgt, false, false) => Exec::JgtImm32,
            (JmpOp::Jgt, false, true) => Exec::JgtReg32,
            (JmpOp::Jge, true, false) => Exec::JgeImm64,
            (JmpOp::Jge, true, true) => Exec::JgeReg64,
            (JmpOp::Jge, false, false) => Exec::JgeImm32,
            (JmpOp::Jge, false, true) => Exec::JgeReg32,
            (JmpOp::Jset, true, false) => Exec::JsetImm64,
            (JmpOp::Jset, true, true) => Exec::JsetReg64,
            (JmpOp::Jset, false, false) => Exec::JsetImm32,
            (JmpOp::Jset, false, true) => Exec::JsetReg32,
            (JmpOp::Jne, true, false) => Exec::JneImm64,
            (JmpOp::Jne, true, true) => Exec::JneReg64,
            (JmpOp::Jne, false, false) => Exec::JneImm32,
            (JmpOp::Jne, false, true) => Exec::JneReg32,
            (JmpOp::Jsgt, true, false) => Exec::JsgtImm64,
            (JmpOp::Jsgt, true, true) => Exec::JsgtReg64,
            (JmpOp::Jsgt, false, false) => Exec::JsgtImm32,
            (JmpOp::Jsgt, false, true) => Exec::JsgtReg32,
            (JmpOp::Jsge, true, false) => Exec::JsgeImm64,
            (JmpOp::Jsge, true, true) => Exec::JsgeReg64,
            (JmpOp::Jsge, false, false) => Exec::JsgeImm32,
            (JmpOp::Jsge, false, true) => Exec::JsgeReg32,
            (JmpOp::Jlt, true, false) => Exec::JltImm64,
            (JmpOp::Jlt, true, true) => Exec::JltReg64,
            (JmpOp::Jlt, false, false) => Exec::JltImm32,
            (JmpOp::Jlt, false, true) => Exec::JltReg32,
            (JmpOp::Jle, true, false) => Exec::JleImm64,
            (JmpOp::Jle, true, true) => Exec::JleReg64,
            (JmpOp::Jle, false, false) => Exec::JleImm32,
            (JmpOp::Jle, false, true) => Exec::JleReg32,
            (JmpOp::Jslt, true, false) => Exec::JsltImm64,
            (JmpOp::Jslt, true, true) => Exec::JsltReg64,
            (JmpOp::Jslt, false, false) => Exec::JsltImm32,
            (JmpOp::Jslt, false, true) => Exec::JsltReg32,
            (JmpOp::Jsle, true, false) => Exec::JsleImm64,
            (JmpOp::Jsle, true, true) => Exec::JsleReg64,
            (JmpOp::Jsle, false, false) => Exec::JsleImm32,
            (JmpOp::Jsle, false, true) => Exec::JsleReg32,
        }
    }
}

/// Why a slot cannot run (a byte, so steps stay small).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unrunnable {
    NotAnInstruction,
    LddwSecondHalf,
    Pseudo,
    Unsupported,
}

impl Unrunnable {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Unrunnable::NotAnInstruction => "not an instruction the assembler accepts",
            Unrunnable::LddwSecondHalf => "the second half of an `lddw`",
            Unrunnable::Pseudo => "this `lddw` pseudo source is not supported by the interpreter",
            Unrunnable::Unsupported => "not supported by the interpreter",
        }
    }
}

/// An ALU operation with its signedness folded in (`sdiv`, `smod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    SDiv,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    SMod,
    Xor,
    Mov,
    Arsh,
}

impl Arith {
    fn of(op: AluOp, signed: bool) -> Arith {
        match op {
            AluOp::Add => Arith::Add,
            AluOp::Sub => Arith::Sub,
            AluOp::Mul => Arith::Mul,
            AluOp::Div if signed => Arith::SDiv,
            AluOp::Div => Arith::Div,
            AluOp::Or => Arith::Or,
            AluOp::And => Arith::And,
            AluOp::Lsh => Arith::Lsh,
            AluOp::Rsh => Arith::Rsh,
            AluOp::Mod if signed => Arith::SMod,
            AluOp::Mod => Arith::Mod,
            AluOp::Xor => Arith::Xor,
            AluOp::Mov => Arith::Mov,
            AluOp::Arsh => Arith::Arsh,
        }
    }
}

/// One decoded slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub(crate) x: Exec,
    pub(crate) dst: u8,
    pub(crate) src: u8,
    /// Access size in bytes.
    pub(crate) size: u8,
    pub(crate) off: i16,
    /// The immediate sign-extended (an `lddw`'s whole value; a helper id).
    pub(crate) imm: u64,
    /// The slot a jump or `call local` goes to; the next slot otherwise.
    pub(crate) target: u32,
}

/// A decoded program.
#[derive(Debug)]
pub(crate) struct Code {
    pub(crate) prog: Program,
    pub(crate) steps: Vec<Step>,
}

/// The step of a decoded instruction.
fn step(f: &Form, insn: Insn, next: Option<Insn>, slot: usize) -> Step {
    let reg = f.fills(Fld::Src);
    let x = match f.op {
        Op::Alu(op) => Exec::alu(Arith::of(op, f.signed), f.wide, reg),
        Op::Neg => Exec::Neg { wide: f.wide },
        Op::Endian(order) => Exec::Endian {
            order,
            width: f.imm as u8,
        },
        Op::MovSx => Exec::MovSx {
            wide: f.wide,
            bytes: (f.off / 8) as u8,
        },
        Op::Lddw(None) => Exec::Lddw,
        Op::Lddw(Some(Pseudo::MapFd)) => Exec::LddwMap { value: false },
        Op::Lddw(Some(Pseudo::MapValue)) => Exec::LddwMap { value: true },
        Op::Lddw(Some(_)) => Exec::Invalid(Unrunnable::Pseudo),
        Op::LdAbs => Exec::LdAbs,
        Op::LdInd => Exec::LdInd,
        Op::Load | Op::LoadAcquire => Exec::Load { signed: f.signed },
        Op::Store | Op::StoreRelease => Exec::Store { reg },
        Op::Atomic { op, fetch } => Exec::Atomic {
            op,
            fetch,
            wide: f.wide,
        },
        Op::Ja => Exec::Ja,
        Op::MayGoto => Exec::MayGoto,
        Op::Jmp(op) => Exec::jmp(op, f.wide, reg),
        Op::Call => Exec::Call,
        Op::CallLocal => Exec::CallLocal,
        Op::Exit => Exec::Exit,
        Op::AddrSpaceCast | Op::CallKfunc | Op::Raw => Exec::Invalid(Unrunnable::Unsupported),
    };
    let imm = match f.op {
        Op::Lddw(_) => {
            let hi = next.map_or(0, |n| n.imm() as u32);
            (u64::from(hi) << 32) | u64::from(insn.imm() as u32)
        }
        _ => i64::from(insn.imm()) as u64,
    };
    let rel = match f.target_field() {
        Some(Fld::Off) => i64::from(insn.off()),
        Some(_) => i64::from(insn.imm()),
        None => 0,
    };
    Step {
        x,
        dst: insn.dst(),
        src: insn.src(),
        size: f.size,
        off: insn.off(),
        imm,
        target: u32::try_from(slot as i64 + 1 + rel).unwrap_or(u32::MAX),
    }
}

impl Code {
    fn new(prog: &Program) -> Code {
        let insns = prog.insns();
        let mut steps = Vec::with_capacity(insns.len());
        let invalid = |insn: Insn, why| Step {
            x: Exec::Invalid(why),
            dst: insn.dst(),
            src: insn.src(),
            size: 0,
            off: 0,
            imm: 0,
            target: 0,
        };
        let mut i = 0;
        while i < insns.len() {
            match bpf_asm::disasm::decode(&insns[i..]) {
                Some(bpf_asm::disasm::Decoded {
                    form: Some(f),
                    insn,
                    next,
                }) => {
                    steps.push(step(f, insn, next, i));
                    if f.slots() == 2 {
                        // The second half of an `lddw` is no instruction.
                        steps.push(invalid(insns[i + 1], Unrunnable::LddwSecondHalf));
                    }
                    i += f.slots();
                }
                _ => {
                    steps.push(invalid(insns[i], Unrunnable::NotAnInstruction));
                    i += 1;
                }
            }
        }
        fuse(&mut steps);
        Code {
            prog: prog.clone(),
            steps,
        }
    }
}

/// Marks the runs of adjacent steps that run in one dispatch
/// (superinstructions): a legacy load and the `jeq`/`jne r0, imm` testing
/// it, the IPv4 header length idiom, `mov r0, imm` and `exit`. Only the first
/// step changes; the others stay for jumps that land on them, and the
/// budget still counts slots.
fn fuse(steps: &mut [Step]) {
    for i in 0..steps.len() {
        if let Some((x, imm)) = fused(&steps[i..]) {
            steps[i].x = x;
            steps[i].imm = imm;
        }
    }
}

/// The superinstruction `steps[0]` starts, if any, with its immediate.
fn fused(steps: &[Step]) -> Option<(Exec, u64)> {
    let s = steps.first()?;
    // Step `k` on, is one of `ops` on r0 with immediate `imm` (any if None).
    let r0_op = |k: usize, ops: &[Exec], imm: Option<u64>| {
        steps
            .get(k)
            .is_some_and(|n| n.dst == 0 && ops.contains(&n.x) && imm.is_none_or(|i| n.imm == i))
    };
    let compare = r0_op(1, &[Exec::JeqImm64, Exec::JneImm64], None);
    let exit = steps.get(1).is_some_and(|n| n.x == Exec::Exit);
    match s.x {
        Exec::LdAbs
            if s.size == 1
                && r0_op(1, &[Exec::AndImm64, Exec::AndImm32], Some(0xf))
                && r0_op(2, &[Exec::LshImm64, Exec::LshImm32], Some(2)) =>
        {
            Some((Exec::LdAbsHeaderLen, s.imm))
        }
        Exec::LdAbs if compare => Some((Exec::LdAbsCompare, s.imm)),
        Exec::LdInd if compare => Some((Exec::LdIndCompare, s.imm)),
        Exec::MovImm64 if s.dst == 0 && exit => Some((Exec::MovExit, s.imm)),
        Exec::MovImm32 if s.dst == 0 && exit => Some((Exec::MovExit, u64::from(s.imm as u32))),
        _ => None,
    }
}

/// Settings and state the helpers see.
#[derive(Debug)]
pub(crate) struct Env {
    pub(crate) ktime_ns: u64,
    pub(crate) prandom: u64,
    pub(crate) cpu: u32,
    pub(crate) trace: Vec<String>,
}

type Closure = Box<dyn FnMut(&mut HelperCall<'_>) -> Result<u64, String>>;

/// The interpreter: a program, the maps it uses, and the helpers' state.
/// See the [module docs](self).
pub struct Vm {
    code: Rc<Code>,
    /// Map name to index in `maps`.
    names: HashMap<String, usize>,
    /// In-memory map handles, shared with the caller's.
    maps: Vec<crate::Map>,
    /// Their storage, locked for each run.
    shared: Vec<crate::map::memory::Shared>,
    /// Tail-call targets, decoded, by program array and index.
    tails: HashMap<(usize, u64), Rc<Code>>,
    closures: HashMap<u32, Closure>,
    env: Env,
    budget: u64,
    /// The memory of the last run, reused: the context, the stack frames,
    /// map values and records.
    regions: Vec<mem::Region>,
    /// How far down each frame's stack the last run wrote (zeroed again
    /// before the next).
    dirty: [usize; MAX_FRAMES],
    /// Whether any frame was written since the last reset.
    stack_written: bool,
}

impl fmt::Debug for Vm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vm")
            .field("slots", &self.code.steps.len())
            .field("maps", &self.names)
            .finish_non_exhaustive()
    }
}

impl Vm {
    /// An interpreter for `prog`. Every map the program declares is
    /// created in memory; maps it only names (`map_fd(NAME)`) must be bound
    /// with [`map`](Self::map) before it runs.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for checks at load time.
    pub fn new(prog: &Program) -> Result<Vm, VmError> {
        let mut vm = Vm {
            code: Rc::new(Code::new(prog)),
            names: HashMap::new(),
            maps: Vec::new(),
            shared: Vec::new(),
            tails: HashMap::new(),
            closures: HashMap::new(),
            env: Env {
                ktime_ns: 0,
                prandom: 0x2545_f491_4f6c_dd1d,
                cpu: 0,
                trace: Vec::new(),
            },
            budget: 1 << 26,
            regions: Vec::new(),
            dirty: [STACK; MAX_FRAMES],
            stack_written: false,
        };
        for spec in prog.maps() {
            let map = crate::Map::in_memory(spec).map_err(|e| VmError {
                kind: VmErrorKind::Helper(format!("declared map `{}`: {e}", spec.name)),
                slot: None,
                source_line: None,
            })?;
            vm = vm.map(&spec.name, &map)?;
        }
        Ok(vm)
    }

    /// Binds the map named `name` in the program (`map_fd(name)`) to `map`,
    /// an in-memory map ([`Map::in_memory`](crate::Map::in_memory)) or a
    /// typed handle's ([`Array::map`](crate::Array::map), ...): the
    /// interpreter and `map` share the entries, so a test can fill the map,
    /// run the program and read the map back with the same typed API as a
    /// kernel map. Replaces any map of that name.
    ///
    /// # Errors
    ///
    /// [`VmErrorKind::UnboundMap`] for a kernel map (the interpreter cannot
    /// reach a kernel map's values).
    pub fn map(mut self, name: &str, map: &crate::Map) -> Result<Self, VmError> {
        let Some(Ok(handle)) = map.share() else {
            return Err(VmError {
                kind: VmErrorKind::UnboundMap(format!(
                    "{name}` is a kernel map; the interpreter takes in-memory maps \
                     (`Map::in_memory`"
                )),
                slot: None,
                source_line: None,
            });
        };
        let storage = handle.shared().cloned().ok_or_else(|| VmError {
            kind: VmErrorKind::UnboundMap(name.to_owned()),
            slot: None,
            source_line: None,
        })?;
        match self.names.get(name) {
            Some(&i) => {
                self.maps[i] = handle;
                self.shared[i] = storage;
            }
            None => {
                self.names.insert(name.to_owned(), self.maps.len());
                self.maps.push(handle);
                self.shared.push(storage);
            }
        }
        Ok(self)
    }

    /// A handle on the map bound to `name` (for declared maps, the one the
    /// interpreter created), to fill before a run or read after it, e.g.
    /// `Array::<u64>::try_from(vm.map_handle("counts")?)`.
    pub fn map_handle(&self, name: &str) -> Option<crate::Map> {
        let i = *self.names.get(name)?;
        self.maps.get(i)?.share()?.ok()
    }

    /// Drains the records the program committed to the ring buffer bound to
    /// `name`, oldest first.
    pub fn ring_records(&self, name: &str) -> Vec<Vec<u8>> {
        let Some(shared) = self
            .names
            .get(name)
            .and_then(|&i| self.maps.get(i))
            .and_then(crate::Map::shared)
        else {
            return Vec::new();
        };
        let mut ring = crate::map::memory::lock(shared);
        std::iter::from_fn(|| ring.pop_record()).collect()
    }

    /// Puts `prog` at `index` of the program array bound to `name`, for the
    /// program's tail calls.
    ///
    /// # Errors
    ///
    /// [`VmErrorKind::UnboundMap`] if no map is bound to `name`,
    /// [`VmErrorKind::Helper`] if it is no program array or `index` is past
    /// its end.
    pub fn tail_program(&mut self, name: &str, index: u32, prog: Program) -> Result<(), VmError> {
        let err = |kind| VmError {
            kind,
            slot: None,
            source_line: None,
        };
        let shared = self
            .names
            .get(name)
            .and_then(|&i| self.maps.get(i))
            .and_then(crate::Map::shared)
            .ok_or_else(|| err(VmErrorKind::UnboundMap(name.to_owned())))?;
        crate::map::memory::lock(shared)
            .set_program(index, prog)
            .map_err(|e| err(VmErrorKind::Helper(format!("`{name}`: {e}"))))?;
        self.tails.clear();
        Ok(())
    }

    /// Runs a user-supplied implementation of a helper (by name, with or
    /// without the `bpf_` prefix): it gets the arguments and access to the
    /// program's memory, and returns r0 or an error message.
    ///
    /// # Errors
    ///
    /// [`VmErrorKind::UnknownHelper`] if the kernel headers have no helper
    /// of that name.
    pub fn helper(
        mut self,
        name: &str,
        f: impl FnMut(&mut HelperCall<'_>) -> Result<u64, String> + 'static,
    ) -> Result<Self, VmError> {
        let bare = name.strip_prefix("bpf_").unwrap_or(name);
        let id = bpf_sys::helper_id(bare).ok_or_else(|| VmError {
            kind: VmErrorKind::UnknownHelper(name.to_owned()),
            slot: None,
            source_line: None,
        })?;
        self.closures.insert(id, Box::new(f));
        Ok(self)
    }

    /// What `bpf_ktime_get_ns` returns.
    pub fn set_ktime_ns(&mut self, ns: u64) {
        self.env.ktime_ns = ns;
    }

    /// Seeds `bpf_get_prandom_u32` (a deterministic xorshift generator).
    pub fn set_prandom_seed(&mut self, seed: u64) {
        self.env.prandom = seed.max(1);
    }

    /// The CPU `bpf_get_smp_processor_id` returns and whose per-CPU map
    /// values the program sees.
    pub fn set_cpu(&mut self, cpu: u32) {
        self.env.cpu = cpu;
    }

    /// Instructions a run may execute before it stops with
    /// [`VmErrorKind::Budget`] (default 2^26).
    pub fn budget(&mut self, insns: u64) {
        self.budget = insns;
    }

    /// What `bpf_trace_printk` wrote, one entry per call.
    pub fn trace(&self) -> &[String] {
        &self.env.trace
    }

    /// Runs the program on a socket filter's input and returns r0.
    ///
    /// # Errors
    ///
    /// A [`VmError`] for what the kernel would refuse or cannot run.
    pub fn run(&mut self, skb: &SkBuff<'_>) -> Result<u64, VmError> {
        // Inlined, so the caller gets r0 in a register and unboxes only a
        // failure.
        exec::run(self, skb).map_err(|e| *e)
    }
}

/// What a socket filter's return value means.
///
/// ```
/// use bpf_loader::vm::Verdict;
/// assert_eq!(Verdict::of(0), Verdict::Drop);
/// assert_eq!(Verdict::of(u64::from(u32::MAX)), Verdict::Keep(u32::MAX));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 0: the packet is dropped.
    Drop,
    /// N > 0: at most N bytes are kept (`u32::MAX`, `-1`, keeps it all).
    Keep(u32),
}

impl Verdict {
    /// The verdict of a socket filter's r0 (its low 32 bits).
    pub fn of(r0: u64) -> Verdict {
        match r0 as u32 {
            0 => Verdict::Drop,
            n => Verdict::Keep(n),
        }
    }
}

#[cfg(test)]
mod tests;
