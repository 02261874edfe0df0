//! Control-flow, register and stack checks (SYNTAX.md checks 4 to 6).
//!
//! Every error here is a promise that the kernel's verifier, loading the
//! program as root (or, under `#![unprivileged]`, without CAP_BPF and
//! CAP_PERFMON), refuses it. Where the kernel's verdict depends on facts the
//! assembler does not have, nothing is reported.
//!
//! Two passes:
//!
//! * **Structure**, as the kernel's `check_subprogs` and `check_cfg` see the
//!   program, without constants: every jump lands on an instruction of its
//!   own function, the last instruction and the one before each function
//!   (a `call local` or `func(...)` target) is `exit` or `ja`, and every
//!   instruction is reachable from the entry through fall-through, jumps and
//!   calls.
//! * **Data flow**, as `do_check` walks it: a forward analysis over the
//!   reachable instructions. Per register it tracks whether it is set,
//!   constants, the context and stack pointers, values spilled to the stack,
//!   and two kinds of bounds: those the kernel surely knows, which prune the
//!   branch edges it decides (pruning can only hide errors), and values it
//!   surely cannot rule out, which promise that it walks an edge. Reading a
//!   register that no path has set is an error (so is `exit` with r0 unset,
//!   and, under `#![unprivileged]`, reading stack bytes never written),
//!   unless the path went through a branch the kernel may decide with
//!   knowledge lost here (merged paths or loop turns, known bits, pointers,
//!   some helpers' results). Then, as for a register set on only some paths,
//!   it is an error only when one of the unset paths is one the kernel surely
//!   walks. (A kernel that knows `r7` is 1 exactly on the paths that set
//!   `r0` accepts `jeq r7, 0, skip; exit`.)
//! * Under `#![unprivileged]`, also loops, calls that need CAP_BPF and
//!   pointers returned to user space.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use bpf_sys as k;

use crate::Insn;
use crate::disasm::{Decoded, decode};
use crate::encode::{Encoded, Field, Placed, Slot};
use crate::error::Error;
use crate::isa::{Form, Shape, isa};

mod arith;
mod value;
use arith::*;
use value::*;

/// "No index".
const NONE: u32 = u32::MAX;

// Opcode parts, from linux/bpf.h through bpf-sys.
const CLASS_JMP: u8 = k::BPF_JMP as u8;
const CLASS_JMP32: u8 = k::BPF_JMP32 as u8;
const OP_JA: u8 = k::BPF_JA as u8;
const OP_CALL: u8 = k::BPF_CALL as u8;
const OP_EXIT: u8 = k::BPF_EXIT as u8;
const SRC_X: u8 = k::BPF_X as u8;
/// The operation bits of an ALU or jump opcode (`BPF_OP`).
const OP_MASK: u8 = 0xf0;
const LDDW: u8 = (k::BPF_LD | k::BPF_IMM | k::BPF_DW) as u8;
/// The codes the kernel accepts as the last instruction of a function:
/// `exit`, `ja`, `ja32`.
const ENDS_FUNCTION: [u8; 3] = [
    (k::BPF_JMP | k::BPF_EXIT) as u8,
    (k::BPF_JMP | k::BPF_JA) as u8,
    (k::BPF_JMP32 | k::BPF_JA) as u8,
];
const PSEUDO_CALL: i64 = k::BPF_PSEUDO_CALL as i64;
const PSEUDO_FUNC: i64 = k::BPF_PSEUDO_FUNC as i64;

// ALU operations.
const ADD: u8 = k::BPF_ADD as u8;
const SUB: u8 = k::BPF_SUB as u8;
const MUL: u8 = k::BPF_MUL as u8;
const OR: u8 = k::BPF_OR as u8;
const AND: u8 = k::BPF_AND as u8;
const LSH: u8 = k::BPF_LSH as u8;
const RSH: u8 = k::BPF_RSH as u8;
const XOR: u8 = k::BPF_XOR as u8;
const MOV: u8 = k::BPF_MOV as u8;
const ARSH: u8 = k::BPF_ARSH as u8;
const DIV: u8 = k::BPF_DIV as u8;
const MOD: u8 = k::BPF_MOD as u8;

// Jump operations.
const JEQ: u8 = k::BPF_JEQ as u8;
const JGT: u8 = k::BPF_JGT as u8;
const JGE: u8 = k::BPF_JGE as u8;
const JSET: u8 = k::BPF_JSET as u8;
const JNE: u8 = k::BPF_JNE as u8;
const JSGT: u8 = k::BPF_JSGT as u8;
const JSGE: u8 = k::BPF_JSGE as u8;
const JLT: u8 = k::BPF_JLT as u8;
const JLE: u8 = k::BPF_JLE as u8;
const JSLT: u8 = k::BPF_JSLT as u8;
const JSLE: u8 = k::BPF_JSLE as u8;

/// Pointer kinds, as bits.
const CTX: u8 = 1;
const STACK: u8 = 2;
const OTHER: u8 = 4;

/// Helpers whose result the kernel bounds (`do_refine_retval_range`).
const RANGED_HELPERS: &[&str] = &[
    "get_smp_processor_id",
    "get_stack",
    "get_task_stack",
    "probe_read_str",
    "probe_read_kernel_str",
    "probe_read_user_str",
];

/// Joins at one block before its ranges and constants are widened away.
const WIDEN_AFTER: u32 = 8;

/// Checks the encoded program's control flow, register use and (under
/// `#![unprivileged]`) stack reads, returning every error found, each at the
/// statement it concerns, in program order.
///
/// ```
/// let err = bpf_asm::assemble("mov r0, r5\nexit").unwrap_err();
/// assert!(err.to_string().contains("reads r5, which no path has written"));
/// ```
pub fn check<S: Copy>(encoded: &Encoded<S>) -> Vec<Error<S>> {
    let Some(prog) = Prog::build(encoded) else {
        return Vec::new();
    };
    let mut diag = Diag::default();
    // A slot whose opcode or target is a `{ expr }` hides where control goes:
    // then nothing can be promised.
    if prog.opaque {
        return Vec::new();
    }
    prog.structure(&mut diag);
    let diag = Walk::new(&prog, diag).run();
    let mut errs = diag.errs;
    errs.sort_by_key(|e| e.0);
    errs.into_iter()
        .filter_map(|(stmt, msg)| {
            let p = encoded.stmts.get(stmt as usize)?;
            Some(Error::new(p.span, msg))
        })
        .collect()
}

/// Errors, at most one per statement and key.
#[derive(Default)]
struct Diag {
    errs: Vec<(u32, String)>,
    seen: HashSet<(u32, u32)>,
}

// Keys that keep one error per statement and kind (registers use 0..=10).
const KEY_EXIT: u32 = 20;
const KEY_LEAK: u32 = 21;
const KEY_STACK: u32 = 22;
const KEY_TARGET: u32 = 30;
const KEY_END: u32 = 31;
const KEY_INTO_FUNC: u32 = 32;
const KEY_UNREACHABLE: u32 = 33;
const KEY_LOOP: u32 = 34;
const KEY_CAP: u32 = 35;

impl Diag {
    fn push(&mut self, stmt: u32, key: u32, msg: String) {
        if self.seen.insert((stmt, key)) {
            self.errs.push((stmt, msg));
        }
    }
}

/// Where control goes after an instruction, from its opcode alone, as the
/// kernel's `check_cfg` sees it. Targets are slots, possibly out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Falls through.
    Next,
    /// Ends the path.
    Exit,
    /// `ja`, `ja32`: only the target.
    Jump(i64),
    /// Conditional jumps and `may_goto`: fall-through and target.
    Cond(i64),
    /// A helper or kfunc call: falls through.
    Call,
    /// `call local`: falls through; the target starts a function.
    CallLocal(i64),
    /// `lddw dst, func(...)`: falls through; the target starts a function.
    Func(i64),
    /// Unknown (a `{ expr }` in the opcode or target of a `raw` slot).
    Opaque,
}

fn lit_u8(f: Field) -> Option<u8> {
    f.lit().and_then(|v| u8::try_from(v).ok())
}

fn flow_of(s: &Slot, t: usize) -> Flow {
    let Some(code) = lit_u8(s.code) else {
        return Flow::Opaque;
    };
    let t = t as i64;
    let off = s.off.lit().map(|o| i64::from(o as i16));
    let imm = s.imm.lit().map(|i| i64::from(i as i32));
    if code == LDDW {
        return match s.src.lit() {
            Some(PSEUDO_FUNC) => imm.map_or(Flow::Opaque, |i| Flow::Func(t + i + 1)),
            Some(_) => Flow::Next,
            None => Flow::Opaque,
        };
    }
    let class = code & 7;
    if class != CLASS_JMP && class != CLASS_JMP32 {
        return Flow::Next;
    }
    match code & OP_MASK {
        OP_EXIT => Flow::Exit,
        OP_CALL => match s.src.lit() {
            Some(PSEUDO_CALL) => imm.map_or(Flow::Opaque, |i| Flow::CallLocal(t + i + 1)),
            Some(_) => Flow::Call,
            None => Flow::Opaque,
        },
        OP_JA if code & SRC_X != 0 => Flow::Opaque,
        OP_JA => {
            let d = if class == CLASS_JMP { off } else { imm };
            d.map_or(Flow::Opaque, |d| Flow::Jump(t + d + 1))
        }
        _ => off.map_or(Flow::Opaque, |o| Flow::Cond(t + o + 1)),
    }
}

/// The second operand of an ALU operation or a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Reg(u8),
    /// The 32-bit immediate field, if known.
    Imm(Option<i64>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Atomic {
    Plain,
    Fetch,
    Xchg,
    Cmpxchg,
}

/// What an instruction does to registers and the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sem {
    Alu {
        op: u8,
        wide: bool,
        /// `sdiv`/`smod` (off = 1).
        signed_div: bool,
        dst: u8,
        src: Src,
    },
    MovSx {
        wide: bool,
        bits: u8,
        dst: u8,
        src: u8,
    },
    /// `neg`, byte swaps: read and write `dst`.
    Unary {
        dst: u8,
    },
    Cast {
        dst: u8,
        src: u8,
    },
    Lddw {
        dst: u8,
        pseudo: u8,
        value: Option<u64>,
    },
    /// `ldabs*` / `ldind*`.
    Packet {
        size: u8,
        index: Option<u8>,
    },
    Load {
        dst: u8,
        base: u8,
        off: Option<i64>,
        size: u8,
        signed: bool,
    },
    Store {
        base: u8,
        off: Option<i64>,
        size: u8,
        /// The register stored, or `None` for an immediate.
        src: Option<u8>,
        imm: Option<i64>,
    },
    Atomic {
        base: u8,
        off: Option<i64>,
        size: u8,
        src: u8,
        kind: Atomic,
    },
    Jmp {
        op: u8,
        wide: bool,
        dst: u8,
        src: Src,
    },
    MayGoto,
    Ja,
    /// A helper, by id.
    Call {
        id: Option<i64>,
    },
    CallLocal,
    Kfunc,
    Exit,
    /// Not a valid instruction, or fields unknown: every register may have
    /// changed.
    Havoc,
}

fn sem_of(f: &Form, dst: u8, src: u8, off: Option<i64>, imm: Option<i64>, hi: Option<i64>) -> Sem {
    if dst > 10 || src > 10 {
        return Sem::Havoc;
    }
    match f.shape {
        Shape::AluK | Shape::AluX => Sem::Alu {
            op: f.code & OP_MASK,
            wide: f.wide,
            signed_div: f.off != 0,
            dst,
            src: if f.shape == Shape::AluK {
                Src::Imm(imm)
            } else {
                Src::Reg(src)
            },
        },
        Shape::MovSx => Sem::MovSx {
            wide: f.wide,
            bits: u8::try_from(f.off).unwrap_or(0),
            dst,
            src,
        },
        Shape::Unary => Sem::Unary { dst },
        Shape::AddrSpaceCast => Sem::Cast { dst, src },
        Shape::Lddw => Sem::Lddw {
            dst,
            pseudo: f.src,
            value: match (imm, hi) {
                (Some(lo), Some(hi)) => Some((u64::from(hi as u32) << 32) | u64::from(lo as u32)),
                _ => None,
            },
        },
        Shape::LdAbs => Sem::Packet {
            size: f.access_size() as u8,
            index: None,
        },
        Shape::LdInd => Sem::Packet {
            size: f.access_size() as u8,
            index: Some(src),
        },
        Shape::Load => Sem::Load {
            dst,
            base: src,
            off,
            size: f.access_size() as u8,
            signed: f.op.starts_with('s'),
        },
        Shape::StoreImm => Sem::Store {
            base: dst,
            off,
            size: f.access_size() as u8,
            src: None,
            imm,
        },
        Shape::StoreReg if f.name.starts_with("lock") => Sem::Atomic {
            base: dst,
            off,
            size: if f.wide { 8 } else { 4 },
            src,
            kind: if f.name.contains("cmpxchg") {
                Atomic::Cmpxchg
            } else if f.name.contains("xchg") {
                Atomic::Xchg
            } else if f.name.contains("fetch") {
                Atomic::Fetch
            } else {
                Atomic::Plain
            },
        },
        Shape::StoreReg => Sem::Store {
            base: dst,
            off,
            size: f.access_size() as u8,
            src: Some(src),
            imm: None,
        },
        Shape::Ja if f.name == "may_goto" => Sem::MayGoto,
        Shape::Ja | Shape::Ja32 => Sem::Ja,
        Shape::JmpK | Shape::JmpX => Sem::Jmp {
            op: f.code & OP_MASK,
            wide: f.wide,
            dst,
            src: if f.shape == Shape::JmpK {
                Src::Imm(imm)
            } else {
                Src::Reg(src)
            },
        },
        Shape::Call => Sem::Call { id: imm },
        Shape::CallLocal => Sem::CallLocal,
        Shape::CallKfunc => Sem::Kfunc,
        Shape::Exit => Sem::Exit,
        Shape::Raw => Sem::Havoc,
    }
}

/// One instruction (one slot, two for `lddw`).
#[derive(Clone, Copy, Debug)]
struct Ins {
    slot: u32,
    len: u8,
    stmt: u32,
    flow: Flow,
    sem: Sem,
}

/// A function: the entry (slot 0) or a `call local` / `func(...)` target.
#[derive(Clone, Copy, Debug)]
struct Func {
    start: u32,
    /// A `call local` target (its `exit` returns to a caller).
    called: bool,
}

/// The program as instructions, with what the checks need to know.
struct Prog<'a, S> {
    slots: &'a [Slot],
    stmts: &'a [Placed<S>],
    ins: Vec<Ins>,
    /// Slot to instruction index (`NONE` for the second slot of an `lddw`).
    slot_ins: Vec<u32>,
    /// Sorted by start; `funcs[0]` is the entry.
    funcs: Vec<Func>,
    unpriv: bool,
    ctx: Ctx,
    opaque: bool,
}

/// The context's layout, as far as pointers in it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// `struct __sk_buff`: `data`, `data_end`, `data_meta`, `flow_keys` and
    /// `sk` are pointers, none of which the kernel knows is not null.
    SkBuff,
    /// `struct xdp_md`: `data`, `data_end`, `data_meta` are packet pointers.
    Xdp,
    /// Anything else: any word may be a pointer, maybe one known not null.
    Other,
}

/// Offsets of the pointers in `struct __sk_buff` (uapi, fixed).
const SKB_POINTERS: [i64; 5] = [76, 80, 140, 144, 168];

impl<'a, S> Prog<'a, S> {
    fn build(e: &'a Encoded<S>) -> Option<Prog<'a, S>> {
        let slots = e.slots.as_slice();
        let n = slots.len();
        if n == 0 || e.stmts.is_empty() || n >= NONE as usize {
            return None;
        }
        let mut slot_stmt = vec![NONE; n];
        for (k, p) in e.stmts.iter().enumerate() {
            let end = e.stmts.get(k + 1).map_or(n, |q| q.slot).min(n);
            if p.slot < end {
                slot_stmt[p.slot..end].fill(k as u32);
            }
        }
        let mut prev = 0;
        for s in &mut slot_stmt {
            if *s == NONE {
                *s = prev;
            } else {
                prev = *s;
            }
        }

        let mut ins = Vec::with_capacity(n);
        let mut slot_ins = vec![NONE; n];
        let mut opaque = false;
        let mut t = 0;
        while t < n {
            let s = &slots[t];
            let len = if lit_u8(s.code) == Some(LDDW) && t + 1 < n {
                2
            } else {
                1
            };
            let stmt = slot_stmt[t];
            let flow = flow_of(s, t);
            opaque |= flow == Flow::Opaque;
            slot_ins[t] = ins.len() as u32;
            ins.push(Ins {
                slot: t as u32,
                len,
                stmt,
                flow,
                sem: sem_at(e, t, usize::from(len), stmt as usize),
            });
            t += usize::from(len);
        }

        let mut prog = Prog {
            slots,
            ins,
            slot_ins,
            funcs: Vec::new(),
            stmts: &e.stmts,
            unpriv: e.options.unprivileged,
            ctx: match e.options.prog_type {
                bpf_sys::BPF_PROG_TYPE_SOCKET_FILTER
                | bpf_sys::BPF_PROG_TYPE_SCHED_CLS
                | bpf_sys::BPF_PROG_TYPE_SCHED_ACT
                | bpf_sys::BPF_PROG_TYPE_CGROUP_SKB => Ctx::SkBuff,
                bpf_sys::BPF_PROG_TYPE_XDP => Ctx::Xdp,
                _ => Ctx::Other,
            },
            opaque,
        };
        let mut funcs = vec![Func {
            start: 0,
            called: false,
        }];
        for x in &prog.ins {
            let (t, called) = match x.flow {
                Flow::CallLocal(t) => (t, true),
                Flow::Func(t) => (t, false),
                _ => continue,
            };
            if prog.ins_at(t).is_some() {
                funcs.push(Func {
                    start: t as u32,
                    called,
                });
            }
        }
        funcs.sort_by_key(|f| f.start);
        funcs.dedup_by(|b, a| {
            if a.start == b.start {
                a.called |= b.called;
                true
            } else {
                false
            }
        });
        prog.funcs = funcs;
        Some(prog)
    }

    /// Whether a `size`-byte context load at `off` may give a pointer.
    fn ctx_pointer(&self, off: Option<i64>, size: u8) -> bool {
        if size < 4 {
            return false;
        }
        let Some(off) = off else { return true };
        match self.ctx {
            Ctx::SkBuff => SKB_POINTERS.contains(&off),
            Ctx::Xdp => matches!(off, 0 | 4 | 8),
            Ctx::Other => true,
        }
    }

    /// The instruction starting at `slot`.
    fn ins_at(&self, slot: i64) -> Option<u32> {
        let s = usize::try_from(slot).ok()?;
        self.slot_ins.get(s).copied().filter(|&i| i != NONE)
    }

    /// The index of the function holding `slot`.
    fn func_of(&self, slot: u32) -> usize {
        self.funcs
            .partition_point(|f| f.start <= slot)
            .saturating_sub(1)
    }

    fn text(&self, stmt: u32) -> &str {
        self.stmts
            .get(stmt as usize)
            .map_or("", |p| p.text.as_str())
    }

    /// The instruction holding `slot` (the `lddw` for its second slot).
    fn ins_holding(&self, slot: usize) -> Option<usize> {
        let i = self.slot_ins.get(slot).copied()?;
        if i != NONE {
            return Some(i as usize);
        }
        let j = self.slot_ins.get(slot.checked_sub(1)?).copied()?;
        (j != NONE).then_some(j as usize)
    }

    fn fall_slot(&self, i: usize) -> i64 {
        let x = &self.ins[i];
        i64::from(x.slot) + i64::from(x.len)
    }

    /// Successors in the order the kernel's depth-first walk takes them.
    fn successors(&self, i: usize) -> [Option<u32>; 2] {
        let fall = self.ins_at(self.fall_slot(i));
        match self.ins[i].flow {
            Flow::Next | Flow::Call => [fall, None],
            Flow::Exit | Flow::Opaque => [None, None],
            Flow::Jump(t) => [self.ins_at(t), None],
            Flow::Cond(t) | Flow::CallLocal(t) | Flow::Func(t) => [fall, self.ins_at(t)],
        }
    }

    /// The kernel's `check_subprogs` and `check_cfg`.
    fn structure(&self, d: &mut Diag) {
        let n = self.slots.len();
        for x in &self.ins {
            let (t, jump) = match x.flow {
                Flow::Jump(t) | Flow::Cond(t) => (t, true),
                Flow::CallLocal(t) | Flow::Func(t) => (t, false),
                _ => continue,
            };
            let text = self.text(x.stmt);
            if t < 0 || t >= n as i64 {
                d.push(
                    x.stmt,
                    KEY_TARGET,
                    format!(
                        "`{text}` goes to slot {t}, outside the program (slots 0 to {})",
                        n - 1
                    ),
                );
            } else if self.ins_at(t).is_none() {
                d.push(
                    x.stmt,
                    KEY_TARGET,
                    format!(
                        "`{text}` goes to slot {t}, the second half of an `lddw`: jump to the \
                         `lddw` itself"
                    ),
                );
            } else if jump {
                let (from, to) = (self.func_of(x.slot), self.func_of(t as u32));
                if from != to {
                    let start = self.funcs[to].start;
                    d.push(
                        x.stmt,
                        KEY_TARGET,
                        format!(
                            "`{text}` jumps into another function (slot {t} belongs to the \
                             function starting at slot {start}); jumps must stay inside their \
                             function: call it with `call local` instead"
                        ),
                    );
                }
            }
        }

        // Depth-first walk from the entry, as `check_cfg` does.
        let m = self.ins.len();
        let mut state = vec![0u8; m]; // 0 new, 1 on the walk's stack, 2 done
        let mut stack: Vec<(u32, u8)> = vec![(0, 0)];
        state[0] = 1;
        while let Some(top) = stack.last_mut() {
            let (i, k) = *top;
            let Some(&next) = self.successors(i as usize).get(usize::from(k)) else {
                state[i as usize] = 2;
                stack.pop();
                continue;
            };
            top.1 += 1;
            let Some(w) = next else { continue };
            match state[w as usize] {
                0 => {
                    state[w as usize] = 1;
                    stack.push((w, 0));
                }
                1 if self.unpriv => {
                    let x = &self.ins[i as usize];
                    d.push(
                        x.stmt,
                        KEY_LOOP,
                        format!(
                            "`{}` goes back to slot {}, forming a loop: unprivileged loaders may \
                             not use loops (bounded loops need CAP_BPF)",
                            self.text(x.stmt),
                            self.ins[w as usize].slot
                        ),
                    );
                }
                _ => {}
            }
        }

        // One error per run of unreachable statements.
        let mut in_run = false;
        for (x, &seen) in self.ins.iter().zip(&state) {
            if seen != 0 {
                in_run = false;
            } else if !in_run {
                in_run = true;
                d.push(
                    x.stmt,
                    KEY_UNREACHABLE,
                    format!(
                        "unreachable instruction `{}`: the kernel rejects programs with dead \
                         code; remove it or jump to it",
                        self.text(x.stmt)
                    ),
                );
            }
        }
        let ends = |slot: usize| {
            self.slots
                .get(slot)
                .and_then(|s| lit_u8(s.code))
                .is_some_and(|c| ENDS_FUNCTION.contains(&c))
        };
        if !ends(n - 1)
            && let Some(i) = self.ins_holding(n - 1)
        {
            let x = &self.ins[i];
            d.push(
                x.stmt,
                KEY_END,
                format!(
                    "`{}` falls off the end of the program: the last instruction of every \
                         path must be `exit` or a jump",
                    self.text(x.stmt)
                ),
            );
        }
        for f in &self.funcs[1..] {
            let s = f.start as usize;
            if s == 0 || ends(s - 1) {
                continue;
            }
            if let Some(i) = self.ins_holding(s - 1) {
                let x = &self.ins[i];
                let entry = self
                    .ins_at(i64::from(f.start))
                    .map_or("", |j| self.text(self.ins[j as usize].stmt));
                d.push(
                    x.stmt,
                    KEY_INTO_FUNC,
                    format!(
                        "`{}` falls through into the function starting at `{entry}` (slot {s}, a \
                         `call local` or `func(...)` target): the instruction before a function \
                         must be `exit` or `ja`",
                        self.text(x.stmt)
                    ),
                );
            }
        }

        if self.unpriv {
            for x in &self.ins {
                let slot = &self.slots[x.slot as usize];
                let kfunc = lit_u8(slot.code) == Some((k::BPF_JMP | k::BPF_CALL) as u8)
                    && slot.src.lit() == Some(i64::from(k::BPF_PSEUDO_KFUNC_CALL));
                let needs_cap = kfunc || matches!(x.flow, Flow::CallLocal(_) | Flow::Func(_));
                if needs_cap {
                    d.push(
                        x.stmt,
                        KEY_CAP,
                        format!(
                            "`{}` needs CAP_BPF: unprivileged loaders may not call other BPF \
                             functions or kernel functions (`call local`, `func(...)`, `call \
                             kfunc`)",
                            self.text(x.stmt)
                        ),
                    );
                }
            }
        }
    }
}

/// What the instruction at slot `t` does.
fn sem_at<S>(e: &Encoded<S>, t: usize, len: usize, stmt: usize) -> Sem {
    let Some(s) = e.slots.get(t) else {
        return Sem::Havoc;
    };
    if let Some(i0) = s.insn() {
        let i1 = if len == 2 {
            e.slots.get(t + 1).and_then(Slot::insn)
        } else {
            None
        };
        let d = match i1 {
            Some(i1) => decode(&[i0, i1]),
            None => decode(&[i0]),
        };
        return match d {
            Some(Decoded {
                form: Some(f),
                insn,
                next,
            }) => sem_of(
                f,
                insn.dst(),
                insn.src(),
                Some(i64::from(insn.off())),
                Some(i64::from(insn.imm())),
                next.map(|n: Insn| i64::from(n.imm())),
            ),
            _ => Sem::Havoc,
        };
    }
    // Some field is a `{ expr }`: the statement's form says what it is.
    let Some(p) = e.stmts.get(stmt) else {
        return Sem::Havoc;
    };
    let Some(f) = p.form.and_then(|fi| isa().forms.get(fi)) else {
        return Sem::Havoc;
    };
    if p.slot != t || f.shape == Shape::Raw {
        return Sem::Havoc;
    }
    let (Some(dst), Some(src)) = (lit_u8(s.dst), lit_u8(s.src)) else {
        return Sem::Havoc;
    };
    let hi = if len == 2 {
        e.slots.get(t + 1).and_then(|n| n.imm.lit())
    } else {
        None
    };
    sem_of(f, dst, src, s.off.lit(), s.imm.lit(), hi)
}

// ---------------------------------------------------------------------------
// The data flow.

/// What a function's exits return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Summary {
    r0: Val,
    /// Some exit is reached on a path the kernel surely walks.
    sure: bool,
    /// Some exit is reached on a path that is not suspect.
    clean: bool,
    r0_unset_sure: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    Plain,
    /// r6 at `ldabs`/`ldind`.
    Ctx,
}

struct Walk<'p, 'a, S> {
    p: &'p Prog<'a, S>,
    /// First instruction of each block, and `ins.len()` at the end.
    block_first: Vec<u32>,
    /// Per instruction: its block.
    block_of: Vec<u32>,
    /// Whether the block keeps its entry state: a join point, a function
    /// entry or a call. A block with one way in is walked straight from
    /// its predecessor instead.
    stored: Vec<bool>,
    states: Vec<Option<Box<State>>>,
    /// Blocks with one way in, to walk next.
    pending: Vec<(u32, State)>,
    visits: Vec<u32>,
    queue: BinaryHeap<Reverse<u32>>,
    queued: Vec<bool>,
    summaries: Vec<Option<Summary>>,
    /// Per function: how often its summary changed.
    summary_changes: Vec<u32>,
    /// Per function: the blocks ending in a `call local` to it.
    callers: Vec<Vec<u32>>,
    collect: bool,
    /// Instructions the fixed point may still walk (a guard: it converges
    /// long before).
    budget: u64,
    diag: Diag,
}

impl<'p, 'a, S> Walk<'p, 'a, S> {
    fn new(p: &'p Prog<'a, S>, diag: Diag) -> Self {
        let m = p.ins.len();
        let mut leader = vec![false; m];
        leader[0] = true;
        for f in &p.funcs {
            if let Some(i) = p.ins_at(i64::from(f.start)) {
                leader[i as usize] = true;
            }
        }
        for (i, x) in p.ins.iter().enumerate() {
            if let Flow::Jump(t) | Flow::Cond(t) | Flow::CallLocal(t) | Flow::Func(t) = x.flow
                && let Some(j) = p.ins_at(t)
            {
                leader[j as usize] = true;
            }
            if !matches!(x.flow, Flow::Next | Flow::Call) && i + 1 < m {
                leader[i + 1] = true;
            }
        }
        let mut block_first = Vec::new();
        let mut block_of = Vec::with_capacity(m);
        for (i, &l) in leader.iter().enumerate() {
            if l {
                block_first.push(i as u32);
            }
            block_of.push(block_first.len() as u32 - 1);
        }
        let blocks = block_first.len();
        block_first.push(m as u32);
        let mut callers = vec![Vec::new(); p.funcs.len()];
        let mut preds = vec![0u32; blocks];
        let mut stored = vec![false; blocks];
        stored[0] = true;
        preds[0] += 1;
        for (i, x) in p.ins.iter().enumerate() {
            let b = block_of[i] as usize;
            if let Flow::CallLocal(t) = x.flow {
                stored[b] = true;
                if let Ok(fi) = p.funcs.binary_search_by_key(&t, |f| i64::from(f.start)) {
                    callers[fi].push(b as u32);
                }
            }
            if block_first[b + 1] as usize != i + 1 {
                continue;
            }
            let fall = p.ins_at(p.fall_slot(i));
            let (one, two) = match x.flow {
                Flow::Next | Flow::Call => (fall, None),
                Flow::Jump(t) => (p.ins_at(t), None),
                Flow::Cond(t) | Flow::CallLocal(t) | Flow::Func(t) => (fall, p.ins_at(t)),
                Flow::Exit | Flow::Opaque => (None, None),
            };
            for j in [one, two].into_iter().flatten() {
                preds[block_of[j as usize] as usize] += 1;
            }
        }
        for f in &p.funcs {
            if let Some(i) = p.ins_at(i64::from(f.start)) {
                stored[block_of[i as usize] as usize] = true;
            }
        }
        for (st, &n) in stored.iter_mut().zip(&preds) {
            *st |= n != 1;
        }
        Walk {
            p,
            block_first,
            block_of,
            stored,
            states: vec![None; blocks],
            pending: Vec::new(),
            visits: vec![0; blocks],
            queue: BinaryHeap::new(),
            queued: vec![false; blocks],
            summaries: vec![None; p.funcs.len()],
            summary_changes: vec![0; p.funcs.len()],
            callers,
            collect: false,
            budget: 64 * m as u64 + 1_000_000,
            diag,
        }
    }

    fn run(mut self) -> Diag {
        let structural = self.diag.errs.len();
        self.edge(0, State::entry_main(self.p.unpriv));
        loop {
            if self.budget == 0 {
                // Not converged: promise nothing about registers.
                self.diag.errs.truncate(structural);
                return self.diag;
            }
            if let Some((b, st)) = self.pending.pop() {
                self.block(b as usize, st);
            } else if let Some(Reverse(b)) = self.queue.pop() {
                let b = b as usize;
                self.queued[b] = false;
                if let Some(st) = self.states[b].as_deref().cloned() {
                    self.block(b, st);
                }
            } else {
                break;
            }
        }
        // Once more, reporting, each block from its final entry state.
        self.collect = true;
        for b in 0..self.states.len() {
            if let Some(st) = self.states[b].take() {
                self.block(b, *st);
                while let Some((b, st)) = self.pending.pop() {
                    self.block(b as usize, st);
                }
            }
        }
        self.diag
    }

    fn enqueue(&mut self, b: usize) {
        if !self.queued[b] {
            self.queued[b] = true;
            self.queue.push(Reverse(b as u32));
        }
    }

    /// Flows `st` into the block starting at `slot`.
    fn edge(&mut self, slot: i64, st: State) {
        let Some(i) = self.p.ins_at(slot) else {
            return;
        };
        let b = self.block_of[i as usize] as usize;
        if self.block_first[b] != i {
            return;
        }
        if !self.stored[b] {
            self.pending.push((b as u32, st));
            return;
        }
        if self.collect {
            return;
        }
        match &mut self.states[b] {
            None => {
                self.states[b] = Some(Box::new(st));
                self.enqueue(b);
            }
            Some(old) => {
                self.visits[b] += 1;
                if old.join(&st, self.visits[b] > WIDEN_AFTER) {
                    self.enqueue(b);
                }
            }
        }
    }

    fn block(&mut self, b: usize, mut st: State) {
        let first = self.block_first[b] as usize;
        let end = self.block_first[b + 1] as usize;
        self.budget = self.budget.saturating_sub((end - first) as u64);
        for i in first..end {
            if !self.step(i, &mut st, i + 1 == end) {
                return;
            }
        }
    }

    fn report(&mut self, i: usize, key: u32, msg: String) {
        if self.collect {
            let stmt = self.p.ins[i].stmt;
            self.diag.push(stmt, key, msg);
        }
    }

    /// Reads register `r`, reporting it if unset; the value read counts as
    /// set (a path where it was not is refused there), so what is computed
    /// from it is not reported again.
    fn read(&mut self, i: usize, st: &State, r: u8, why: Why) -> Val {
        let v = st.reg(r);
        if v.is_set() || r > 10 {
            return v;
        }
        let bit = 1u16 << r;
        let must = v.init == Init::Unset;
        if (must && !st.suspect) || st.unset_sure & bit != 0 {
            let text = self.p.text(self.p.ins[i].stmt);
            let what = if must {
                "which no path has written"
            } else {
                "which is not written on every path reaching it"
            };
            let clobbered = st.clobbered & bit != 0;
            let msg = if why == Why::Ctx && r == 6 {
                format!(
                    "`{text}` reads r6, {what}: legacy packet loads need the context in r6: \
                     start with `mov r6, r1`"
                )
            } else if clobbered && (1..=5).contains(&r) {
                format!(
                    "`{text}` reads r{r}, {what}: `call`, `ldabs*` and `ldind*` clobber r1–r5 \
                     (r0 holds the result); keep values that must survive a call in r6–r9"
                )
            } else if clobbered && r == 0 {
                format!(
                    "`{text}` reads r0, {what}: the function called with `call local` returns \
                     without setting r0"
                )
            } else {
                format!(
                    "`{text}` reads r{r}, {what}; at entry only r1 (context) and r10 (frame \
                     pointer) are set, and calls clobber r1–r5"
                )
            };
            self.report(i, u32::from(r), msg);
        }
        Val {
            init: Init::Set,
            lossy: v.lossy || v.init == Init::Maybe,
            ..v.strip()
        }
    }

    /// A read of `size` bytes at `base + off`.
    fn stack_read(&mut self, i: usize, st: &State, base: Val, off: Option<i64>, size: u8) {
        let (Some(o), Some(f)) = (base.stack_off(), off) else {
            return;
        };
        let Some(at) = o.checked_add(f) else { return };
        let Some((a, b)) = stack_bytes(at, size) else {
            return;
        };
        let Some(stack) = st.stack.as_ref() else {
            return;
        };
        let (never, sure) = stack.status(a, b);
        let never = never && !st.suspect;
        if never || sure {
            let text = self.p.text(self.p.ins[i].stmt);
            let what = if never {
                "which no path has written"
            } else {
                "which is not written on every path"
            };
            self.report(
                i,
                KEY_STACK,
                format!(
                    "`{text}` reads stack [r10 - {}], {what}; unprivileged loaders may not read \
                     uninitialised stack (write it first)",
                    -at
                ),
            );
        }
    }

    /// A write of `size` bytes at `base + off` (of `val`, if known).
    fn stack_write(st: &mut State, base: Val, off: Option<i64>, size: u8, val: Option<Val>) {
        match (base.stack_off(), off) {
            (Some(o), Some(f)) => {
                let Some(at) = o.checked_add(f) else { return };
                if let Some((a, b)) = stack_bytes(at, size) {
                    if let Some(stack) = st.stack.as_mut() {
                        stack.write(a, b);
                    }
                    st.spill(at, size, val);
                }
            }
            _ if base.stack_any() => st.stack_havoc(),
            _ => {}
        }
    }

    /// One instruction; whether the block goes on.
    fn step(&mut self, i: usize, st: &mut State, last: bool) -> bool {
        let p = self.p;
        let x = p.ins[i];
        match x.sem {
            Sem::Alu {
                op,
                wide,
                signed_div,
                dst,
                src,
            } => {
                let a = if op == MOV {
                    None
                } else {
                    Some(self.read(i, st, dst, Why::Plain))
                };
                let b = match src {
                    Src::Reg(r) => self.read(i, st, r, Why::Plain),
                    Src::Imm(Some(imm)) => Val::konst(imm_operand(imm, wide)),
                    Src::Imm(None) => Val::UNKNOWN,
                };
                st.write(dst, alu(op, wide, signed_div, a, b, x.slot));
            }
            Sem::MovSx {
                wide,
                bits,
                dst,
                src,
            } => {
                let v = self.read(i, st, src, Why::Plain);
                let r = match v.konst_of() {
                    Some(c) if matches!(bits, 8 | 16 | 32) => {
                        let sh = 64 - u32::from(bits);
                        let s = (((c << sh) as i64) >> sh) as u64;
                        Val::konst(if wide { s } else { u64::from(s as u32) })
                    }
                    // It may be a copy (when no sign is extended).
                    _ => Val::bounded(0, if wide { u64::MAX } else { U32 }, x.slot, true)
                        .with_lossy(true),
                };
                st.write(dst, r);
            }
            Sem::Unary { dst } => {
                let v = self.read(i, st, dst, Why::Plain);
                st.write(dst, Val::fresh(x.slot, u64::MAX).with_lossy(v.vague()));
            }
            Sem::Cast { dst, src } => {
                let v = self.read(i, st, src, Why::Plain);
                st.write(dst, Val::fresh(x.slot, u64::MAX).with_lossy(v.vague()));
            }
            Sem::Lddw { dst, pseudo, value } => {
                let v = match pseudo {
                    0 => value.map_or(Val::fresh(x.slot, u64::MAX), Val::konst),
                    1 | 2 | 4 | 5 | 6 => Val::ptr(OTHER, None),
                    _ => Val::fresh(x.slot, u64::MAX),
                };
                st.write(dst, v);
            }
            Sem::Packet { size, index } => {
                self.read(i, st, 6, Why::Ctx);
                if let Some(r) = index {
                    self.read(i, st, r, Why::Plain);
                }
                st.clobber_args();
                let hi = match size {
                    1 => 0xff,
                    2 => 0xffff,
                    _ => u32::MAX,
                };
                st.write(0, Val::range(0, hi, x.slot, false));
            }
            Sem::Load {
                dst,
                base,
                off,
                size,
                signed,
            } => {
                let b = self.read(i, st, base, Why::Plain);
                self.stack_read(i, st, b, off, size);
                let max = if size >= 8 {
                    u64::MAX
                } else {
                    (1 << (8 * u32::from(size))) - 1
                };
                let at = b.stack_off().zip(off).and_then(|(o, f)| o.checked_add(f));
                let v = if let Some(base_off) = b.ctx_off() {
                    let at = base_off.zip(off).and_then(|(a, f)| a.checked_add(f));
                    let hi = match (size, signed) {
                        (1, false) => 0xff,
                        (2, false) => 0xffff,
                        (1, true) => 0x7f,
                        (2, true) => 0x7fff,
                        (_, true) => 0x7fff_ffff,
                        _ => u32::MAX,
                    };
                    Val::range(0, hi, x.slot, !signed && p.ctx_pointer(at, size))
                } else if let Some(v) = at.and_then(|at| st.fill(at, size)) {
                    match (signed, v.konst_of()) {
                        (false, _) => v,
                        (true, Some(c)) => {
                            let sh = 64 - 8 * u32::from(size);
                            Val::konst((((c << sh) as i64) >> sh) as u64)
                        }
                        (true, None) => Val::fresh(x.slot, u64::MAX).with_lossy(true),
                    }
                } else if b.stack_any() {
                    // Maybe a spilled register (known to the kernel), maybe a
                    // copy of a range.
                    let v = if signed || size >= 8 {
                        Val::opaque(true, size >= 8)
                    } else {
                        Val::bounded(0, max, x.slot, true)
                    };
                    v.with_lossy(true)
                } else {
                    // A read-only map's value is a constant to the kernel.
                    let v = Val::fresh(x.slot, if signed { u64::MAX } else { max });
                    v.with_lossy(matches!(b.k, K::Ptr { .. }))
                };
                st.write(dst, v);
            }
            Sem::Store {
                base,
                off,
                size,
                src,
                imm,
            } => {
                let b = self.read(i, st, base, Why::Plain);
                let v = match src {
                    Some(r) => Some(self.read(i, st, r, Why::Plain)),
                    None => imm.map(|c| Val::konst(imm_operand(c, true))),
                };
                Self::stack_write(st, b, off, size, v);
            }
            Sem::Atomic {
                base,
                off,
                size,
                src,
                kind,
            } => {
                let b = self.read(i, st, base, Why::Plain);
                self.read(i, st, src, Why::Plain);
                if kind == Atomic::Cmpxchg {
                    self.read(i, st, 0, Why::Plain);
                }
                self.stack_read(i, st, b, off, size);
                Self::stack_write(st, b, off, size, None);
                let loaded = if size < 8 {
                    Val::bounded(0, U32, x.slot, b.stack_any())
                } else if b.stack_any() {
                    Val::opaque(true, true)
                } else {
                    Val::fresh(x.slot, u64::MAX)
                }
                .with_lossy(b.stack_any() || matches!(b.k, K::Ptr { .. }));
                match kind {
                    Atomic::Fetch | Atomic::Xchg => st.write(src, loaded),
                    Atomic::Cmpxchg => st.write(0, loaded),
                    Atomic::Plain => {}
                }
            }
            Sem::Call { .. } | Sem::Kfunc => {
                st.args_touch_stack();
                if x.sem == Sem::Kfunc {
                    // `bpf_throw` does not return: the kernel may stop here.
                    st.make_unsure();
                }
                st.clobber_args();
                // The kernel knows the range of some helpers' results and
                // the type of kfuncs'.
                let known = match x.sem {
                    Sem::Call { id: Some(id) } => u32::try_from(id)
                        .ok()
                        .and_then(bpf_sys::helper_name)
                        .is_some_and(|n| RANGED_HELPERS.contains(&n)),
                    _ => true,
                };
                st.write(0, Val::fresh(x.slot, u64::MAX).with_lossy(known));
            }
            Sem::Havoc => {
                for r in 0..10 {
                    st.write(r, Val::opaque(true, true));
                }
                st.stack_havoc();
            }
            Sem::Jmp { .. } | Sem::MayGoto | Sem::Ja | Sem::CallLocal | Sem::Exit => {}
        }

        let fall = p.fall_slot(i);
        match x.flow {
            Flow::Next | Flow::Call => {
                if last {
                    self.edge(fall, take(st));
                }
                !last
            }
            Flow::Opaque => false,
            Flow::Exit => {
                if x.sem == Sem::Exit {
                    self.exit(i, st);
                }
                false
            }
            Flow::Jump(t) => {
                self.edge(t, take(st));
                false
            }
            Flow::Cond(t) => {
                if let Sem::Jmp { op, wide, dst, src } = x.sem {
                    self.branch(i, st, Cmp { op, wide }, dst, src, (fall, t));
                } else {
                    self.edge(fall, st.clone());
                    self.edge(t, take(st));
                }
                false
            }
            Flow::CallLocal(t) => {
                self.call_local(st, x.slot, t, fall);
                false
            }
            Flow::Func(t) => {
                // A callback: run only if passed to a helper, so never sure.
                let args = [Val::opaque(false, true); 5];
                let entry = State::entry_func(st, false, args);
                self.edge(fall, take(st));
                self.edge(t, entry);
                false
            }
        }
    }

    fn branch(
        &mut self,
        i: usize,
        st: &mut State,
        cmp: Cmp,
        dst: u8,
        src: Src,
        (fall, target): (i64, i64),
    ) {
        let d_pre = st.reg(dst);
        let d = self.read(i, st, dst, Why::Plain);
        let (s_pre, s) = match src {
            Src::Reg(r) => {
                let pre = st.reg(r);
                (Some(pre), Opnd::Reg(self.read(i, st, r, Why::Plain)))
            }
            Src::Imm(Some(imm)) => (None, Opnd::Imm(imm_operand(imm, cmp.wide))),
            Src::Imm(None) => (None, Opnd::Unknown),
        };
        // `jeq r2, r2`: one value, not two.
        let same = matches!(src, Src::Reg(r) if r == dst) && d.konst_of().is_none();
        let loose = |pre: Val, v: Val| pre.init != Init::Set || v.linked;
        let loose =
            loose(d_pre, d) || matches!((s_pre, s), (Some(pre), Opnd::Reg(v)) if loose(pre, v));
        for taken in [false, true] {
            let v = if same {
                verdict_same(cmp, taken)
            } else {
                verdict(cmp, d, s, taken, self.p.ctx == Ctx::Other)
            };
            if v == Verdict::Skips {
                continue;
            }
            let mut next = st.clone();
            if loose {
                // Maybe a copy of any range: the kernel may refine them all.
                next.forget_ranges(None);
            } else {
                let exact = cmp.op != JSET && !same;
                if let K::Range { site, .. } = d.k {
                    match s.val().and_then(Val::single) {
                        Some(c) if exact => next.refine(dst, cmp, c, taken),
                        _ => next.forget_ranges(Some(site)),
                    }
                }
                if let (Src::Reg(r), Opnd::Reg(sv)) = (src, s)
                    && let K::Range { site, .. } = sv.k
                {
                    match d.single() {
                        Some(c) if exact => {
                            let flipped = Cmp {
                                op: flip(cmp.op),
                                ..cmp
                            };
                            next.refine(r, flipped, c, taken);
                        }
                        _ => next.forget_ranges(Some(site)),
                    }
                }
            }
            if v == Verdict::Unsure {
                next.make_unsure();
                if d.vague() || s.val().is_none_or(Val::vague) || same {
                    next.suspect = true;
                }
            }
            self.edge(if taken { target } else { fall }, next);
        }
    }

    fn exit(&mut self, i: usize, st: &State) {
        let p = self.p;
        let x = p.ins[i];
        let f = p.func_of(x.slot);
        let r0 = st.regs[0];
        let text = p.text(x.stmt);
        // The kernel surely gets here (if it gets this far at all).
        let reached = !st.suspect || st.sure;
        if f != 0 && p.funcs[f].called {
            // Returns to the caller, which gets r0 as it is.
            if self.collect {
                if reached && r0.is_set() && matches!(r0.k, K::Ptr { kinds: STACK, .. }) {
                    self.report(
                        i,
                        KEY_LEAK,
                        format!(
                            "`{text}` returns a pointer to its own stack in r0: the kernel refuses \
                             it, that stack is gone once the function returns"
                        ),
                    );
                }
                return;
            }
            let new = Summary {
                r0,
                sure: st.sure,
                clean: !st.suspect,
                r0_unset_sure: st.unset_sure & 1 != 0,
            };
            let merged = match self.summaries[f] {
                None => new,
                Some(old) => {
                    let mut r0 = join_val(old.r0, new.r0);
                    // A value returned around a loop through the caller.
                    if r0 != old.r0 && self.summary_changes[f] > WIDEN_AFTER {
                        r0 = r0.strip();
                    }
                    Summary {
                        r0,
                        sure: old.sure || new.sure,
                        clean: old.clean || new.clean,
                        r0_unset_sure: old.r0_unset_sure || new.r0_unset_sure,
                    }
                }
            };
            if self.summaries[f] != Some(merged) {
                self.summaries[f] = Some(merged);
                self.summary_changes[f] += 1;
                let callers = std::mem::take(&mut self.callers[f]);
                for &b in &callers {
                    if self.states[b as usize].is_some() {
                        self.enqueue(b as usize);
                    }
                }
                self.callers[f] = callers;
            }
            return;
        }
        if !self.collect {
            return;
        }
        let main = f == 0;
        let sure_unset = st.unset_sure & 1 != 0;
        let unset = (r0.init == Init::Unset && (reached || sure_unset))
            || (main && r0.init == Init::Maybe && sure_unset);
        if unset {
            let hint = if st.clobbered & 1 != 0 {
                " (the function called with `call local` returns without setting r0)"
            } else {
                ""
            };
            self.report(
                i,
                KEY_EXIT,
                format!(
                    "`{text}` with r0 unset on some path{hint}: set the return value first, e.g. \
                     `mov r0, 0`"
                ),
            );
        } else if main
            && reached
            && p.unpriv
            && r0.is_set()
            && let K::Ptr { kinds, .. } = r0.k
        {
            let what = match kinds {
                CTX => "the context pointer",
                STACK => "a stack address",
                _ => "a kernel address",
            };
            self.report(
                i,
                KEY_LEAK,
                format!(
                    "`{text}` returns {what} in r0 to user space: unprivileged programs may not \
                     leak kernel addresses; return a number"
                ),
            );
        }
    }

    fn call_local(&mut self, st: &State, slot: u32, target: i64, fall: i64) {
        let p = self.p;
        let mut args = [Val::UNSET; 5];
        args.copy_from_slice(&st.regs[1..=5]);
        self.edge(target, State::entry_func(st, st.sure, args));
        let Ok(fi) = p
            .funcs
            .binary_search_by_key(&target, |f| i64::from(f.start))
        else {
            return;
        };
        let Some(sum) = self.summaries[fi] else {
            // The function has not returned (yet).
            return;
        };
        let mut after = st.clone();
        after.args_touch_stack();
        if !(st.sure && sum.sure) {
            after.make_unsure();
        }
        after.suspect |= !sum.clean;
        after.clobber_args();
        // The callee may have refined copies of the caller's ranges.
        after.forget_ranges(None);
        let r0 = match sum.r0.init {
            Init::Set => match sum.r0.k {
                K::Const(c) => Val::konst(c),
                K::Range { hlo, hhi, .. } => Val::bounded(hlo, hhi, slot, true).with_lossy(true),
                K::Ptr { kinds, .. } if kinds & STACK == 0 => Val::ptr(kinds, None),
                _ => Val::bounded(0, u64::MAX, slot, true).with_lossy(true),
            },
            Init::Maybe => Val {
                init: Init::Maybe,
                ..Val::opaque(true, false).with_lossy(true)
            },
            Init::Unset => Val::UNSET,
        };
        after.regs[0] = r0;
        if r0.is_set() {
            after.clobbered &= !1;
            after.unset_sure &= !1;
        } else {
            after.clobbered |= 1;
            if after.sure && sum.r0_unset_sure {
                after.unset_sure |= 1;
            } else {
                after.unset_sure &= !1;
            }
        }
        self.edge(fall, after);
    }
}

/// The state, leaving a cheap placeholder (for its last use).
fn take(st: &mut State) -> State {
    std::mem::replace(
        st,
        State {
            regs: [Val::UNSET; 11],
            sure: false,
            suspect: false,
            unset_sure: 0,
            clobbered: 0,
            spills: Vec::new(),
            stack: None,
        },
    )
}

/// An ALU operation's result. `a` is `None` for `mov`. A mask or shift of a
/// range is a new value, grouped by `site`.
fn alu(op: u8, wide: bool, signed_div: bool, a: Option<Val>, b: Val, site: u32) -> Val {
    // Besides ranges the kernel tracks known bits (`lsh r0, 4` clears the
    // low four), which only sums, right shifts and low masks keep in step
    // with the bounds here.
    let low_mask = op == AND
        && b.konst_of()
            .is_some_and(|c| (c & U32).wrapping_add(1).is_power_of_two());
    let bits = a.is_some() && !matches!(op, ADD | SUB | RSH) && !low_mask;
    // The kernel links `r2 = r1 + 5` to `r1`'s copies (by the difference):
    // what it learns of one it learns of the other.
    let delta = matches!(op, ADD | SUB) && b.konst_of().is_some() && a.is_some_and(Val::linked_any);
    let vague = a.is_some_and(Val::vague) || b.vague() || bits || signed_div || delta;
    let v = alu_value(op, wide, signed_div, a, b, site);
    if matches!(v.k, K::Const(_) | K::Ptr { .. }) {
        v
    } else {
        v.with_lossy(vague)
    }
}

fn alu_value(op: u8, wide: bool, signed_div: bool, a: Option<Val>, b: Val, site: u32) -> Val {
    let Some(a) = a else {
        // mov
        if wide {
            return b;
        }
        return match b.k {
            K::Const(c) => Val::konst(c & U32),
            K::Range { hhi, .. } if hhi <= U32 => b,
            _ => Val::fresh(site, U32),
        };
    };
    let linked = matches!(op, ADD | SUB) && b.konst_of().is_some() && a.linked_any();
    let full = if wide { u64::MAX } else { U32 };
    if signed_div {
        return Val::fresh(site, full);
    }
    if let (K::Const(x), K::Const(y)) = (a.k, b.k)
        && let Some(r) = alu_const(op, wide, x, y)
    {
        return Val::konst(r);
    }
    if wide && (op == ADD || op == SUB) {
        match (a.k, b.k) {
            (K::Ptr { kinds, off }, K::Const(c)) => {
                let c = c as i64;
                let off = off.and_then(|o| {
                    let o = i64::from(o);
                    let r = if op == ADD {
                        o.checked_add(c)
                    } else {
                        o.checked_sub(c)
                    };
                    r.and_then(|r| i32::try_from(r).ok())
                });
                return Val::ptr(kinds, off);
            }
            (K::Ptr { .. }, K::Ptr { .. }) => return Val::opaque(false, true),
            (K::Ptr { kinds, .. }, _) => return Val::ptr(kinds, None),
            (_, K::Ptr { kinds, .. }) if op == ADD => return Val::ptr(kinds, None),
            _ => {}
        }
    }
    let bounds = a
        .hull()
        .zip(b.hull())
        .and_then(|(x, y)| hull_arith(op, wide, x, y));
    let mut v = match bounds {
        Some((lo, hi)) => Val::bounded(lo, hi, site, linked),
        // A 32-bit result is zero-extended.
        None if !wide => Val::bounded(0, U32, site, linked),
        None if a.stack_any() || b.stack_any() => Val::opaque(linked, true),
        None => Val::bounded(0, u64::MAX, site, linked),
    };
    // Masks and shifts of a range: every value of the image is possible.
    if let (
        K::Range {
            ulo,
            uhi,
            ptr: false,
            ..
        },
        K::Const(c),
        K::Range { hlo, hhi, .. },
    ) = (a.k, b.k, v.k)
        && ulo <= uhi
    {
        let c = if wide { c } else { c & U32 };
        let image = match op {
            AND if c <= U32 && (c + 1).is_power_of_two() => {
                let m = c as u32;
                if uhi <= m {
                    Some((ulo, uhi))
                } else if uhi - ulo >= m {
                    Some((0, m))
                } else {
                    None
                }
            }
            RSH if c < 32 => Some((ulo >> c, uhi >> c)),
            _ => None,
        };
        if let Some((ulo, uhi)) = image
            && hlo <= u64::from(ulo)
            && u64::from(uhi) <= hhi
        {
            v.k = K::Range {
                ulo,
                uhi,
                hlo,
                hhi,
                site,
                ptr: false,
            };
        }
    }
    v
}

/// Bounds of `x op y` for `x` in `a` and `y` in `b`, as the kernel's range
/// tracking finds them (or tighter); `None` if unbounded.
fn hull_arith(op: u8, wide: bool, a: (u64, u64), b: (u64, u64)) -> Option<(u64, u64)> {
    let max: u128 = if wide {
        u128::from(u64::MAX)
    } else {
        u128::from(U32)
    };
    // A 32-bit operation sees the low halves.
    let low = |(l, h): (u64, u64)| {
        if wide || (l >> 32 == h >> 32) {
            (
                u128::from(if wide { l } else { l & U32 }),
                u128::from(if wide { h } else { h & U32 }),
            )
        } else {
            (0, u128::from(U32))
        }
    };
    let ((al, ah), (bl, bh)) = (low(a), low(b));
    let bits = if wide { 64 } else { 32 };
    let ones = |x: u128| {
        if x == 0 {
            0
        } else {
            (1u128 << (128 - x.leading_zeros())) - 1
        }
    };
    let r = match op {
        ADD => (al + bl, ah + bh),
        SUB if al >= bh => (al - bh, ah - bl),
        MUL => (al * bl, ah * bh),
        AND => (0, ah.min(bh)),
        OR => (al.max(bl), ones(ah.max(bh))),
        XOR => (0, ones(ah.max(bh))),
        LSH if bl == bh && bh < bits => (al << bh, ah << bh),
        RSH if bh < bits => (al >> bh, ah >> bl),
        // x / y <= x, and x / 0 is 0; x % y <= x, and x % 0 is x.
        DIV | MOD => (0, ah),
        _ => return None,
    };
    (r.1 <= max).then_some((r.0 as u64, r.1 as u64))
}

#[cfg(test)]
mod tests;
