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
use std::collections::{BinaryHeap, HashMap, HashSet};

use bpf_sys::{MapType, ProgType};

use crate::check::{Check, CheckSet};
use crate::diag::Diagnostics;
use crate::disasm::{Decoded, decode};
use crate::encode::{Encoded, Field, OnWalk, Placed, Slot};
use crate::isa::{
    AluOp, Control, Fld, Form, JmpOp, Op, Pseudo, Role, control_of, ends_function, isa, slots_of,
};
use crate::progtype::{self, Table};
use crate::rules;
use crate::{Insn, MapSpec};

mod arith;
mod protos;
mod value;
mod walk;
use arith::*;
use protos::{Arg, Proto, Ret, proto};
use value::*;
use walk::*;

/// "No index".
const NONE: u32 = u32::MAX;

/// Pointer kinds, as bits.
const CTX: u8 = 1;
const STACK: u8 = 2;
const OTHER: u8 = 4;

/// The deepest call chain the kernel takes, in frames (`MAX_CALL_FRAMES`).
const MAX_FRAMES: usize = 8;

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
pub(crate) fn check<S: Copy>(encoded: &Encoded<S>, allow: CheckSet, sink: &mut Diagnostics<S>) {
    let Some(prog) = Prog::build(encoded) else {
        return;
    };
    // A slot whose opcode or target is a `{ expr }` hides where control goes:
    // then nothing can be promised.
    if prog.opaque {
        return;
    }
    let mut diag = Diag::default();
    prog.structure(&mut diag);
    let diag = Walk::new(&prog, diag).run();
    let mut errs: Vec<(u32, S, Check, String)> = Vec::with_capacity(diag.errs.len());
    for (k, e) in encoded.on_walk.iter().enumerate() {
        if diag.walked.contains(&(k as u32)) && !allow.contains(e.check) {
            errs.push((e.stmt, e.span, e.check, e.msg.clone()));
        }
    }
    for (stmt, key, at, msg) in diag.errs {
        let check = check_of(key);
        if allow.contains(check) {
            continue;
        }
        if let Some(p) = encoded.stmts.get(stmt as usize) {
            let span = match at {
                Some(Role::Dst) => p.regs[0],
                Some(Role::Src) => p.regs[1],
                _ => None,
            };
            errs.push((stmt, span.unwrap_or(p.span), check, msg));
        }
    }
    // Stable: at one statement, the encoder's errors come first.
    errs.sort_by_key(|e| e.0);
    for (_, span, check, msg) in errs {
        sink.push_check(span, check, msg);
    }
}

/// Errors, at most one per statement and key, each at its statement or at
/// the statement's operand for a register role.
#[derive(Default)]
struct Diag {
    /// Statement, key, operand, message.
    errs: Vec<(u32, u32, Option<Role>, String)>,
    seen: HashSet<(u32, u32)>,
    /// The encoder's [`OnWalk`] errors (by index) at statements the kernel
    /// surely walks.
    walked: HashSet<u32>,
}

// Keys that keep one error per statement and kind (registers use 0..=10).
const KEY_EXIT: u32 = 20;
const KEY_LEAK: u32 = 21;
const KEY_STACK: u32 = 22;
const KEY_MAP_ARG: u32 = 23;
const KEY_HELPER: u32 = 24;
const KEY_CTX: u32 = 25;
const KEY_PTR: u32 = 26;
const KEY_PTR_ARITH: u32 = 27;
const KEY_HELPER_MEM: u32 = 28;
const KEY_FRAMES: u32 = 29;
const KEY_STACK_BOUNDS: u32 = 36;
const KEY_ENDLESS: u32 = 37;
const KEY_REF: u32 = 38;
const KEY_ARGS: u32 = 39;
const KEY_TARGET: u32 = 30;
const KEY_END: u32 = 31;
const KEY_INTO_FUNC: u32 = 32;
const KEY_UNREACHABLE: u32 = 33;
const KEY_LOOP: u32 = 34;
const KEY_CAP: u32 = 35;

/// The check an error key belongs to.
fn check_of(key: u32) -> Check {
    match key {
        KEY_EXIT => Check::ExitR0,
        KEY_LEAK => Check::PointerLeak,
        KEY_STACK => Check::UninitStack,
        KEY_MAP_ARG => Check::MapArgs,
        KEY_HELPER => Check::HelperAllowed,
        KEY_CTX => Check::CtxAccess,
        KEY_PTR => Check::PointerAccess,
        KEY_PTR_ARITH => Check::PointerArith,
        KEY_HELPER_MEM => Check::HelperMem,
        KEY_FRAMES => Check::CallFrames,
        KEY_STACK_BOUNDS => Check::StackBounds,
        KEY_ENDLESS => Check::EndlessLoop,
        KEY_REF => Check::ReferenceLeak,
        KEY_ARGS => Check::HelperArgs,
        KEY_TARGET => Check::JumpTarget,
        KEY_END => Check::FallOffEnd,
        KEY_INTO_FUNC => Check::FallIntoFunction,
        KEY_UNREACHABLE => Check::Unreachable,
        KEY_LOOP => Check::UnprivilegedLoop,
        KEY_CAP => Check::NeedsCapBpf,
        _ => Check::UnsetRegister,
    }
}

impl Diag {
    fn push(&mut self, stmt: u32, key: u32, msg: String) {
        self.push_at(stmt, key, None, msg);
    }

    fn push_at(&mut self, stmt: u32, key: u32, at: Option<Role>, msg: String) {
        if self.seen.insert((stmt, key)) {
            self.errs.push((stmt, key, at, msg));
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

/// Where control goes after the instruction at slot `t`: from its row, or,
/// for a slot no row describes, from its opcode as `check_cfg` sees it.
fn flow_of(s: &Slot, form: Option<&Form>, t: usize) -> Flow {
    let Some(code) = lit_u8(s.code) else {
        return Flow::Opaque;
    };
    let control = match (form, lit_u8(s.src)) {
        (Some(f), _) => f.control(),
        (None, Some(src)) => control_of(code, src),
        // The source register picks the kind of `lddw` or `call`.
        (None, None) if isa().by_code(code).len() > 1 => return Flow::Opaque,
        (None, None) => control_of(code, 0),
    };
    let t = t as i64;
    let target = |f: Fld| {
        s.field(f).lit().map(|v| {
            t + 1
                + if f == Fld::Off {
                    i64::from(v as i16)
                } else {
                    i64::from(v as i32)
                }
        })
    };
    let to = |f: Fld, make: fn(i64) -> Flow| target(f).map_or(Flow::Opaque, make);
    match control {
        Control::Next => Flow::Next,
        Control::Exit => Flow::Exit,
        Control::Call => Flow::Call,
        Control::Indirect => Flow::Opaque,
        Control::Jump(f) => to(f, Flow::Jump),
        Control::Cond => to(Fld::Off, Flow::Cond),
        Control::CallLocal => to(Fld::Imm, Flow::CallLocal),
        Control::Func => to(Fld::Imm, Flow::Func),
    }
}

/// The second operand of an ALU operation or a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Reg(u8),
    /// The 32-bit immediate field, if known.
    Imm(Option<i64>),
}

/// An instruction as the walk sees it: its row and its fields (`None`
/// where a `{ expr }` is not known yet). No row: every register may have
/// changed.
#[derive(Clone, Copy, Debug)]
struct Sem {
    form: Option<&'static Form>,
    dst: u8,
    src: u8,
    off: Option<i64>,
    imm: Option<i64>,
    /// The second slot's `imm` (`lddw`).
    hi: Option<i64>,
}

impl Sem {
    const HAVOC: Sem = Sem {
        form: None,
        dst: 0,
        src: 0,
        off: None,
        imm: None,
        hi: None,
    };

    fn new(
        f: &'static Form,
        dst: u8,
        src: u8,
        off: Option<i64>,
        imm: Option<i64>,
        hi: Option<i64>,
    ) -> Sem {
        if dst > 10 || src > 10 {
            return Sem::HAVOC;
        }
        Sem {
            form: Some(f),
            dst,
            src,
            off,
            imm,
            hi,
        }
    }

    /// The operation, if the instruction has a row.
    fn op(&self) -> Option<Op> {
        self.form.map(|f| f.op)
    }

    /// The helper a `call` calls, by its name in the kernel headers.
    fn helper(&self) -> Option<&'static str> {
        match (self.op(), self.imm) {
            (Some(Op::Call), Some(id)) => u32::try_from(id).ok().and_then(bpf_sys::helper_name),
            _ => None,
        }
    }

    /// The second operand: `src`, or the immediate.
    fn operand(&self) -> Src {
        match self.form {
            Some(f) if f.fills(Fld::Src) => Src::Reg(self.src),
            _ => Src::Imm(self.imm),
        }
    }

    /// The register a role names.
    fn reg(&self, r: Role) -> u8 {
        r.reg(self.dst, self.src)
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
    ctx: CtxLayout,
    /// What the program type allows, if it has a table.
    table: Option<&'static Table>,
    opaque: bool,
    /// The encoder's errors that hold where the kernel walks, by statement.
    on_walk: &'a [OnWalk<S>],
    /// The maps the program declares (`#![map(...)]`), and which of them
    /// the `lddw` at a slot loads: what the checks know of keys and values.
    maps: &'a [MapSpec],
    map_at: HashMap<u32, u32>,
}

/// The context's layout, as far as pointers in it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CtxLayout {
    /// `struct __sk_buff`: `data`, `data_end`, `data_meta`, `flow_keys` and
    /// `sk` are pointers, none of which the kernel knows is not null.
    SkBuff,
    /// `struct xdp_md`: `data`, `data_end`, `data_meta` are packet pointers.
    Xdp,
    /// Anything else: any word may be a pointer, maybe one known not null.
    Other,
}

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
            let len = if lit_u8(s.code).is_some_and(|c| slots_of(c) == 2) && t + 1 < n {
                2
            } else {
                1
            };
            let stmt = slot_stmt[t];
            let sem = sem_at(e, t, usize::from(len), stmt as usize);
            let flow = flow_of(s, sem.form, t);
            opaque |= flow == Flow::Opaque;
            slot_ins[t] = ins.len() as u32;
            ins.push(Ins {
                slot: t as u32,
                len,
                stmt,
                flow,
                sem,
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
                ProgType::SocketFilter
                | ProgType::SchedCls
                | ProgType::SchedAct
                | ProgType::CgroupSkb => CtxLayout::SkBuff,
                ProgType::Xdp => CtxLayout::Xdp,
                _ => CtxLayout::Other,
            },
            table: progtype::table(e.options.prog_type),
            opaque,
            on_walk: &e.on_walk,
            maps: &e.maps,
            map_at: e
                .relocs
                .iter()
                .filter_map(|(slot, name)| {
                    let m = e.maps.iter().position(|m| m.name == *name)?;
                    Some((u32::try_from(*slot).ok()?, u32::try_from(m).ok()?))
                })
                .collect(),
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
        if let Some(t) = self.table {
            return t.access(off, size, false).is_ok_and(|f| f.ptr);
        }
        match self.ctx {
            CtxLayout::SkBuff => {
                u32::try_from(off).is_ok_and(|o| progtype::SKB_POINTERS.contains(&o))
            }
            CtxLayout::Xdp => matches!(off, 0 | 4 | 8),
            CtxLayout::Other => true,
        }
    }

    /// What a `size`-byte context load at `off` gives when it is `data` or
    /// `data_end` of a type with direct packet access.
    fn ctx_packet(&self, off: Option<i64>, size: u8) -> Option<Val> {
        let (t, off) = (self.table?, off?);
        let f = t.access(off, size, false).ok()?;
        if !f.ptr || i64::from(f.off) != off || size != 4 {
            return None;
        }
        match f.name {
            "data" => Some(Val::pkt(0, 0)),
            "data_end" => Some(Val::PKT_END),
            _ => None,
        }
    }

    /// Whether the program type may write the packet (`cgroup_skb` only
    /// reads it).
    fn packet_writes(&self) -> bool {
        self.table
            .is_some_and(|t| t.prog_type != ProgType::CgroupSkb)
    }

    /// The kernel's `check_max_stack_depth` follows every `call local` of
    /// every function reached from the entry, walked or not: a chain of
    /// more than 8 frames, or a function that calls itself through the
    /// chain, is refused ("the call stack of 9 frames is too deep").
    /// Reported at the call that goes one frame too deep.
    fn static_call_depth(&self, d: &mut Diag) {
        let mut calls: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.funcs.len()];
        for (i, x) in self.ins.iter().enumerate() {
            if let Flow::CallLocal(t) = x.flow
                && let Ok(callee) = self.funcs.binary_search_by_key(&t, |f| i64::from(f.start))
            {
                calls[self.func_of(x.slot)].push((callee, i));
            }
        }
        // (function, next call to follow)
        let mut chain: Vec<(usize, usize)> = vec![(0, 0)];
        // Per function: the deepest frame it was followed from and fit.
        let mut fits = vec![0; self.funcs.len()];
        while let Some(top) = chain.last_mut() {
            let (f, k) = *top;
            let Some(&(callee, i)) = calls[f].get(k) else {
                fits[f] = fits[f].max(chain.len());
                chain.pop();
                continue;
            };
            top.1 += 1;
            let recursive = chain.iter().any(|&(g, _)| g == callee);
            if chain.len() < MAX_FRAMES && !recursive {
                // What fits from a frame fits from a shallower one too.
                if chain.len() + 1 > fits[callee] {
                    chain.push((callee, 0));
                }
                continue;
            }
            let x = &self.ins[i];
            let text = self.text(x.stmt);
            let why = if recursive {
                "calls a function already on the call chain (recursion)".to_owned()
            } else {
                format!("makes a chain of {} frames", MAX_FRAMES + 1)
            };
            d.push(
                x.stmt,
                KEY_FRAMES,
                format!(
                    "`{text}` {why}: the kernel follows every `call local`, walked or not, and \
                     refuses a call stack deeper than {MAX_FRAMES} frames; unroll the recursion \
                     or inline a function"
                ),
            );
            return;
        }
    }

    /// "`call map_lookup_elem` at line 4": instruction `x` in an error.
    fn quote_at(&self, x: &Ins) -> Option<String> {
        let c = self.stmts.get(x.stmt as usize)?;
        Some(format!("`{}` at line {}", c.text, c.line))
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
                .is_some_and(ends_function)
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

        self.static_call_depth(d);

        if self.unpriv {
            for x in &self.ins {
                let kfunc = x.sem.op() == Some(Op::CallKfunc);
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
        return Sem::HAVOC;
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
            }) => Sem::new(
                f,
                insn.dst(),
                insn.src(),
                Some(i64::from(insn.off())),
                Some(i64::from(insn.imm())),
                next.map(|n: Insn| i64::from(n.imm())),
            ),
            _ => Sem::HAVOC,
        };
    }
    // Some field is a `{ expr }`: the statement's form says what it is.
    let Some(p) = e.stmts.get(stmt) else {
        return Sem::HAVOC;
    };
    let Some(f) = p.form.and_then(|fi| isa().forms.get(usize::from(fi))) else {
        return Sem::HAVOC;
    };
    if p.slot != t || f.op == Op::Raw {
        return Sem::HAVOC;
    }
    let (Some(dst), Some(src)) = (lit_u8(s.dst), lit_u8(s.src)) else {
        return Sem::HAVOC;
    };
    let hi = if len == 2 {
        e.slots.get(t + 1).and_then(|n| n.imm.lit())
    } else {
        None
    };
    Sem::new(f, dst, src, s.off.lit(), s.imm.lit(), hi)
}

#[cfg(test)]
mod tests;
