//! Statements to instruction slots: options, label resolution, matching
//! operands to the table's forms, range checks and encoding.
//!
//! A number written as `{ expr }` is unknown here; its field becomes an
//! [`Field::Expr`] carrying the range it must satisfy, which the macro turns
//! into a compile-time assertion at the expression.

use std::collections::HashMap;

use crate::error::{Error, did_you_mean, nearest};
use crate::isa::{Form, ImmRule, Shape, isa};
use crate::parse::{Attr, Operand, Parsed, Stmt, Value};

/// The most instructions the kernel loads (`BPF_COMPLEXITY_LIMIT_INSNS`).
pub const MAX_INSNS: usize = 1_000_000;

/// Program-wide options, from the inner attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `#![cpu = vN]`: the highest ISA level allowed (1 to 4); `None`: no limit.
    pub cpu: Option<u8>,
    /// `#![prog_type = NAME]`: the program type.
    pub prog_type: bpf_sys::ProgType,
    /// `#![unprivileged]`: apply the unprivileged loader's rules too.
    pub unprivileged: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cpu: None,
            prog_type: bpf_sys::ProgType::SocketFilter,
            unprivileged: false,
        }
    }
}

/// Which part of a checked expression value a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The value itself (truncated to the field's width after the check).
    Whole,
    /// The low 32 bits (first `lddw` slot).
    Lo32,
    /// The high 32 bits (second `lddw` slot).
    Hi32,
}

/// An instruction field: 16 bytes, so a program's slots stay compact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Known now.
    Lit(i64),
    /// A `{ expr }` the macro evaluates and checks at compile time: an index
    /// into [`Encoded::exprs`].
    Expr(u32),
}

/// A field whose value is a `{ expr }`, and the range it must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExprField {
    /// The front end's expression index.
    pub id: u32,
    /// Negate the expression's value.
    pub neg: bool,
    /// Smallest accepted value.
    pub min: i128,
    /// Largest accepted value.
    pub max: i128,
    /// Zero is refused (a divisor).
    pub nonzero: bool,
    /// What the value is, for the assertion message.
    pub what: &'static str,
    /// Which part the field takes.
    pub part: Part,
}

impl Field {
    /// The value, if known now.
    pub fn lit(self) -> Option<i64> {
        match self {
            Field::Lit(v) => Some(v),
            Field::Expr(_) => None,
        }
    }
}

/// One encoded slot; fields may still hold expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Opcode.
    pub code: Field,
    /// Destination register.
    pub dst: Field,
    /// Source register.
    pub src: Field,
    /// Offset.
    pub off: Field,
    /// Immediate.
    pub imm: Field,
}

impl Slot {
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
    pub fn insn(&self) -> Option<crate::Insn> {
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
pub struct Placed<S> {
    /// First slot.
    pub slot: usize,
    /// The form it encoded to (index into the ISA table), if it did.
    pub form: Option<usize>,
    /// Span of the mnemonic.
    pub span: S,
    /// Source line.
    pub line: u32,
    /// Normalised text.
    pub text: String,
}

/// The encoder's output.
#[derive(Clone, Debug)]
pub struct Encoded<S> {
    /// Every slot, in order.
    pub slots: Vec<Slot>,
    /// One entry per statement.
    pub stmts: Vec<Placed<S>>,
    /// `(slot, map name)` for `map_fd(NAME)` / `map_value(NAME, off)`.
    pub relocs: Vec<(usize, String)>,
    /// The `{ expr }` fields, indexed by [`Field::Expr`].
    pub exprs: Vec<ExprField>,
    /// The options in force.
    pub options: Options,
}

/// Resolves options, labels and forms, and encodes every statement,
/// collecting all errors.
pub fn encode<S: Copy>(mut parsed: Parsed<'_, S>) -> (Encoded<S>, Vec<Error<S>>) {
    let mut enc = Encoder::new();
    enc.feed(&mut parsed);
    enc.finish()
}

/// The encoder, fed parsed statements in batches (the runtime assembler
/// feeds each statement as soon as it is parsed, so a program's statements
/// are never all held at once). Jump targets are resolved in
/// [`finish`](Self::finish), once every label and the program's length are
/// known.
#[derive(Debug)]
pub struct Encoder<'a, S> {
    ctx: Ctx<'a, S>,
    slots: Vec<Slot>,
    stmts: Vec<Placed<S>>,
    /// Statements encoded so far (labels name statements by this count).
    next_stmt: usize,
    /// The first statement that ends past [`MAX_INSNS`].
    over_limit: Option<S>,
}

impl<'a, S: Copy> Default for Encoder<'a, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, S: Copy> Encoder<'a, S> {
    /// An encoder with nothing encoded.
    pub fn new() -> Self {
        Encoder {
            ctx: Ctx {
                labels: HashMap::new(),
                lddw_second: Vec::new(),
                fixups: Vec::new(),
                options: Options::default(),
                errors: Vec::new(),
                relocs: Vec::new(),
                exprs: Vec::new(),
            },
            slots: Vec::new(),
            stmts: Vec::new(),
            next_stmt: 0,
            over_limit: None,
        }
    }

    /// Reserves room for about `n` more statements.
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.stmts.reserve(n);
    }

    /// Encodes what `parsed` holds and empties it (keeping its buffers).
    pub fn feed(&mut self, parsed: &mut Parsed<'a, S>) {
        if !parsed.attrs.is_empty() {
            let mut errors = std::mem::take(&mut self.ctx.errors);
            self.ctx.options = options(&parsed.attrs, &mut errors);
            self.ctx.errors = errors;
            parsed.attrs.clear();
        }
        let mut labels = parsed.labels.drain(..).peekable();
        for s in parsed.stmts.drain(..) {
            while let Some(l) = labels.next_if(|l| l.stmt <= self.next_stmt) {
                self.ctx.define(l.name, l.span, self.slots.len());
            }
            let ops = s.operands(&parsed.ops);
            self.statement(s, ops);
        }
        // Labels after the last statement so far name the next one.
        for l in labels {
            self.ctx.define(l.name, l.span, self.slots.len());
        }
        parsed.ops.clear();
    }

    fn statement(&mut self, s: Stmt<'a, S>, ops: &[Operand<'a, S>]) {
        let slot = self.slots.len();
        let len = if s.mnem == "lddw" { 2 } else { 1 };
        if len == 2 {
            self.ctx.lddw_second.push(slot + 1);
        }
        let form = self.ctx.statement(&s, ops, slot, &mut self.slots);
        // Keep slot numbering stable after an error.
        self.slots
            .resize(slot + len, Slot::new(0, 0, 0, Field::Lit(0), Field::Lit(0)));
        if slot + len > MAX_INSNS && self.over_limit.is_none() {
            self.over_limit = Some(s.span);
        }
        self.next_stmt += 1;
        self.stmts.push(Placed {
            slot,
            form,
            span: s.span,
            line: s.line,
            text: s.text.into_owned(),
        });
    }

    /// Resolves the jump targets and returns the program and every error.
    pub fn finish(mut self) -> (Encoded<S>, Vec<Error<S>>) {
        let total = self.slots.len();
        let fixups = std::mem::take(&mut self.ctx.fixups);
        let mut names: Vec<&str> = self.ctx.labels.keys().copied().collect();
        names.sort_unstable();
        for f in fixups {
            if let Some(v) = self.ctx.resolve(&f, total, &names) {
                let field = &mut self.slots[f.slot];
                match f.field {
                    TargetField::Off => field.off = Field::Lit(v),
                    TargetField::Imm => field.imm = Field::Lit(v),
                }
            }
        }
        if let Some(span) = self.over_limit {
            self.ctx.errors.push(Error::new(
                span,
                format!(
                    "the program has {total} instructions; the kernel loads at most {MAX_INSNS}"
                ),
            ));
        }
        let ctx = self.ctx;
        (
            Encoded {
                slots: self.slots,
                stmts: self.stmts,
                relocs: ctx.relocs,
                exprs: ctx.exprs,
                options: ctx.options,
            },
            ctx.errors,
        )
    }
}

/// Which field a jump target fills.
#[derive(Clone, Copy, Debug)]
enum TargetField {
    Off,
    Imm,
}

/// A jump or call target, resolved when the program is complete.
#[derive(Debug)]
struct Fixup<'a, S> {
    /// The instruction's first slot.
    slot: usize,
    field: TargetField,
    /// The label, or the written relative offset.
    target: Result<&'a str, i128>,
    span: S,
    range: (i128, i128),
    /// Advice when the offset does not fit.
    hint: &'static str,
}

fn options<S: Copy>(attrs: &[Attr<'_, S>], errors: &mut Vec<Error<S>>) -> Options {
    let mut o = Options::default();
    for a in attrs {
        match (a.key, a.value) {
            ("cpu", Some((v, span))) => match v {
                "v1" | "v2" | "v3" | "v4" => o.cpu = v[1..].parse().ok(),
                _ => errors.push(Error::new(
                    span,
                    format!("unknown cpu `{v}`: expected v1, v2, v3 or v4"),
                )),
            },
            ("prog_type", Some((v, span))) => match bpf_sys::ProgType::from_name(v) {
                Some(t) => o.prog_type = t,
                None => {
                    let near = nearest(v, bpf_sys::ProgType::ALL.iter().map(|t| t.name()), 3);
                    errors.push(Error::new(
                        span,
                        format!(
                            "unknown program type `{v}`: expected a `bpf_prog_type` name without \
                             the `BPF_PROG_TYPE_` prefix, in lower case{}",
                            did_you_mean(&near)
                        ),
                    ));
                }
            },
            ("unprivileged", None) => o.unprivileged = true,
            ("cpu" | "prog_type", None) => errors.push(Error::new(
                a.span,
                format!("`#![{}]` needs a value: `#![{} = ...]`", a.key, a.key),
            )),
            ("unprivileged", Some((_, span))) => {
                errors.push(Error::new(span, "`#![unprivileged]` takes no value"))
            }
            (key, _) => {
                let near = nearest(key, ["cpu", "prog_type", "unprivileged"], 3);
                errors.push(Error::new(
                    a.span,
                    format!(
                        "unknown attribute `{key}`: expected `cpu = vN`, `prog_type = NAME` or \
                         `unprivileged`{}",
                        did_you_mean(&near)
                    ),
                ));
            }
        }
    }
    o
}

#[derive(Debug)]
struct Ctx<'a, S> {
    /// Label name to slot.
    labels: HashMap<&'a str, usize>,
    /// Second slots of `lddw`s, ascending.
    lddw_second: Vec<usize>,
    fixups: Vec<Fixup<'a, S>>,
    options: Options,
    errors: Vec<Error<S>>,
    relocs: Vec<(usize, String)>,
    exprs: Vec<ExprField>,
}

/// The operand list a shape takes, for "expected one of" messages.
pub fn signature(form: &Form) -> String {
    let ops = match form.shape {
        Shape::AluK => "dst, imm",
        Shape::AluX | Shape::MovSx => "dst, src",
        Shape::Unary => "dst",
        Shape::AddrSpaceCast => "dst, src, dst_as, src_as",
        Shape::Lddw => match form.pseudo {
            "" => "dst, imm64",
            "map_fd" => "dst, map_fd(NAME or fd)",
            "map_value" => "dst, map_value(NAME or fd, off)",
            "btf_id" => "dst, btf_id(id)",
            "func" => "dst, func(target)",
            "map_idx" => "dst, map_idx(index)",
            _ => "dst, map_idx_value(index, off)",
        },
        Shape::LdAbs => "imm",
        Shape::LdInd => "src, imm",
        Shape::Load => "dst, [src + off]",
        Shape::StoreImm => "[dst + off], imm",
        Shape::StoreReg => "[dst + off], src",
        Shape::Ja | Shape::Ja32 | Shape::CallLocal => "target",
        Shape::JmpK => "dst, imm, target",
        Shape::JmpX => "dst, src, target",
        Shape::Call => "helper_name | helper_id",
        Shape::CallKfunc => "btf_id",
        Shape::Exit => "",
        Shape::Raw => "code, dst, src, off, imm",
    };
    if ops.is_empty() {
        form.name.to_owned()
    } else {
        format!("{} {ops}", form.name)
    }
}

/// Whether the operands' kinds fit the shape (values are checked later).
fn fits<S>(form: &Form, ops: &[Operand<'_, S>]) -> bool {
    use Operand::*;
    let target = |o: &Operand<'_, S>| matches!(o, Num { .. } | Name(..));
    let num_or_reg = |o: &Operand<'_, S>| matches!(o, Num { .. } | Reg(..));
    match (form.shape, ops) {
        (Shape::AluK, [Reg(..), Num { .. }]) => true,
        (Shape::AluX | Shape::MovSx, [Reg(..), Reg(..)]) => true,
        (Shape::Unary, [Reg(..)]) => true,
        (Shape::AddrSpaceCast, [Reg(..), Reg(..), Num { .. }, Num { .. }]) => true,
        (Shape::Lddw, [Reg(..), Num { .. }]) => form.pseudo.is_empty(),
        (Shape::Lddw, [Reg(..), Call { name, .. }]) => *name == form.pseudo,
        (Shape::LdAbs, [Num { .. }]) => true,
        (Shape::LdInd, [Reg(..), Num { .. }]) => true,
        (Shape::Load, [Reg(..), Mem { .. }]) => true,
        (Shape::StoreImm, [Mem { .. }, Num { .. }]) => true,
        (Shape::StoreReg, [Mem { .. }, Reg(..)]) => true,
        (Shape::Ja | Shape::Ja32 | Shape::CallLocal, [t]) => target(t),
        (Shape::JmpK, [Reg(..), Num { .. }, t]) => target(t),
        (Shape::JmpX, [Reg(..), Reg(..), t]) => target(t),
        (Shape::Call, [Num { .. } | Name(..)]) => true,
        (Shape::CallKfunc, [Num { .. }]) => true,
        (Shape::Exit, []) => true,
        (Shape::Raw, [a, b, c, Num { .. }, Num { .. }]) => {
            num_or_reg(a) && num_or_reg(b) && num_or_reg(c)
        }
        _ => false,
    }
}

const I16: (i128, i128) = (i16::MIN as i128, i16::MAX as i128);
const I32: (i128, i128) = (i32::MIN as i128, i32::MAX as i128);
const B32: (i128, i128) = (i32::MIN as i128, u32::MAX as i128);

impl<'a, S: Copy> Ctx<'a, S> {
    fn define(&mut self, name: &'a str, span: S, slot: usize) {
        if self.labels.insert(name, slot).is_some() {
            self.err(span, format!("label `{name}` is defined more than once"));
        }
    }

    fn err(&mut self, span: S, msg: impl Into<String>) {
        self.errors.push(Error::new(span, msg));
    }

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
        let Some(&fi) = candidates.iter().find(|&&i| fits(&isa.forms[i], ops)) else {
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
        if let Some(cpu) = self.options.cpu
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
        let before = self.errors.len();
        let (first, second) = self.encode_form(form, s, ops, slot);
        if self.errors.len() == before {
            out.push(first);
            out.extend(second);
        }
        Some(fi)
    }

    /// The instruction's slot, and its second slot for `lddw`.
    fn encode_form(
        &mut self,
        f: &Form,
        s: &Stmt<'a, S>,
        ops: &[Operand<'a, S>],
        slot: usize,
    ) -> (Slot, Option<Slot>) {
        use Operand::*;
        let lit = |v: i64| Field::Lit(v);
        let z = Field::Lit(0);
        let imm_of = |f: &Form| Field::Lit(i64::from(f.imm));
        let off_of = |f: &Form| Field::Lit(i64::from(f.off));
        let one = |sl: Slot| (sl, None);
        match (f.shape, ops) {
            (Shape::AluK, [Reg(d, ds), Num { value, span, .. }]) => {
                self.writes(*d, *ds);
                let imm = self.imm(f, *value, *span);
                one(Slot::new(f.code, *d, 0, off_of(f), imm))
            }
            (Shape::AluX | Shape::MovSx, [Reg(d, ds), Reg(r, _)]) => {
                self.writes(*d, *ds);
                one(Slot::new(f.code, *d, *r, off_of(f), z))
            }
            (Shape::Unary, [Reg(d, ds)]) => {
                self.writes(*d, *ds);
                one(Slot::new(f.code, *d, 0, z, imm_of(f)))
            }
            (
                Shape::AddrSpaceCast,
                [
                    Reg(d, ds),
                    Reg(r, _),
                    Num {
                        value: a, span: sa, ..
                    },
                    Num {
                        value: b, span: sb, ..
                    },
                ],
            ) => {
                self.writes(*d, *ds);
                let a = self.value(*a, *sa, (0, 0xffff), "an address space (0 to 65535)", false);
                let b = self.value(*b, *sb, (0, 0xffff), "an address space (0 to 65535)", false);
                let imm = match (a, b) {
                    (Field::Lit(a), Field::Lit(b)) => lit((a << 16 | b) as i32 as i64),
                    _ => {
                        self.err(*sa, "`addr_space_cast` takes literal address spaces");
                        z
                    }
                };
                one(Slot::new(f.code, *d, *r, off_of(f), imm))
            }
            (Shape::Lddw, [Reg(d, ds), op]) => {
                self.writes(*d, *ds);
                let (lo, hi) = self.lddw_operand(f, op, slot);
                (
                    Slot::new(f.code, *d, f.src, z, lo),
                    Some(Slot::new(0, 0, 0, z, hi)),
                )
            }
            (Shape::LdAbs, [Num { value, span, .. }]) => {
                let imm = self.value(*value, *span, B32, "a packet offset (32 bits)", false);
                one(Slot::new(f.code, 0, 0, z, imm))
            }
            (Shape::LdInd, [Reg(r, _), Num { value, span, .. }]) => {
                let imm = self.value(*value, *span, B32, "a packet offset (32 bits)", false);
                one(Slot::new(f.code, 0, *r, z, imm))
            }
            (Shape::Load, [Reg(d, ds), m @ Mem { reg, .. }]) => {
                self.writes(*d, *ds);
                let off = self.mem(f, m);
                one(Slot::new(f.code, *d, *reg, off, imm_of(f)))
            }
            (Shape::StoreImm, [m @ Mem { reg, .. }, Num { value, span, .. }]) => {
                let off = self.mem(f, m);
                let imm = self.imm(f, *value, *span);
                one(Slot::new(f.code, *reg, 0, off, imm))
            }
            (Shape::StoreReg, [m @ Mem { reg, .. }, Reg(r, rs)]) => {
                let off = self.mem(f, m);
                if f.writes_src() {
                    self.writes(*r, *rs);
                }
                one(Slot::new(f.code, *reg, *r, off, imm_of(f)))
            }
            (Shape::Ja, [t]) => {
                let off = self.target(t, slot, TargetField::Off, I16, s);
                one(Slot::new(f.code, 0, f.src, lit(off), z))
            }
            (Shape::Ja32, [t]) => {
                let imm = self.target(t, slot, TargetField::Imm, I32, s);
                one(Slot::new(f.code, 0, 0, z, lit(imm)))
            }
            (Shape::JmpK, [Reg(d, _), Num { value, span, .. }, t]) => {
                let imm = self.imm(f, *value, *span);
                let off = self.target(t, slot, TargetField::Off, I16, s);
                one(Slot::new(f.code, *d, 0, lit(off), imm))
            }
            (Shape::JmpX, [Reg(d, _), Reg(r, _), t]) => {
                let off = self.target(t, slot, TargetField::Off, I16, s);
                one(Slot::new(f.code, *d, *r, lit(off), z))
            }
            (Shape::Call, [op]) => {
                let imm = self.helper(op);
                one(Slot::new(f.code, 0, f.src, z, imm))
            }
            (Shape::CallLocal, [t]) => {
                let imm = self.target(t, slot, TargetField::Imm, I32, s);
                one(Slot::new(f.code, 0, f.src, z, lit(imm)))
            }
            (Shape::CallKfunc, [Num { value, span, .. }]) => {
                let imm = self.value(*value, *span, B32, "a BTF id (32 bits)", false);
                one(Slot::new(f.code, 0, f.src, z, imm))
            }
            (Shape::Exit, []) => one(Slot::new(f.code, 0, 0, z, z)),
            (
                Shape::Raw,
                [
                    c,
                    d,
                    r,
                    Num {
                        value: o, span: os, ..
                    },
                    Num {
                        value: i, span: is, ..
                    },
                ],
            ) => {
                let code = self.raw_field(c, (0, 255), "an opcode (0 to 255)");
                let dst = self.raw_field(d, (0, 15), "a register number (0 to 15)");
                let src = self.raw_field(r, (0, 15), "a register number (0 to 15)");
                let off = self.value(*o, *os, I16, "a 16-bit offset", false);
                let imm = self.value(*i, *is, B32, "a 32-bit immediate", false);
                one(Slot {
                    code,
                    dst,
                    src,
                    off,
                    imm,
                })
            }
            _ => {
                self.err(s.span, "internal error: form matched but did not encode");
                one(Slot::new(0, 0, 0, z, z))
            }
        }
    }

    fn expr(&mut self, e: ExprField) -> Field {
        let i = u32::try_from(self.exprs.len()).unwrap_or(u32::MAX);
        self.exprs.push(e);
        Field::Expr(i)
    }

    /// A register the instruction writes: r10 is read-only.
    fn writes(&mut self, reg: u8, span: S) {
        if reg == 10 {
            self.err(
                span,
                "r10 is the read-only frame pointer and cannot be written; use r0 to r9",
            );
        }
    }

    fn raw_field(&mut self, op: &Operand<'a, S>, range: (i128, i128), what: &'static str) -> Field {
        match op {
            Operand::Reg(r, _) => Field::Lit(i64::from(*r)),
            Operand::Num { value, span, .. } => self.value(*value, *span, range, what, false),
            other => {
                self.err(other.span(), format!("expected {what}"));
                Field::Lit(0)
            }
        }
    }

    /// A checked number field.
    fn value(
        &mut self,
        v: Value,
        span: S,
        (min, max): (i128, i128),
        what: &'static str,
        nonzero: bool,
    ) -> Field {
        match v {
            Value::Lit(x) => {
                let x = x.get();
                if x < min || x > max {
                    self.err(
                        span,
                        format!("{} is out of range: expected {what}", show(x)),
                    );
                } else if nonzero && x == 0 {
                    self.err(span, format!("0 is not allowed here: expected {what}"));
                }
                Field::Lit(x as i64)
            }
            Value::Expr { id, neg } => self.expr(ExprField {
                id,
                neg,
                min,
                max,
                nonzero,
                what,
                part: Part::Whole,
            }),
        }
    }

    /// An ALU or jump immediate under the form's rule.
    fn imm(&mut self, f: &Form, v: Value, span: S) -> Field {
        let (range, what, nonzero): ((i128, i128), &'static str, bool) = match f.rule {
            ImmRule::Sext => (I32, "a 32-bit immediate, sign-extended to 64 bits", false),
            ImmRule::Bits32 => (B32, "a 32-bit immediate", false),
            ImmRule::Shift(63) => (
                (0, 63),
                "a shift amount from 0 to 63 for a 64-bit shift",
                false,
            ),
            ImmRule::Shift(_) => (
                (0, 31),
                "a shift amount from 0 to 31 for a 32-bit shift",
                false,
            ),
            ImmRule::Divisor(true) => (
                I32,
                "a non-zero divisor (32 bits, sign-extended to 64)",
                true,
            ),
            ImmRule::Divisor(false) => (B32, "a non-zero 32-bit divisor", true),
        };
        if let Value::Lit(x) = v {
            let x = x.get();
            let sext = matches!(f.rule, ImmRule::Sext | ImmRule::Divisor(true));
            if sext && x > I32.1 && x <= B32.1 {
                let as_written = x as u32 as i32;
                let (op32, why) = match f.shape {
                    Shape::JmpK => (format!("{}32", f.name), "compare against"),
                    Shape::StoreImm => ("stw".to_owned(), "store"),
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
            if nonzero && x == 0 {
                let verb = if f.name.contains("mod") {
                    "modulo"
                } else {
                    "division"
                };
                self.err(
                    span,
                    format!("{verb} by the constant 0: the kernel rejects it (`{}` needs a non-zero immediate)", f.name),
                );
                return Field::Lit(0);
            }
        }
        self.value(v, span, range, what, nonzero)
    }

    fn mem(&mut self, f: &Form, m: &Operand<'a, S>) -> Field {
        let Operand::Mem {
            reg, off, off_span, ..
        } = m
        else {
            return Field::Lit(0);
        };
        let field = self.value(
            *off,
            *off_span,
            I16,
            "a 16-bit offset (-32768 to 32767)",
            false,
        );
        if *reg == 10
            && let Field::Lit(o) = field
        {
            let size = f.access_size();
            if o < -512 || o + size > 0 {
                self.err(
                    *off_span,
                    format!(
                        "stack access [r10 {} {}] of {size} bytes is outside the 512-byte stack: \
                         offsets go from -512 to -{size}",
                        if o < 0 { '-' } else { '+' },
                        o.unsigned_abs()
                    ),
                );
            } else if o % size != 0 {
                self.err(
                    *off_span,
                    format!(
                        "misaligned stack access: a {size}-byte access needs an offset that is a \
                         multiple of {size} (for example {})",
                        o - o.rem_euclid(size)
                    ),
                );
            }
        }
        field
    }

    fn lddw_operand(&mut self, f: &Form, op: &Operand<'a, S>, slot: usize) -> (Field, Field) {
        let z = Field::Lit(0);
        let split = |v: i64| {
            (
                Field::Lit(v as i32 as i64),
                Field::Lit((v >> 32) as i32 as i64),
            )
        };
        match (f.pseudo, op) {
            ("", Operand::Num { value, span, .. }) => match *value {
                Value::Lit(x) => {
                    let x = x.get();
                    if x < i128::from(i64::MIN) {
                        self.err(*span, format!("{} does not fit in 64 bits", show(x)));
                    }
                    split(x as i64)
                }
                Value::Expr { id, neg } => {
                    let e = |part| ExprField {
                        id,
                        neg,
                        min: i128::from(i64::MIN),
                        max: i128::from(u64::MAX),
                        nonzero: false,
                        what: "a 64-bit immediate",
                        part,
                    };
                    (self.expr(e(Part::Lo32)), self.expr(e(Part::Hi32)))
                }
            },
            ("map_fd" | "map_value", Operand::Call { args, span, name }) => {
                let with_off = *name == "map_value";
                let want = if with_off { 2 } else { 1 };
                if args.len() != want {
                    self.err(
                        *span,
                        format!(
                            "`{name}` takes {}",
                            if with_off {
                                "a map name (or fd) and an offset: `map_value(NAME, off)`"
                            } else {
                                "a map name or fd: `map_fd(NAME)`"
                            }
                        ),
                    );
                    return (z, z);
                }
                let lo = match &args[0] {
                    Operand::Name(map, _) => {
                        self.relocs.push((slot, (*map).to_owned()));
                        z
                    }
                    Operand::Num { value, span, .. } => {
                        self.value(*value, *span, (0, I32.1), "a map fd (0 to 2^31-1)", false)
                    }
                    other => {
                        self.err(other.span(), "expected a map name or a map fd");
                        z
                    }
                };
                let hi = if with_off {
                    self.num_arg(&args[1], B32, "a 32-bit offset into the map value")
                } else {
                    z
                };
                (lo, hi)
            }
            ("btf_id" | "map_idx", Operand::Call { args, span, name }) => match args.as_slice() {
                [a] => (self.num_arg(a, B32, "a 32-bit id or index"), z),
                _ => {
                    self.err(*span, format!("`{name}` takes one number: `{name}(N)`"));
                    (z, z)
                }
            },
            ("map_idx_value", Operand::Call { args, span, .. }) => match args.as_slice() {
                [a, b] => (
                    self.num_arg(a, B32, "a 32-bit map index"),
                    self.num_arg(b, B32, "a 32-bit offset into the map value"),
                ),
                _ => {
                    self.err(
                        *span,
                        "`map_idx_value` takes an index and an offset: `map_idx_value(N, off)`",
                    );
                    (z, z)
                }
            },
            ("func", Operand::Call { args, span, .. }) => match args.as_slice() {
                [t] => {
                    let imm = self.target_op(t, slot, TargetField::Imm, I32, "func");
                    (Field::Lit(imm), z)
                }
                _ => {
                    self.err(
                        *span,
                        "`func` takes one target: `func(label)` or `func(+N)`",
                    );
                    (z, z)
                }
            },
            _ => (z, z),
        }
    }

    fn num_arg(&mut self, op: &Operand<'a, S>, range: (i128, i128), what: &'static str) -> Field {
        match op {
            Operand::Num { value, span, .. } => self.value(*value, *span, range, what, false),
            other => {
                self.err(other.span(), format!("expected {what}"));
                Field::Lit(0)
            }
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
                let before = self.errors.len();
                let f = self.value(*value, *span, B32, "a helper id (32 bits)", false);
                if let Field::Lit(id) = f {
                    let known = u32::try_from(id).ok().and_then(bpf_sys::helper_name);
                    if known.is_none() && self.errors.len() == before {
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
                }
                f
            }
            other => {
                self.err(other.span(), "expected a helper name or id");
                Field::Lit(0)
            }
        }
    }

    fn target(
        &mut self,
        t: &Operand<'a, S>,
        slot: usize,
        field: TargetField,
        range: (i128, i128),
        s: &Stmt<'a, S>,
    ) -> i64 {
        self.target_op(t, slot, field, range, &s.mnem)
    }

    /// Records a jump or call target for [`resolve`](Self::resolve); the
    /// field holds 0 until then.
    fn target_op(
        &mut self,
        t: &Operand<'a, S>,
        slot: usize,
        field: TargetField,
        range: (i128, i128),
        mnem: &str,
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
        let hint = match mnem {
            "ja" => "; use `ja32` (a 32-bit offset) for long jumps",
            "may_goto" => "",
            _ if range.1 == I16.1 => {
                "; invert the condition to jump over a `ja32`, which takes a 32-bit offset"
            }
            _ => "",
        };
        self.fixups.push(Fixup {
            slot,
            field,
            target,
            span,
            range,
            hint,
        });
        0
    }

    /// The offset of a recorded target from the next slot, or an error.
    fn resolve(&mut self, f: &Fixup<'a, S>, total: usize, names: &[&str]) -> Option<i64> {
        let (dest, is_label) = match f.target {
            Ok(name) => match self.labels.get(name) {
                Some(&d) => (d as i128, true),
                None => {
                    let near = nearest(name, names.iter().copied(), 3);
                    self.err(
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
            self.err(f.span, format!("this target {what}"));
            return None;
        }
        if self.lddw_second.binary_search(&(dest as usize)).is_ok() {
            self.err(
                f.span,
                format!("this target is slot {dest}, the second half of an `lddw`: jump to the `lddw` itself"),
            );
            return None;
        }
        let (min, max) = f.range;
        if off < min || off > max {
            let bits = if max == I16.1 {
                "16 bits (-32768 to 32767)"
            } else {
                "32 bits"
            };
            self.err(
                f.span,
                format!("jump offset {off} does not fit in {bits}{}", f.hint),
            );
            return None;
        }
        Some(off as i64)
    }
}

fn show(x: i128) -> String {
    if x > 9 {
        format!("{x} ({x:#x})")
    } else {
        x.to_string()
    }
}
