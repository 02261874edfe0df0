//! Tokens to statements: labels, mnemonics and operands, plus the inner
//! attributes. The parser knows the operand syntax, not the instructions:
//! matching operands to forms is the encoder's job, driven by the ISA table.

use std::borrow::Cow;

use crate::diag::Diagnostics;
use crate::token::{Tok, TokKind};

/// A number operand: a literal, or a `{ expr }` the macro evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A literal as written: any 64-bit magnitude with a sign.
    Lit(Lit),
    /// The front end's expression `id`, negated when written `-{ expr }`.
    Expr {
        /// Index in the front end's side table.
        id: u32,
        /// Written with a leading `-`.
        neg: bool,
    },
}

/// A literal: sign and magnitude, 16 bytes where an `i128` would take 32
/// (operands are the parser's bulkiest data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lit {
    neg: bool,
    mag: u64,
}

impl Lit {
    /// The literal `-mag` or `mag`.
    pub(crate) fn new(neg: bool, mag: u64) -> Self {
        Lit { neg, mag }
    }

    /// Its value.
    pub(crate) fn get(self) -> i128 {
        if self.neg {
            -i128::from(self.mag)
        } else {
            i128::from(self.mag)
        }
    }
}

/// One operand as written.
#[derive(Clone, Debug)]
pub(crate) enum Operand<'a, S> {
    /// `rN` or `%rN`.
    Reg(u8, S),
    /// A number.
    Num {
        /// The value.
        value: Value,
        /// Where.
        span: S,
    },
    /// `[rN]`, `[rN + off]`, `[rN - off]`.
    Mem {
        /// Base register.
        reg: u8,
        /// Offset (0 when absent).
        off: Value,
        /// Span of the offset's number (the register's when absent).
        off_span: S,
        /// Span of the register.
        reg_span: S,
        /// Span of the opening bracket.
        span: S,
    },
    /// A bare name: a label, a helper, a keyword.
    Name(&'a str, S),
    /// `name(args)`: an `lddw` pseudo operand such as `map_fd(NAME)`.
    Call {
        /// The keyword.
        name: &'a str,
        /// The arguments.
        args: Vec<Operand<'a, S>>,
        /// Span of the keyword.
        span: S,
    },
}

impl<S: Copy> Operand<'_, S> {
    /// Where the operand starts.
    pub(crate) fn span(&self) -> S {
        match self {
            Operand::Reg(_, s) | Operand::Name(_, s) => *s,
            Operand::Num { span, .. } | Operand::Mem { span, .. } | Operand::Call { span, .. } => {
                *span
            }
        }
    }

    /// A short description for error messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Operand::Reg(..) => "a register",
            Operand::Num { .. } => "a number",
            Operand::Mem { .. } => "a memory operand",
            Operand::Name(..) => "a name",
            Operand::Call { .. } => "a pseudo operand",
        }
    }
}

/// One instruction as written.
#[derive(Clone, Debug)]
pub(crate) struct Stmt<'a, S> {
    /// The mnemonic, words joined by one space (`lock fetch add`).
    pub(crate) mnem: Cow<'a, str>,
    /// Span of the mnemonic's first word.
    pub(crate) span: S,
    /// The operands: a range of [`Parsed::ops`] (one vector for the whole
    /// program, not one per statement).
    pub(crate) ops: std::ops::Range<u32>,
    /// 1-based source line.
    pub(crate) line: u32,
    /// The statement's text: as written for text input, normalised from the
    /// tokens in the macro.
    pub(crate) text: Cow<'a, str>,
}

/// A label definition: `name:` before statement `stmt`.
#[derive(Clone, Debug)]
pub(crate) struct Label<'a, S> {
    /// The name.
    pub(crate) name: &'a str,
    /// Where.
    pub(crate) span: S,
    /// The index of the statement it names, counting from the program's
    /// first statement (the number of statements when it ends the program).
    pub(crate) stmt: usize,
}

/// An inner attribute `#![key]`, `#![key = value]` or `#![key(args)]`.
#[derive(Clone, Debug)]
pub(crate) struct Attr<'a, S> {
    /// The key.
    pub(crate) key: &'a str,
    /// Span of the key.
    pub(crate) span: S,
    /// The value, if any, with its span.
    pub(crate) value: Option<(&'a str, S)>,
    /// The arguments of `#![key(...)]`, if written with parentheses.
    pub(crate) args: Option<Vec<AttrArg<'a, S>>>,
}

/// One argument of `#![key(...)]`: `name`, `name: value` or `name = value`,
/// where a value is one or more words or integers joined by `|`.
#[derive(Clone, Debug)]
pub(crate) struct AttrArg<'a, S> {
    /// The name.
    pub(crate) name: &'a str,
    /// Span of the name.
    pub(crate) span: S,
    /// `:` or `=`, if a value follows.
    pub(crate) sep: Option<char>,
    /// The value's parts, with their spans.
    pub(crate) value: Vec<(&'a str, S)>,
}

/// A parsed program.
#[derive(Clone, Debug)]
pub(crate) struct Parsed<'a, S> {
    /// Inner attributes.
    pub(crate) attrs: Vec<Attr<'a, S>>,
    /// Statements in order.
    pub(crate) stmts: Vec<Stmt<'a, S>>,
    /// Label definitions in order.
    pub(crate) labels: Vec<Label<'a, S>>,
    /// Every statement's operands, in order.
    pub(crate) ops: Vec<Operand<'a, S>>,
}

impl<'a, S> Stmt<'a, S> {
    /// This statement's operands within `all`, the program's
    /// [`Parsed::ops`].
    pub(crate) fn operands<'p>(&self, all: &'p [Operand<'a, S>]) -> &'p [Operand<'a, S>] {
        all.get(self.ops.start as usize..self.ops.end as usize)
            .unwrap_or_default()
    }
}

/// A cursor over one batch of tokens, reporting into the sink.
struct Cursor<'t, 'd, 'a, S> {
    toks: &'t [Tok<'a, S>],
    source: Option<&'a str>,
    pos: usize,
    end_span: S,
    diag: &'d mut Diagnostics<S>,
}

/// A parse fed piecewise: [`feed`](Self::feed) takes any number of whole
/// statements at a time (the runtime assembler feeds one at a time from its
/// lexer), [`finish`](Self::finish) returns what is left.
#[derive(Debug)]
pub(crate) struct Parser<'a, S> {
    out: Parsed<'a, S>,
    /// Statements and labels parsed so far, including any taken out of
    /// `out` by [`parsed_mut`](Self::parsed_mut).
    stmts_seen: usize,
    labels_seen: usize,
    source: Option<&'a str>,
}

impl<'a, S: Copy> Parser<'a, S> {
    /// An empty parse. With the `source` the tokens were lexed from,
    /// statement texts are sliced from it instead of rebuilt from tokens.
    pub(crate) fn new(source: Option<&'a str>) -> Self {
        Parser {
            out: Parsed {
                attrs: Vec::new(),
                stmts: Vec::new(),
                labels: Vec::new(),
                ops: Vec::new(),
            },
            source,
            stmts_seen: 0,
            labels_seen: 0,
        }
    }

    /// What has been parsed so far, for a consumer that takes statements
    /// out as they come (labels count statements from the start, so taking
    /// them out does not renumber anything).
    pub(crate) fn parsed_mut(&mut self) -> &mut Parsed<'a, S> {
        &mut self.out
    }

    /// Parses `toks`, which must end at a statement boundary; `end_span`
    /// locates errors where the tokens run out.
    pub(crate) fn feed(&mut self, toks: &[Tok<'a, S>], end_span: S, diag: &mut Diagnostics<S>) {
        let mut p = Cursor {
            toks,
            source: self.source,
            pos: 0,
            end_span,
            diag,
        };
        let out = &mut self.out;
        while p.pos < toks.len() {
            p.skip_ends();
            let Some(t) = p.peek(0) else { break };
            if p.is_punct(0, '#') && p.is_punct(1, '!') {
                if self.stmts_seen == 0 && self.labels_seen == 0 {
                    match p.attr() {
                        Some(a) => out.attrs.push(a),
                        None => p.recover(),
                    }
                } else {
                    p.diag.push(
                        t.span,
                        "inner attributes `#![...]` must come before the first instruction",
                    );
                    p.recover();
                }
                continue;
            }
            if t.kind == TokKind::Ident && p.is_punct(1, ':') && !p.is_punct(2, ':') {
                out.labels.push(Label {
                    name: t.text,
                    span: t.span,
                    stmt: self.stmts_seen,
                });
                self.labels_seen += 1;
                p.pos += 2;
                continue;
            }
            let mark = out.ops.len();
            match p.stmt(&mut out.ops) {
                Some(s) => {
                    out.stmts.push(s);
                    self.stmts_seen += 1;
                }
                None => {
                    out.ops.truncate(mark);
                    p.recover();
                }
            }
        }
    }

    /// The statements, labels and attributes not taken out yet.
    pub(crate) fn finish(self) -> Parsed<'a, S> {
        self.out
    }
}

impl<'a, S: Copy> Cursor<'_, '_, 'a, S> {
    fn peek(&self, n: usize) -> Option<&Tok<'a, S>> {
        self.toks.get(self.pos + n)
    }

    fn span(&self, n: usize) -> S {
        self.peek(n).map_or(self.end_span, |t| t.span)
    }

    fn is_punct(&self, n: usize, c: char) -> bool {
        self.peek(n).is_some_and(|t| t.kind == TokKind::Punct(c))
    }

    fn at_end(&self) -> bool {
        self.peek(0).is_none_or(|t| t.kind == TokKind::End)
    }

    fn skip_ends(&mut self) {
        while self.peek(0).is_some_and(|t| t.kind == TokKind::End) {
            self.pos += 1;
        }
    }

    /// Skips to the end of the statement after an error.
    fn recover(&mut self) {
        while !self.at_end() {
            self.pos += 1;
        }
    }

    fn err<T>(&mut self, n: usize, msg: impl Into<String>) -> Option<T> {
        let span = self.span(n);
        self.diag.push(span, msg);
        None
    }

    fn expect_punct(&mut self, c: char, what: &str) -> Option<()> {
        if self.is_punct(0, c) {
            self.pos += 1;
            Some(())
        } else {
            let found = self.found(0);
            self.err(0, format!("expected `{c}` {what}, found {found}"))
        }
    }

    fn found(&self, n: usize) -> String {
        match self.peek(n) {
            None => "the end of the program".to_owned(),
            Some(t) if t.kind == TokKind::End => "the end of the statement".to_owned(),
            Some(t) if matches!(t.kind, TokKind::Expr(_)) => "`{ ... }`".to_owned(),
            Some(t) => format!("`{}`", t.text),
        }
    }

    fn attr(&mut self) -> Option<Attr<'a, S>> {
        self.pos += 2; // `#` `!`
        self.expect_punct('[', "to open the attribute")?;
        let key = match self.peek(0) {
            Some(t) if t.kind == TokKind::Ident => *t,
            _ => {
                let found = self.found(0);
                return self.err(0, format!("expected an attribute name, found {found}"));
            }
        };
        self.pos += 1;
        let mut value = None;
        let mut args = None;
        if self.is_punct(0, '(') {
            self.pos += 1;
            args = Some(self.attr_args()?);
        } else if self.is_punct(0, '=') {
            self.pos += 1;
            match self.peek(0) {
                Some(t) if matches!(t.kind, TokKind::Ident | TokKind::Int) => {
                    value = Some((t.text, t.span));
                    self.pos += 1;
                }
                _ => {
                    let found = self.found(0);
                    return self.err(0, format!("expected a value after `=`, found {found}"));
                }
            }
        }
        self.expect_punct(']', "to close the attribute")?;
        Some(Attr {
            key: key.text,
            span: key.span,
            value,
            args,
        })
    }

    /// `name[: or = value], ...)`, after the `(`.
    fn attr_args(&mut self) -> Option<Vec<AttrArg<'a, S>>> {
        let mut args = Vec::new();
        loop {
            if self.is_punct(0, ')') {
                self.pos += 1;
                return Some(args);
            }
            let name = match self.peek(0) {
                Some(t) if t.kind == TokKind::Ident => *t,
                _ => {
                    let found = self.found(0);
                    return self.err(0, format!("expected a name, found {found}"));
                }
            };
            self.pos += 1;
            let sep = [':', '='].into_iter().find(|&c| self.is_punct(0, c));
            let mut value = Vec::new();
            if sep.is_some() {
                self.pos += 1;
                loop {
                    match self.peek(0) {
                        Some(t) if matches!(t.kind, TokKind::Ident | TokKind::Int) => {
                            value.push((t.text, t.span));
                            self.pos += 1;
                        }
                        _ => {
                            let found = self.found(0);
                            return self
                                .err(0, format!("expected a name or a number, found {found}"));
                        }
                    }
                    if !self.is_punct(0, '|') {
                        break;
                    }
                    self.pos += 1;
                }
            }
            args.push(AttrArg {
                name: name.text,
                span: name.span,
                sep,
                value,
            });
            if self.is_punct(0, ',') {
                self.pos += 1;
            } else if !self.is_punct(0, ')') {
                let found = self.found(0);
                return self.err(0, format!("expected `,` or `)`, found {found}"));
            }
        }
    }

    fn stmt(&mut self, ops: &mut Vec<Operand<'a, S>>) -> Option<Stmt<'a, S>> {
        let first = match self.peek(0) {
            Some(t) if t.kind == TokKind::Ident => *t,
            _ => {
                let found = self.found(0);
                return self.err(
                    0,
                    format!("expected an instruction mnemonic, found {found}"),
                );
            }
        };
        let start = self.pos;
        self.pos += 1;
        let mut mnem = Cow::Borrowed(first.text);
        // Multi-word mnemonics: `lock [fetch] op`, `call local`, `call kfunc`.
        if first.text == "lock" {
            while let Some(t) = self.peek(0) {
                if t.kind != TokKind::Ident {
                    break;
                }
                let m = mnem.to_mut();
                m.push(' ');
                m.push_str(t.text);
                self.pos += 1;
            }
        } else if first.text == "call"
            && self
                .peek(0)
                .is_some_and(|t| matches!(t.text, "local" | "kfunc" | "runtime" | "helper"))
            && self.peek(1).is_some_and(|t| t.kind != TokKind::End)
        {
            let word = self.peek(0).map_or("", |t| t.text);
            if word != "helper" {
                let m = mnem.to_mut();
                m.push(' ');
                m.push_str(word);
            }
            self.pos += 1;
        }
        let first_op = ops.len();
        if !self.at_end() {
            loop {
                ops.push(self.operand()?);
                if self.at_end() {
                    break;
                }
                if self.is_punct(0, ',') {
                    self.pos += 1;
                    continue;
                }
                let found = self.found(0);
                return self.err(
                    0,
                    format!("expected `,` or the end of the statement (`;`), found {found}"),
                );
            }
        }
        let toks = &self.toks[start..self.pos];
        let text = self
            .source
            .and_then(|src| source_slice(src, toks))
            .map_or_else(|| Cow::Owned(render(toks)), Cow::Borrowed);
        Some(Stmt {
            mnem,
            span: first.span,
            ops: index(first_op)..index(ops.len()),
            line: first.line,
            text,
        })
    }

    fn reg_number(&mut self, n: usize) -> Option<Option<u8>> {
        let t = self.peek(n)?;
        if t.kind != TokKind::Ident {
            return None;
        }
        let digits = t.text.strip_prefix('r')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match digits.parse::<u8>() {
            Ok(r) if r <= 10 => Some(Some(r)),
            _ => {
                let text = t.text;
                self.err::<()>(
                    n,
                    format!("no register `{text}`: registers are r0 to r10 (r10 is the read-only frame pointer)"),
                );
                Some(None)
            }
        }
    }

    fn register(&mut self) -> Option<(u8, S)> {
        let pct = usize::from(self.is_punct(0, '%'));
        let span = self.span(0);
        match self.reg_number(pct) {
            Some(Some(r)) => {
                self.pos += pct + 1;
                Some((r, span))
            }
            Some(None) => None,
            None => {
                let found = self.found(pct);
                self.err(
                    pct,
                    format!("expected a register (r0 to r10), found {found}"),
                )
            }
        }
    }

    fn number(&mut self) -> Option<(Value, S)> {
        let span = self.span(0);
        let mut neg = false;
        if self.is_punct(0, '-') || self.is_punct(0, '+') {
            neg = self.is_punct(0, '-');
            self.pos += 1;
        }
        let t = match self.peek(0) {
            Some(t) => *t,
            None => return self.err(0, "expected a number, found the end of the program"),
        };
        match t.kind {
            TokKind::Int => {
                self.pos += 1;
                let v = match parse_int(t.text) {
                    Ok(v) => v,
                    Err(msg) => {
                        self.diag.push(t.span, msg);
                        0
                    }
                };
                let mag = u64::try_from(v).unwrap_or(u64::MAX);
                Some((Value::Lit(Lit::new(neg, mag)), span))
            }
            TokKind::Expr(id) => {
                self.pos += 1;
                Some((Value::Expr { id, neg }, span))
            }
            TokKind::Punct('{') => self.err(
                0,
                "`{ expr }` operands are only available in the bpf_prog! macro; write a number",
            ),
            _ => {
                let found = self.found(0);
                self.err(0, format!("expected a number, found {found}"))
            }
        }
    }

    fn operand(&mut self) -> Option<Operand<'a, S>> {
        let t = match self.peek(0) {
            Some(t) => *t,
            None => return self.err(0, "expected an operand, found the end of the program"),
        };
        match t.kind {
            TokKind::Punct('%') => {
                let (r, s) = self.register()?;
                Some(Operand::Reg(r, s))
            }
            TokKind::Punct('[') => self.mem(),
            TokKind::Punct('-' | '+' | '{') | TokKind::Int | TokKind::Expr(_) => {
                let (value, span) = self.number()?;
                Some(Operand::Num { value, span })
            }
            TokKind::Ident => {
                if let Some(r) = self.reg_number(0) {
                    let r = r?;
                    self.pos += 1;
                    return Some(Operand::Reg(r, t.span));
                }
                self.pos += 1;
                if self.is_punct(0, '(') {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !self.is_punct(0, ')') {
                        loop {
                            args.push(self.operand()?);
                            if self.is_punct(0, ',') {
                                self.pos += 1;
                                continue;
                            }
                            break;
                        }
                    }
                    self.expect_punct(')', "to close the argument list")?;
                    return Some(Operand::Call {
                        name: t.text,
                        args,
                        span: t.span,
                    });
                }
                Some(Operand::Name(t.text, t.span))
            }
            TokKind::Other => self.err(0, format!("unexpected literal `{}`", t.text)),
            _ => {
                let found = self.found(0);
                self.err(
                    0,
                    format!(
                        "expected an operand (a register, a number, `[reg + off]` or a label), found {found}"
                    ),
                )
            }
        }
    }

    fn mem(&mut self) -> Option<Operand<'a, S>> {
        let span = self.span(0);
        self.pos += 1; // `[`
        let (reg, reg_span) = self.register()?;
        let (off, off_span) = if self.is_punct(0, '+') || self.is_punct(0, '-') {
            // The caret goes on the number, not on the sign before it.
            let digits = self.span(1);
            let (v, _) = self.number()?;
            (v, digits)
        } else {
            (Value::Lit(Lit::new(false, 0)), reg_span)
        };
        if !self.is_punct(0, ']') {
            let found = self.found(0);
            return self.err(
                0,
                format!(
                    "expected `]` or `+ offset`/`- offset` in a memory operand `[rN + off]`, found {found}"
                ),
            );
        }
        self.pos += 1;
        Some(Operand::Mem {
            reg,
            off,
            off_span,
            reg_span,
            span,
        })
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Parses a Rust-style integer literal (no sign, no suffix).
pub(crate) fn parse_int(text: &str) -> Result<i128, String> {
    let (digits, radix) = match text.get(..2) {
        Some("0x" | "0X") => (&text[2..], 16),
        Some("0o" | "0O") => (&text[2..], 8),
        Some("0b" | "0B") => (&text[2..], 2),
        _ => (text, 10),
    };
    let mut value: i128 = 0;
    let mut any = false;
    for (i, c) in digits.char_indices() {
        if c == '_' {
            continue;
        }
        let Some(d) = c.to_digit(radix) else {
            let rest = &digits[i..];
            let suffix = [
                "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
                "usize",
            ];
            return Err(if suffix.contains(&rest) {
                format!(
                    "integer literal `{text}` has a type suffix `{rest}`: write the number without a suffix"
                )
            } else {
                format!("malformed integer literal `{text}`")
            });
        };
        any = true;
        value = value
            .checked_mul(i128::from(radix))
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or_else(|| format!("integer literal `{text}` is too large"))?;
        if value > i128::from(u64::MAX) {
            return Err(format!("integer literal `{text}` does not fit in 64 bits"));
        }
    }
    if any {
        Ok(value)
    } else {
        Err(format!("malformed integer literal `{text}`"))
    }
}

/// The text from the first token's start to the last token's end, if the
/// tokens are slices of `src` (as the text lexer makes them).
fn source_slice<'a, S>(src: &'a str, toks: &[Tok<'a, S>]) -> Option<&'a str> {
    let base = src.as_ptr() as usize;
    let first = toks.first()?.text;
    let last = toks.last()?.text;
    let start = (first.as_ptr() as usize).checked_sub(base)?;
    let end = (last.as_ptr() as usize).checked_sub(base)? + last.len();
    src.get(start..end)
}

/// The statement's tokens as text with conventional spacing: `[r1 + 8]`,
/// `mov r0, -1`, `map_fd(name)`.
fn render<S>(toks: &[Tok<'_, S>]) -> String {
    let mut s = String::with_capacity(toks.iter().map(|t| t.text.len() + 1).sum());
    let mut prev: Option<TokKind> = None;
    let mut unary_sign = false;
    let mut in_brackets = false;
    for t in toks {
        let text = match t.kind {
            TokKind::Expr(_) => "{..}",
            _ => t.text,
        };
        let space = match (prev, t.kind) {
            (None, _) | (_, TokKind::Punct(',' | ']' | ')')) => false,
            (Some(TokKind::Punct('[' | '(' | '%')), _)
            | (Some(TokKind::Ident), TokKind::Punct('(')) => false,
            _ => !unary_sign,
        };
        if space {
            s.push(' ');
        }
        s.push_str(text);
        unary_sign = matches!(t.kind, TokKind::Punct('-' | '+')) && !in_brackets;
        match t.kind {
            TokKind::Punct('[') => in_brackets = true,
            TokKind::Punct(']') => in_brackets = false,
            _ => {}
        }
        prev = Some(t.kind);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Pos, lex};

    fn stmts(src: &str) -> Vec<String> {
        let (toks, lex_errs) = lex(src);
        assert!(lex_errs.is_empty());
        let mut diag = Diagnostics::new();
        let mut parser = Parser::new(None);
        parser.feed(&toks, Pos::default(), &mut diag);
        assert!(diag.is_clean(), "{diag:?}");
        parser
            .finish()
            .stmts
            .into_iter()
            .map(|s| format!("{}|{}", s.mnem, s.text))
            .collect()
    }

    #[test]
    fn parses_multiword_mnemonics() {
        assert_eq!(
            stmts("lock fetch add32 [r1+8], r2; call local foo; call 1"),
            [
                "lock fetch add32|lock fetch add32 [r1 + 8], r2",
                "call local|call local foo",
                "call|call 1"
            ]
        );
    }

    #[test]
    fn renders_signs() {
        assert_eq!(stmts("mov r0, -1")[0], "mov|mov r0, -1");
        assert_eq!(stmts("ja -3")[0], "ja|ja -3");
        assert_eq!(stmts("ldxw r0, [r1-8]")[0], "ldxw|ldxw r0, [r1 - 8]");
    }

    #[test]
    fn int_literals() {
        assert_eq!(parse_int("0x_ff"), Ok(255));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert!(parse_int("10u32").unwrap_err().contains("suffix"));
        assert!(parse_int("0x1_0000_0000_0000_0000").is_err());
        assert!(parse_int("0x").is_err());
    }
}
