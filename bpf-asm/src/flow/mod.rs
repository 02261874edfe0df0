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
mod walk;
use arith::*;
use value::*;
use walk::*;

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
            ctx: match e.options.prog_type.as_raw() {
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

#[cfg(test)]
mod tests;
