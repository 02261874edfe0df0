//! Statements to instruction slots: options, label resolution, matching
//! operands to the table's forms, range checks and encoding.
//!
//! A number written as `{ expr }` is unknown here; its field becomes an
//! [`Field::Expr`] carrying the range it must satisfy, which the macro turns
//! into a compile-time assertion at the expression.

use std::collections::HashMap;

use crate::check::{Check, CheckSet};
use crate::decl;
use crate::diag::Diagnostics;
use crate::error::{did_you_mean, nearest};
use crate::isa::{AluOp, Fld, Form, ImmRule, Op, Opnd, Pseudo, PseudoArg, Role, isa};
use crate::mapspec::MapSpec;
use crate::parse::{Attr, Operand, Parsed, Stmt, Value};
use crate::rules::{self, Range, StackFault};

/// The most instructions the kernel loads (`BPF_COMPLEXITY_LIMIT_INSNS`).
pub(crate) const MAX_INSNS: usize = 1_000_000;

/// Program-wide options, from the inner attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// `#![cpu = vN]`: the highest ISA level allowed (1 to 4); `None`: no limit.
    pub(crate) cpu: Option<u8>,
    /// `#![prog_type = NAME]`: the program type.
    pub(crate) prog_type: bpf_sys::ProgType,
    /// `#![unprivileged]`: apply the unprivileged loader's rules too.
    pub(crate) unprivileged: bool,
    /// `#![allow(name, ...)]`: the checks turned off.
    pub(crate) allow: CheckSet,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cpu: None,
            prog_type: bpf_sys::ProgType::SocketFilter,
            unprivileged: false,
            allow: CheckSet::default(),
        }
    }
}

/// Which part of a checked expression value a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// The value itself (truncated to the field's width after the check).
    Whole,
    /// The low 32 bits (first `lddw` slot).
    Lo32,
    /// The high 32 bits (second `lddw` slot).
    Hi32,
}

/// An instruction field: 16 bytes, so a program's slots stay compact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// Known now.
    Lit(i64),
    /// A `{ expr }` the macro evaluates and checks at compile time: an index
    /// into [`Encoded::exprs`].
    Expr(u32),
}

/// A field whose value is a `{ expr }`, and the range it must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExprField {
    /// The front end's expression index.
    pub(crate) id: u32,
    /// Negate the expression's value.
    pub(crate) neg: bool,
    /// Smallest accepted value.
    pub(crate) min: i128,
    /// Largest accepted value.
    pub(crate) max: i128,
    /// Zero is refused (a divisor).
    pub(crate) nonzero: bool,
    /// The value must be a multiple of this.
    pub(crate) align: i64,
    /// What the value is, for the assertion message.
    pub(crate) what: &'static str,
    /// Which part the field takes.
    pub(crate) part: Part,
}

impl Field {
    /// The value, if known now.
    pub(crate) fn lit(self) -> Option<i64> {
        match self {
            Field::Lit(v) => Some(v),
            Field::Expr(_) => None,
        }
    }
}

/// One encoded slot; fields may still hold expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Opcode.
    pub(crate) code: Field,
    /// Destination register.
    pub(crate) dst: Field,
    /// Source register.
    pub(crate) src: Field,
    /// Offset.
    pub(crate) off: Field,
    /// Immediate.
    pub(crate) imm: Field,
}

impl Slot {
    /// The field `f`.
    pub(crate) fn field_mut(&mut self, f: Fld) -> &mut Field {
        match f {
            Fld::Code => &mut self.code,
            Fld::Dst => &mut self.dst,
            Fld::Src => &mut self.src,
            Fld::Off => &mut self.off,
            Fld::Imm => &mut self.imm,
        }
    }

    /// The field `f`.
    pub(crate) fn field(&self, f: Fld) -> Field {
        match f {
            Fld::Code => self.code,
            Fld::Dst => self.dst,
            Fld::Src => self.src,
            Fld::Off => self.off,
            Fld::Imm => self.imm,
        }
    }

    fn new(code: u8, dst: u8, src: u8, off: Field, imm: Field) -> Slot {
        Slot {
            code: Field::Lit(i64::from(code)),
            dst: Field::Lit(i64::from(dst)),
            src: Field::Lit(i64::from(src)),
            off,
            imm,
        }
    }

    /// The instruction, if every field is known.
    pub(crate) fn insn(&self) -> Option<crate::Insn> {
        Some(crate::Insn::new(
            self.code.lit()? as u8,
            self.dst.lit()? as u8,
            self.src.lit()? as u8,
            self.off.lit()? as i16,
            self.imm.lit()? as i32,
        ))
    }
}

/// A statement's place in the output.
#[derive(Clone, Debug)]
pub(crate) struct Placed<S> {
    /// First slot.
    pub(crate) slot: usize,
    /// The form it encoded to (index into the ISA table), if it did.
    pub(crate) form: Option<u16>,
    /// Span of the mnemonic.
    pub(crate) span: S,
    /// Source line.
    pub(crate) line: u32,
    /// Spans of the registers in `dst` and `src`, where operands name them.
    pub(crate) regs: [Option<S>; 2],
    /// Normalised text.
    pub(crate) text: String,
}

/// The encoder's output.
#[derive(Clone, Debug)]
pub(crate) struct Encoded<S> {
    /// Every slot, in order.
    pub(crate) slots: Vec<Slot>,
    /// One entry per statement.
    pub(crate) stmts: Vec<Placed<S>>,
    /// `(slot, map name)` for `map_fd(NAME)` / `map_value(NAME, off)`.
    pub(crate) relocs: Vec<(usize, String)>,
    /// The `{ expr }` fields, indexed by [`Field::Expr`].
    #[cfg_attr(not(feature = "macro"), allow(dead_code))]
    pub(crate) exprs: Vec<ExprField>,
    /// The options in force.
    pub(crate) options: Options,
    /// The maps declared with `#![map(...)]`, in order.
    pub(crate) maps: Vec<MapSpec>,
    /// Errors the kernel finds only on instructions it walks (divisors,
    /// shift amounts, r10 writes, stack bounds), by statement, ascending:
    /// the flow checks report those on a path the kernel surely walks.
    pub(crate) on_walk: Vec<OnWalk<S>>,
}

/// An error the kernel reports only if it walks the statement.
#[derive(Clone, Debug)]
pub(crate) struct OnWalk<S> {
    pub(crate) check: Check,
    pub(crate) stmt: u32,
    pub(crate) span: S,
    pub(crate) msg: String,
}

/// The encoder, fed parsed statements in batches (the runtime assembler
/// feeds each statement as soon as it is parsed, so a program's statements
/// are never all held at once). Jump targets are resolved in
/// [`finish`](Self::finish), once every label and the program's length are
/// known.
#[derive(Debug)]
pub(crate) struct Encoder<'a, S> {
    state: State<'a, S>,
    slots: Vec<Slot>,
    stmts: Vec<Placed<S>>,
    /// Statements encoded so far (labels name statements by this count).
    next_stmt: usize,
    /// The first statement that ends past [`MAX_INSNS`].
    over_limit: Option<S>,
}

/// What the encoder remembers between statements.
#[derive(Debug)]
struct State<'a, S> {
    /// Label name to slot.
    labels: HashMap<&'a str, usize>,
    /// Second slots of `lddw`s, ascending.
    lddw_second: Vec<usize>,
    fixups: Vec<Fixup<'a, S>>,
    options: Options,
    relocs: Vec<(usize, String)>,
    exprs: Vec<ExprField>,
    /// `#![map(...)]` declarations.
    maps: Vec<MapSpec>,
    on_walk: Vec<OnWalk<S>>,
}

impl<'a, S: Copy> Encoder<'a, S> {
    /// An encoder with nothing encoded, with room for about `n` statements.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Encoder {
            state: State {
                labels: HashMap::new(),
                lddw_second: Vec::new(),
                fixups: Vec::new(),
                options: Options::default(),
                relocs: Vec::new(),
                exprs: Vec::new(),
                maps: Vec::new(),
                on_walk: Vec::new(),
            },
            // Room for some `lddw`s' second slots too.
            slots: Vec::with_capacity(n + n / 8),
            stmts: Vec::with_capacity(n),
            next_stmt: 0,
            over_limit: None,
        }
    }

    /// Encodes what `parsed` holds and empties it (keeping its buffers).
    pub(crate) fn feed(&mut self, parsed: &mut Parsed<'a, S>, diag: &mut Diagnostics<S>) {
        if !parsed.attrs.is_empty() {
            // The runtime assembler feeds one line at a time: options add up.
            let so_far = self.state.options.clone();
            self.state.options = options(so_far, &parsed.attrs, diag);
            for a in parsed.attrs.iter().filter(|a| a.key == "map") {
                decl::declare(a, &mut self.state.maps, diag);
            }
            parsed.attrs.clear();
        }
        let mut labels = parsed.labels.drain(..).peekable();
        for s in parsed.stmts.drain(..) {
            while let Some(l) = labels.next_if(|l| l.stmt <= self.next_stmt) {
                self.state.define(l.name, l.span, self.slots.len(), diag);
            }
            let ops = s.operands(&parsed.ops);
            self.statement(s, ops, diag);
        }
        // Labels after the last statement so far name the next one.
        for l in labels {
            self.state.define(l.name, l.span, self.slots.len(), diag);
        }
        parsed.ops.clear();
    }

    fn statement(&mut self, s: Stmt<'a, S>, ops: &[Operand<'a, S>], diag: &mut Diagnostics<S>) {
        let slot = self.slots.len();
        let mut e = Emit {
            state: &mut self.state,
            diag,
            regs: [None; 2],
            stmt: u32::try_from(self.next_stmt).unwrap_or(u32::MAX),
        };
        let form = e.statement(&s, ops, slot, &mut self.slots);
        let regs = e.regs;
        // Keep slot numbering stable after an error: a known mnemonic
        // takes its forms' slots (`lddw` two), an unknown one a slot.
        let isa = isa();
        let len = form
            .or_else(|| isa.by_name(&s.mnem).and_then(|ix| ix.first().copied()))
            .map_or(1, |fi| isa.forms[fi].slots());
        if len == 2 {
            self.state.lddw_second.push(slot + 1);
        }
        self.slots
            .resize(slot + len, Slot::new(0, 0, 0, Field::Lit(0), Field::Lit(0)));
        if slot + len > MAX_INSNS && self.over_limit.is_none() {
            self.over_limit = Some(s.span);
        }
        self.next_stmt += 1;
        self.stmts.push(Placed {
            slot,
            form: form.and_then(|f| u16::try_from(f).ok()),
            span: s.span,
            line: s.line,
            regs,
            text: s.text.into_owned(),
        });
    }

    /// Resolves the jump targets and returns the program.
    pub(crate) fn finish(mut self, diag: &mut Diagnostics<S>) -> Encoded<S> {
        let total = self.slots.len();
        let fixups = std::mem::take(&mut self.state.fixups);
        let mut names: Vec<&str> = self.state.labels.keys().copied().collect();
        names.sort_unstable();
        for f in fixups {
            if let Some(v) = self.state.resolve(&f, total, &names, diag) {
                let slot = &mut self.slots[f.slot];
                *slot.field_mut(f.field) = Field::Lit(v);
            }
        }
        if let Some(span) = self.over_limit {
            diag.push(
                span,
                format!(
                    "the program has {total} instructions; the kernel loads at most {MAX_INSNS}"
                ),
            );
        }
        let state = self.state;
        Encoded {
            slots: self.slots,
            stmts: self.stmts,
            relocs: state.relocs,
            exprs: state.exprs,
            options: state.options,
            maps: state.maps,
            on_walk: state.on_walk,
        }
    }
}

/// A jump or call target, resolved when the program is complete.
#[derive(Debug)]
struct Fixup<'a, S> {
    /// The instruction's first slot.
    slot: usize,
    field: Fld,
    /// The label, or the written relative offset.
    target: Result<&'a str, i128>,
    span: S,
    range: (i128, i128),
    /// Advice when the offset does not fit.
    hint: &'static str,
}

fn options<S: Copy>(mut o: Options, attrs: &[Attr<'_, S>], diag: &mut Diagnostics<S>) -> Options {
    // `#![map(...)]` declarations are read by `decl::declare`.
    for a in attrs.iter().filter(|a| a.key != "map") {
        match (a.key, a.value) {
            ("cpu", Some((v, span))) => match v {
                "v1" | "v2" | "v3" | "v4" => o.cpu = v[1..].parse().ok(),
                _ => diag.push(
                    span,
                    format!("unknown cpu `{v}`: expected v1, v2, v3 or v4"),
                ),
            },
            ("prog_type", Some((v, span))) => match bpf_sys::ProgType::from_name(v) {
                Some(t) => o.prog_type = t,
                None => {
                    let near = nearest(v, bpf_sys::ProgType::ALL.iter().map(|t| t.name()), 3);
                    diag.push(
                        span,
                        format!(
                            "unknown program type `{v}`: expected a `bpf_prog_type` name without \
                             the `BPF_PROG_TYPE_` prefix, in lower case{}",
                            did_you_mean(&near)
                        ),
                    );
                }
            },
            ("unprivileged", None) => o.unprivileged = true,
            ("allow", _) => allow(&mut o.allow, a, diag),
            ("cpu" | "prog_type", None) => diag.push(
                a.span,
                format!("`#![{}]` needs a value: `#![{} = ...]`", a.key, a.key),
            ),
            ("unprivileged", Some((_, span))) => {
                diag.push(span, "`#![unprivileged]` takes no value")
            }
            (key, _) => {
                let near = nearest(key, ["cpu", "prog_type", "unprivileged", "allow"], 3);
                diag.push(
                    a.span,
                    format!(
                        "unknown attribute `{key}`: expected `cpu = vN`, `prog_type = NAME`, \
                         `unprivileged` or `allow(check, ...)`{}",
                        did_you_mean(&near)
                    ),
                );
            }
        }
    }
    o
}

/// `#![allow(name, ...)]`: the checks named, each known.
fn allow<S: Copy>(set: &mut CheckSet, a: &Attr<'_, S>, diag: &mut Diagnostics<S>) {
    let names = || Check::ALL.iter().map(|c| c.name());
    let Some(args) = a
        .args
        .as_ref()
        .filter(|args| !args.is_empty() && a.value.is_none())
    else {
        diag.push(
            a.span,
            format!(
                "`#![allow(...)]` takes the names of checks: `#![allow(unreachable, \
                 unset_register)]`; the checks are {}",
                names().collect::<Vec<_>>().join(", ")
            ),
        );
        return;
    };
    for arg in args {
        match Check::from_name(arg.name) {
            Some(c) if arg.sep.is_none() => set.insert(c),
            Some(_) => diag.push(arg.span, format!("`{}` takes no value here", arg.name)),
            None => diag.push(
                arg.span,
                format!(
                    "unknown check `{}`{}",
                    arg.name,
                    match nearest(arg.name, names(), 3) {
                        near if near.is_empty() => format!(
                            ": the checks are {}",
                            names().collect::<Vec<_>>().join(", ")
                        ),
                        near => did_you_mean(&near),
                    }
                ),
            ),
        }
    }
}

/// The operand list a form takes, for "expected one of" messages.
pub(crate) fn signature(form: &Form) -> String {
    let mut s = form.name.to_owned();
    for (i, o) in form.operands.iter().enumerate() {
        s.push_str(if i == 0 { " " } else { ", " });
        match (o, form.pseudo()) {
            (Opnd::Imm64, Some(p)) => s.push_str(p.signature()),
            _ => s.push_str(o.placeholder()),
        }
    }
    s
}

/// Whether a written operand has the kind a form's operand takes (values
/// are checked when encoding).
fn fits<S>(form: &Form, want: Opnd, op: &Operand<'_, S>) -> bool {
    use Operand::*;
    match want {
        Opnd::Dst | Opnd::Src => matches!(op, Reg(..)),
        Opnd::Imm | Opnd::AsDst | Opnd::AsSrc | Opnd::Raw(Fld::Off | Fld::Imm) => {
            matches!(op, Num { .. })
        }
        Opnd::Raw(_) => matches!(op, Num { .. } | Reg(..)),
        Opnd::Mem(_) => matches!(op, Mem { .. }),
        Opnd::Target(_) | Opnd::Helper => matches!(op, Num { .. } | Name(..)),
        Opnd::Imm64 => match (form.pseudo(), op) {
            (None, Num { .. }) => true,
            (Some(p), Call { name, .. }) => *name == p.keyword(),
            _ => false,
        },
    }
}

fn fits_all<S>(form: &Form, ops: &[Operand<'_, S>]) -> bool {
    form.operands.len() == ops.len()
        && form
            .operands
            .iter()
            .zip(ops)
            .all(|(&want, op)| fits(form, want, op))
}

impl<'a, S: Copy> State<'a, S> {
    fn define(&mut self, name: &'a str, span: S, slot: usize, diag: &mut Diagnostics<S>) {
        if self.labels.insert(name, slot).is_some() {
            diag.push(span, format!("label `{name}` is defined more than once"));
        }
    }

    /// The offset of a recorded target from the next slot, or an error.
    fn resolve(
        &self,
        f: &Fixup<'a, S>,
        total: usize,
        names: &[&str],
        diag: &mut Diagnostics<S>,
    ) -> Option<i64> {
        let (dest, is_label) = match f.target {
            Ok(name) => match self.labels.get(name) {
                Some(&d) => (d as i128, true),
                None => {
                    let near = nearest(name, names.iter().copied(), 3);
                    diag.push(
                        f.span,
                        format!("undefined label `{name}`{}", did_you_mean(&near)),
                    );
                    return None;
                }
            },
            Err(n) => (f.slot as i128 + n + 1, false),
        };
        let off = dest - f.slot as i128 - 1;
        if dest < 0 || dest >= total as i128 {
            let what = if is_label {
                "is at the end of the program, so jumping there leaves it".to_owned()
            } else {
                format!(
                    "is slot {dest}, outside the program (slots 0 to {})",
                    total.saturating_sub(1)
                )
            };
            diag.push(f.span, format!("this target {what}"));
            return None;
        }
        if self.lddw_second.binary_search(&(dest as usize)).is_ok() {
            diag.push(
                f.span,
                format!("this target is slot {dest}, the second half of an `lddw`: jump to the `lddw` itself"),
            );
            return None;
        }
        let (min, max) = f.range;
        if off < min || off > max {
            let bits = if max == rules::I16.1 {
                "16 bits (-32768 to 32767)"
            } else {
                "32 bits"
            };
            diag.push(
                f.span,
                format!("jump offset {off} does not fit in {bits}{}", f.hint),
            );
            return None;
        }
        Some(off as i64)
    }
}

/// One statement's encoding: the encoder's state and the sink.
struct Emit<'e, 'a, S> {
    state: &'e mut State<'a, S>,
    diag: &'e mut Diagnostics<S>,
    /// Spans of the registers the operands put in `dst` and `src`.
    regs: [Option<S>; 2],
    /// The statement's index.
    stmt: u32,
}

impl<'a, S: Copy> Emit<'_, 'a, S> {
    fn err(&mut self, span: S, msg: impl Into<String>) {
        self.diag.push(span, msg);
    }

    /// An error the kernel reports only if it walks this statement.
    fn on_walk(&mut self, check: Check, span: S, msg: impl Into<String>) {
        self.state.on_walk.push(OnWalk {
            check,
            stmt: self.stmt,
            span,
            msg: msg.into(),
        });
    }

    /// Matches the statement to a form and encodes it into `out`; the
    /// form's index, if one matched.
    fn statement(
        &mut self,
        s: &Stmt<'a, S>,
        ops: &[Operand<'a, S>],
        slot: usize,
        out: &mut Vec<Slot>,
    ) -> Option<usize> {
        let isa = isa();
        let Some(candidates) = isa.by_name(&s.mnem) else {
            let near = nearest(&s.mnem, isa.names(), 3);
            let hint = if near.is_empty() && s.mnem.starts_with("lock") {
                "; atomics are written `lock [fetch] add|or|and|xor[32] [dst + off], src`, \
                 `lock xchg[32] ...` or `lock cmpxchg[32] ...`"
                    .to_owned()
            } else {
                did_you_mean(&near)
            };
            self.err(s.span, format!("unknown instruction `{}`{hint}", s.mnem));
            return None;
        };
        let Some(&fi) = candidates.iter().find(|&&i| fits_all(&isa.forms[i], ops)) else {
            let forms: Vec<String> = candidates
                .iter()
                .map(|&i| format!("`{}`", signature(&isa.forms[i])))
                .collect();
            let got: Vec<&str> = ops.iter().map(Operand::describe).collect();
            let got = if got.is_empty() {
                "no operands".to_owned()
            } else {
                got.join(", ")
            };
            self.err(
                s.span,
                format!(
                    "wrong operands for `{}` (found {got}); expected {}",
                    s.mnem,
                    forms.join(" or ")
                ),
            );
            return None;
        };
        let form = &isa.forms[fi];
        if let Some(cpu) = self.state.options.cpu
            && form.cpu > cpu
        {
            self.err(
                s.span,
                format!(
                    "`{}` needs cpu v{} (Linux {}), above this program's `#![cpu = v{cpu}]`",
                    s.mnem, form.cpu, form.since
                ),
            );
        }
        let before = self.diag.checkpoint();
        self.encode_form(form, ops, slot, out);
        if !self.diag.clean_since(before) {
            out.truncate(slot);
        }
        Some(fi)
    }

    /// Pushes the instruction's slot (and its second slot for `lddw`) onto
    /// `out`, where it is filled in place: the form's fixed fields, then each
    /// operand into the field its row names.
    fn encode_form(&mut self, f: &Form, ops: &[Operand<'a, S>], slot: usize, out: &mut Vec<Slot>) {
        let z = Field::Lit(0);
        out.push(Slot::new(
            f.code,
            0,
            f.src,
            Field::Lit(i64::from(f.off)),
            Field::Lit(i64::from(f.imm)),
        ));
        if f.slots() == 2 {
            out.push(Slot::new(0, 0, 0, z, z));
        }
        let (first, mut second) = match &mut out[slot..] {
            [first, rest @ ..] => (first, rest.first_mut()),
            [] => return,
        };
        let mut spaces: Option<(Field, S)> = None;
        for (&want, op) in f.operands.iter().zip(ops) {
            match (want, op) {
                (Opnd::Dst | Opnd::Src, Operand::Reg(r, span)) => {
                    let (role, field, k) = if want == Opnd::Dst {
                        (Role::Dst, Fld::Dst, 0)
                    } else {
                        (Role::Src, Fld::Src, 1)
                    };
                    if f.writes.contains(&role) {
                        self.writes(*r, *span);
                    }
                    self.regs[k] = Some(*span);
                    *first.field_mut(field) = Field::Lit(i64::from(*r));
                }
                (Opnd::Imm, Operand::Num { value, span, .. }) => {
                    first.imm = self.imm(f, *value, *span);
                }
                (Opnd::Mem(base), m @ Operand::Mem { reg, reg_span, .. }) => {
                    self.regs[usize::from(base != Fld::Dst)] = Some(*reg_span);
                    *first.field_mut(base) = Field::Lit(i64::from(*reg));
                    first.off = self.mem(f, m);
                }
                (Opnd::Target(field), t) => {
                    let v = self.target(t, slot, field, rules::target(field), target_hint(f));
                    *first.field_mut(field) = Field::Lit(v);
                }
                (Opnd::Helper, op) => first.imm = self.helper(op),
                (Opnd::Imm64, op) => {
                    let (lo, hi) = self.lddw_operand(f, op, slot);
                    first.imm = lo;
                    if let Some(second) = second.as_deref_mut() {
                        second.imm = hi;
                    }
                }
                (Opnd::AsDst | Opnd::AsSrc, Operand::Num { value, span, .. }) => {
                    let v = self.value(*value, *span, rules::ADDR_SPACE);
                    match (want, spaces, v) {
                        (Opnd::AsDst, _, _) => spaces = Some((v, *span)),
                        (_, Some((Field::Lit(a), _)), Field::Lit(b)) => {
                            first.imm = Field::Lit(i64::from((a << 16 | b) as i32));
                        }
                        (_, Some((_, at)), _) => {
                            self.err(at, "`addr_space_cast` takes literal address spaces");
                        }
                        _ => {}
                    }
                }
                (Opnd::Raw(field), op) => {
                    *first.field_mut(field) = self.raw_field(op, rules::raw(field));
                }
                // `fits_all` matched every operand's kind.
                _ => {}
            }
        }
    }

    fn expr(&mut self, e: ExprField) -> Field {
        let i = u32::try_from(self.state.exprs.len()).unwrap_or(u32::MAX);
        self.state.exprs.push(e);
        Field::Expr(i)
    }

    /// A register the instruction writes: r10 is read-only.
    fn writes(&mut self, reg: u8, span: S) {
        if reg == 10 {
            self.on_walk(
                Check::R10Write,
                span,
                "r10 is the read-only frame pointer and cannot be written; use r0 to r9",
            );
        }
    }

    fn raw_field(&mut self, op: &Operand<'a, S>, range: Range) -> Field {
        match op {
            Operand::Reg(r, _) => Field::Lit(i64::from(*r)),
            Operand::Num { value, span, .. } => self.value(*value, *span, range),
            other => {
                self.err(other.span(), format!("expected {}", range.what));
                Field::Lit(0)
            }
        }
    }

    /// A checked number field.
    fn value(&mut self, v: Value, span: S, range: Range) -> Field {
        match v {
            Value::Lit(x) => {
                let x = x.get();
                if x < range.min || x > range.max {
                    self.err(
                        span,
                        format!("{} is out of range: expected {}", show(x), range.what),
                    );
                } else if range.nonzero && x == 0 {
                    self.err(
                        span,
                        format!("0 is not allowed here: expected {}", range.what),
                    );
                }
                Field::Lit(x as i64)
            }
            Value::Expr { id, neg } => self.expr(ExprField {
                id,
                neg,
                min: range.min,
                max: range.max,
                nonzero: range.nonzero,
                align: range.align,
                what: range.what,
                part: Part::Whole,
            }),
        }
    }

    /// The immediate operand under the form's rule.
    fn imm(&mut self, f: &Form, v: Value, span: S) -> Field {
        let range = rules::imm(f.rule);
        if let Value::Lit(x) = v {
            let x = x.get();
            if let Some(as_written) = rules::sign_extension_surprise(f.rule, x) {
                let (op32, why) = match f.op {
                    Op::Jmp(_) => (format!("{}32", f.name), "compare against"),
                    Op::Store => ("stw".to_owned(), "store"),
                    _ => (format!("{}32", f.name.trim_end_matches("64")), "use"),
                };
                self.err(
                    span,
                    format!(
                        "{} does not fit a sign-extended 32-bit immediate: this 64-bit `{}` would \
                         {why} {as_written} ({:#x}). Write {as_written} if that is meant, load the \
                         64-bit value with `lddw` into a register, or use the 32-bit `{op32}`",
                        show(x),
                        f.name,
                        as_written as i64 as u64,
                    ),
                );
                return Field::Lit(i64::from(as_written));
            }
            if rules::needs_lddw(f.rule, x) {
                self.err(
                    span,
                    format!(
                        "{} is out of range: expected {}; a value that needs more than 32 bits \
                         must be loaded into a register with `lddw rN, imm64`, then used with \
                         the register form of `{}`",
                        show(x),
                        range.what,
                        f.name
                    ),
                );
                return Field::Lit(0);
            }
            if range.nonzero && x == 0 {
                let verb = if f.op == Op::Alu(AluOp::Mod) {
                    "modulo"
                } else {
                    "division"
                };
                self.on_walk(
                    Check::Divisor,
                    span,
                    format!("{verb} by the constant 0: the kernel rejects it (`{}` needs a non-zero immediate)", f.name),
                );
                return Field::Lit(0);
            }
            if let ImmRule::Shift(_) = f.rule
                && !range.holds(x)
                && (rules::I32.0..=rules::I32.1).contains(&x)
            {
                // The kernel's "invalid shift" is found as it walks.
                self.on_walk(
                    Check::ShiftAmount,
                    span,
                    format!("{} is out of range: expected {}", show(x), range.what),
                );
                return Field::Lit(x as i64);
            }
        }
        self.value(v, span, range)
    }

    /// A memory operand's offset; stack accesses (through r10) must stay
    /// inside the frame, aligned to the form's access size.
    fn mem(&mut self, f: &Form, m: &Operand<'a, S>) -> Field {
        let Operand::Mem {
            reg, off, off_span, ..
        } = m
        else {
            return Field::Lit(0);
        };
        let range = match off {
            Value::Expr { .. } if *reg == 10 => rules::stack_offset(f.size),
            _ => rules::OFFSET,
        };
        let field = self.value(*off, *off_span, range);
        if *reg == 10
            && let Field::Lit(o) = field
        {
            let size = i64::from(f.size);
            match rules::stack_access(o, size) {
                Some(StackFault::Outside) => self.on_walk(
                    Check::StackBounds,
                    *off_span,
                    format!(
                        "stack access [r10 {} {}] of {size} bytes is outside the 512-byte stack: \
                         offsets go from -512 to -{size}",
                        if o < 0 { '-' } else { '+' },
                        o.unsigned_abs()
                    ),
                ),
                Some(StackFault::Misaligned) => self.on_walk(
                    Check::StackBounds,
                    *off_span,
                    format!(
                        "misaligned stack access: a {size}-byte access needs an offset that is a \
                         multiple of {size} (for example {})",
                        o - o.rem_euclid(size)
                    ),
                ),
                None => {}
            }
        }
        field
    }

    /// `lddw`'s value: a 64-bit number, split over the two slots, or the
    /// form's pseudo operand with its arguments.
    fn lddw_operand(&mut self, f: &Form, op: &Operand<'a, S>, slot: usize) -> (Field, Field) {
        let z = Field::Lit(0);
        match (f.pseudo(), op) {
            (None, Operand::Num { value, span, .. }) => match *value {
                Value::Lit(x) => {
                    let x = x.get();
                    if x < rules::IMM64.min {
                        self.err(*span, format!("{} does not fit in 64 bits", show(x)));
                    }
                    let v = x as i64;
                    (
                        Field::Lit(i64::from(v as i32)),
                        Field::Lit(i64::from((v >> 32) as i32)),
                    )
                }
                Value::Expr { id, neg } => {
                    let e = |part| ExprField {
                        id,
                        neg,
                        min: rules::IMM64.min,
                        max: rules::IMM64.max,
                        nonzero: false,
                        align: 1,
                        what: rules::IMM64.what,
                        part,
                    };
                    (self.expr(e(Part::Lo32)), self.expr(e(Part::Hi32)))
                }
            },
            (Some(p), Operand::Call { args, span, .. }) => {
                if args.len() != p.args().len() {
                    self.err(*span, p.usage());
                    return (z, z);
                }
                let (mut lo, mut hi) = (z, z);
                for (&want, arg) in p.args().iter().zip(args) {
                    match want {
                        PseudoArg::Map => {
                            lo = match arg {
                                Operand::Name(map, span) => {
                                    if !self.state.maps.is_empty() {
                                        decl::lookup(&self.state.maps, map, *span, self.diag);
                                    }
                                    self.state.relocs.push((slot, (*map).to_owned()));
                                    z
                                }
                                Operand::Num { value, span, .. } => {
                                    self.value(*value, *span, rules::pseudo_arg(want))
                                }
                                other => {
                                    self.err(other.span(), "expected a map name or a map fd");
                                    z
                                }
                            };
                        }
                        PseudoArg::Num(second, _) => {
                            let range = rules::pseudo_arg(want);
                            let v = match arg {
                                Operand::Num { value, span, .. } => {
                                    self.value(*value, *span, range)
                                }
                                other => {
                                    self.err(other.span(), format!("expected {}", range.what));
                                    z
                                }
                            };
                            if second {
                                hi = v;
                            } else {
                                lo = v;
                            }
                        }
                        PseudoArg::Target => {
                            let imm = self.target(arg, slot, Fld::Imm, rules::I32, "");
                            lo = Field::Lit(imm);
                        }
                    }
                }
                if p == Pseudo::MapValue
                    && let [Operand::Name(map, span), off] = args.as_slice()
                    && let Some(spec) = self.state.maps.iter().find(|m| m.name == *map)
                {
                    let off = hi.lit().map(|v| (v, off.span()));
                    decl::check_map_value(spec, *span, off, self.diag);
                }
                (lo, hi)
            }
            _ => (z, z),
        }
    }

    fn helper(&mut self, op: &Operand<'a, S>) -> Field {
        match op {
            Operand::Name(name, span) => match bpf_sys::helper_id(name) {
                Some(id) => Field::Lit(i64::from(id)),
                None => {
                    let bare = name.strip_prefix("bpf_").unwrap_or(name);
                    let near = nearest(bare, bpf_sys::HELPERS.iter().map(|h| h.0), 3);
                    self.err(
                        *span,
                        format!(
                            "unknown helper `{name}`: not in the kernel headers bpf-sys was built \
                             with{}",
                            did_you_mean(&near)
                        ),
                    );
                    Field::Lit(0)
                }
            },
            Operand::Num { value, span, .. } => {
                let before = self.diag.checkpoint();
                let f = self.value(*value, *span, rules::HELPER_ID);
                if let Field::Lit(id) = f
                    && !rules::helper_known(id)
                    && self.diag.clean_since(before)
                {
                    let max = bpf_sys::HELPERS.last().map_or(0, |h| h.1);
                    self.err(
                        *span,
                        format!(
                            "unknown helper id {id}: the kernel headers bpf-sys was built with \
                             define ids 1 to {max} (set BPF_SYS_INCLUDE_DIR to a newer \
                             linux/bpf.h for newer helpers)"
                        ),
                    );
                }
                f
            }
            other => {
                self.err(other.span(), "expected a helper name or id");
                Field::Lit(0)
            }
        }
    }

    /// Records a jump or call target for [`State::resolve`]; the field
    /// holds 0 until then.
    fn target(
        &mut self,
        t: &Operand<'a, S>,
        slot: usize,
        field: Fld,
        range: (i128, i128),
        hint: &'static str,
    ) -> i64 {
        let (target, span) = match t {
            Operand::Name(name, span) => (Ok(*name), *span),
            Operand::Num {
                value: Value::Lit(n),
                span,
                ..
            } => (Err(n.get()), *span),
            Operand::Num { span, .. } => {
                self.err(
                    *span,
                    "a jump target is a label or a literal `+N`/`-N`, not a `{ expr }`",
                );
                return 0;
            }
            other => {
                self.err(other.span(), "expected a label or `+N`/`-N`");
                return 0;
            }
        };
        self.state.fixups.push(Fixup {
            slot,
            field,
            target,
            span,
            range,
            hint,
        });
        0
    }
}

/// Advice for a target too far for the form's offset field.
fn target_hint(f: &Form) -> &'static str {
    match (f.op, f.target_field()) {
        (Op::Ja, Some(Fld::Off)) => "; use `ja32` (a 32-bit offset) for long jumps",
        (Op::Jmp(_), _) => {
            "; invert the condition to jump over a `ja32`, which takes a 32-bit offset"
        }
        _ => "",
    }
}

fn show(x: i128) -> String {
    if x > 9 {
        format!("{x} ({x:#x})")
    } else {
        x.to_string()
    }
}
