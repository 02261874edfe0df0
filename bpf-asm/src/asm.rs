//! The runtime assembler: text in, [`Program`] out, through the same parser,
//! checks and encoder as `bpf_prog!`.

use crate::check::{Check, CheckSet};
use std::borrow::Cow;
use std::fmt;

use crate::diag::Diagnostics;
use crate::encode::{Encoded, Slot};
use crate::pipeline::{self, Assembled, Checks, Tokens};
use crate::program::{MapReloc, Program, SourceLine};
use crate::token::{Columns, Lexer, Pos, Tok};

/// One assembly error with its 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    /// The name given to [`Assembler::source_name`], if any.
    pub file: Option<String>,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
    /// What is wrong and what would be accepted.
    pub message: String,
    /// The named check that found it, which `#![allow(...)]` turns off;
    /// `None` for syntax and encoding errors, which every program must pass.
    ///
    /// ```
    /// use bpf_asm::Check;
    ///
    /// let err = bpf_asm::assemble("mov r3, 42\nldxw r0, [r3 + 0]\nexit").unwrap_err();
    /// assert_eq!(err.0[0].check, Some(Check::PointerAccess));
    /// let err = bpf_asm::assemble("mvo r0, 1\nexit").unwrap_err();
    /// assert_eq!(err.0[0].check, None);
    /// ```
    pub check: Option<Check>,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// Every error found in one pass, in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmErrors(pub Vec<AsmError>);

impl fmt::Display for AsmErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AsmErrors {}

/// Assembler settings.
///
/// ```
/// use bpf_asm::Assembler;
/// // Without the control-flow checks, a fragment need not end in `exit`.
/// let prog = Assembler::new().flow_checks(false).assemble("mov r0, 1").unwrap();
/// assert_eq!(prog.len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Assembler {
    flow_checks: bool,
    allow: CheckSet,
    source_name: Option<String>,
}

impl Default for Assembler {
    fn default() -> Self {
        Assembler {
            flow_checks: true,
            allow: CheckSet::default(),
            source_name: None,
        }
    }
}

impl Assembler {
    /// The default settings: every check on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns the control-flow, register and pointer checks (SYNTAX.md
    /// checks 4 to 6 and 10) on or off. The rules the kernel applies only
    /// on the paths it walks (constant divisors and shift amounts, r10
    /// writes, stack bounds) go with them: with the checks off nothing
    /// tells which paths those are, so they are not reported. Encoding and
    /// the other range checks always run.
    ///
    /// ```
    /// // Refused by the kernel, but assembled for a test that proves it.
    /// assert!(bpf_asm::assemble("mov r0, 1\nlsh r0, 64\nexit").is_err());
    /// let p = bpf_asm::Assembler::new().flow_checks(false).assemble("mov r0, 1\nlsh r0, 64\nexit");
    /// assert!(p.is_ok());
    /// ```
    #[must_use]
    pub fn flow_checks(mut self, on: bool) -> Self {
        self.flow_checks = on;
        self
    }

    /// Turns one check off, as `#![allow(name)]` in the text does; the
    /// others keep running.
    ///
    /// ```
    /// use bpf_asm::{Assembler, Check};
    ///
    /// // A deliberate read of r2 before any write: the kernel refuses it,
    /// // which is what this test of the verifier wants.
    /// let src = "mov r0, r2\nexit";
    /// assert!(bpf_asm::assemble(src).is_err());
    /// assert!(Assembler::new().allow(Check::UnsetRegister).assemble(src).is_ok());
    /// ```
    #[must_use]
    pub fn allow(mut self, check: Check) -> Self {
        self.allow.insert(check);
        self
    }

    /// Names the text (a file name, say): errors and the program's
    /// [`SourceLine`]s, and so the verifier errors mapped to them, then say
    /// `name:line`.
    ///
    /// ```
    /// let err = bpf_asm::Assembler::new().source_name("filter.s").assemble("mvo r0, 1").unwrap_err();
    /// assert!(err.to_string().starts_with("filter.s:1:1: unknown instruction `mvo`"));
    /// ```
    #[must_use]
    pub fn source_name(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(name.into());
        self
    }

    /// Assembles `src`, returning every error found.
    pub fn assemble(&self, src: &str) -> Result<Program, AsmErrors> {
        let checks = Checks {
            flow: self.flow_checks,
            allow: self.allow,
        };
        let Assembled { encoded, diag, .. } = pipeline::assemble(&mut Text::new(src), checks);
        if diag.is_clean() {
            return Ok(program(encoded, self.source_name.as_deref()));
        }
        let columns = Columns::new(src);
        let errors = diag.into_sorted(|e| (e.span.line, e.span.col));
        Err(AsmErrors(
            errors
                .into_iter()
                .map(|e| AsmError {
                    file: self.source_name.clone(),
                    line: e.span.line,
                    col: columns.char_column(e.span),
                    message: e.message,
                    check: e.check,
                })
                .collect(),
        ))
    }
}

/// Statements lexed per batch: enough to amortise the phases' per-batch
/// work, few enough that the tokens held stay small.
const BATCH: usize = 32;

/// Text input: the lexer, a batch of statements at a time.
struct Text<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
}

impl<'a> Text<'a> {
    fn new(src: &'a str) -> Self {
        Text {
            src,
            lexer: Lexer::new(src),
        }
    }
}

impl<'a> Tokens<'a, Pos> for Text<'a> {
    fn next_statements(&mut self, out: &mut Vec<Tok<'a, Pos>>) -> bool {
        self.lexer.next_statements(out, BATCH)
    }

    fn end(&mut self) -> Pos {
        self.lexer.end()
    }

    fn source(&self) -> Option<&'a str> {
        Some(self.src)
    }

    fn finish(&mut self, diag: &mut Diagnostics<Pos>) {
        for (pos, e) in self.lexer.errors.drain(..) {
            diag.push(pos, e.to_string());
        }
    }

    /// At most one statement per line or `;`: counting them is cheaper
    /// than growing the encoder's tables (and faulting in their pages) twice.
    fn size_hint(&self) -> usize {
        // Byte-wide counts per chunk of at most 255 bytes vectorise well.
        self.src
            .as_bytes()
            .chunks(255)
            .map(|c| {
                let n = c.iter().fold(0u8, |n, &b| {
                    n.wrapping_add(u8::from(b == b'\n') + u8::from(b == b';'))
                });
                usize::from(n)
            })
            .sum::<usize>()
            + 1
    }
}

fn program(encoded: Encoded<Pos>, file: Option<&str>) -> Program {
    // Text input has no `{ expr }`, so every field is known.
    let mut insns = Vec::with_capacity(encoded.slots.len());
    insns.extend(encoded.slots.iter().filter_map(Slot::insn));
    let relocs = encoded
        .relocs
        .into_iter()
        .map(|(slot, name)| MapReloc {
            slot,
            name: name.into(),
        })
        .collect();
    let source = encoded
        .stmts
        .into_iter()
        .map(|s| SourceLine {
            slot: s.slot,
            line: s.line,
            text: s.text.into(),
            file: file.map_or(Cow::Borrowed(""), |f| Cow::Owned(f.to_owned())),
        })
        .collect();
    Program::in_order(insns, relocs, source)
        .with_prog_type(encoded.options.prog_type)
        .with_maps(encoded.maps)
}

/// Assembles `src` with every check on.
///
/// ```
/// let prog = bpf_asm::assemble("mov64 r0, -1\nexit").unwrap();
/// assert_eq!(prog.as_bytes(), [
///     0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
///     0x95, 0, 0, 0, 0, 0, 0, 0,
/// ]);
/// let err = bpf_asm::assemble("mvo r0, 1\nexit").unwrap_err();
/// assert_eq!(err.to_string(), "1:1: unknown instruction `mvo`; did you mean `mov`?");
/// ```
pub fn assemble(src: &str) -> Result<Program, AsmErrors> {
    Assembler::new().assemble(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        match Assembler::new().flow_checks(false).assemble(src) {
            Ok(p) => panic!("assembled: {p}"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn reports_every_error_with_line_and_column() {
        // With the flow checks on: they cannot run after these errors, so
        // the shift is reported as if walked.
        let errs: Vec<String> = assemble("mov r0, 1\n  mvo r1, 2\nja nowhere\nlsh r0, 64\nexit")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "2:3: unknown instruction `mvo`; did you mean `mov`?",
                "3:4: undefined label `nowhere`",
                "4:9: 64 (0x40) is out of range: expected a shift amount from 0 to 63 for a 64-bit shift",
            ]
        );
    }

    #[test]
    fn text_comments_newlines_and_ubpf_spelling() {
        let prog = assemble(
            "#![cpu = v4]\n# a comment\nmov %r0, 0 # trailing\n/* block\n comment */ exit\n",
        )
        .unwrap();
        assert_eq!(prog.len(), 2);
        assert_eq!(prog.source()[1].line, 5);
        assert_eq!(prog.source()[1].text, "exit");
    }

    #[test]
    fn columns_count_characters() {
        let errs = errors("/* é */ mvo r0, 1\nexit");
        assert!(
            errs[0].starts_with("1:9: unknown instruction `mvo`"),
            "{errs:?}"
        );
    }

    #[test]
    fn statement_text_is_the_source() {
        let prog = assemble("mov   r0,  -1 // keep all\nexit").unwrap();
        assert_eq!(prog.source()[0].text, "mov   r0,  -1");
    }

    #[test]
    fn expressions_are_macro_only() {
        let errs = errors("mov r0, {1 + 2}\nexit");
        assert!(
            errs[0].contains("only available in the bpf_prog! macro"),
            "{errs:?}"
        );
    }

    #[test]
    fn the_kernel_limit_on_program_size() {
        let src = "exit\n".repeat(crate::encode::MAX_INSNS + 1);
        let errs = errors(&src);
        assert_eq!(
            errs,
            ["1000001:1: the program has 1000001 instructions; the kernel loads at most 1000000"]
        );
        let ok = "exit\n".repeat(crate::encode::MAX_INSNS);
        assert!(Assembler::new().flow_checks(false).assemble(&ok).is_ok());
    }

    #[test]
    fn sign_extension_of_a_64_bit_store() {
        let errs = errors("stdw [r1], 0xffffffff\nexit");
        assert!(
            errs[0].contains("this 64-bit `stdw` would store -1"),
            "{errs:?}"
        );
        assert!(errs[0].contains("`stw`"), "{errs:?}");
    }

    #[test]
    fn program_display_round_trips() {
        let prog =
            assemble("mov r0, 0\njeq r1, 0, out\nlddw r0, 0x1122334455667788\nout: exit").unwrap();
        let text = prog.to_string();
        let again = Assembler::new().flow_checks(false).assemble(&text).unwrap();
        assert_eq!(again.insns(), prog.insns());
    }

    #[test]
    fn display_keeps_map_names_and_round_trips() {
        let src = "lddw r1, map_fd(counts)\nlddw r2, map_value(cfg, 8)\nlddw r3, map_fd(7)\n\
                   lddw r4, map_value(9, 4)\nmov r0, 0\nexit";
        let prog = assemble(src).unwrap();
        let text = prog.to_string();
        assert!(text.contains("lddw r1, map_fd(counts)\n"), "{text}");
        assert!(text.contains("lddw r2, map_value(cfg, 8)\n"), "{text}");
        let again = assemble(&text).unwrap();
        assert_eq!(again.insns(), prog.insns());
        assert_eq!(again.relocs(), prog.relocs());
        let c = format!("{prog:#}");
        let lines: Vec<&str> = c.lines().map(str::trim).collect();
        assert_eq!(
            lines[..4],
            [
                "r1 = counts ll",
                "r2 = cfg+8 ll",
                "ld_pseudo r3, 1, 7",
                "r4 = map[id:9][0]+4"
            ]
        );
    }

    #[test]
    fn map_relocations_by_name() {
        let prog =
            assemble("lddw r1, map_fd(counters)\nlddw r2, map_value(cfg, 8)\nmov r0, 0\nexit")
                .unwrap();
        let relocs: Vec<_> = prog
            .relocs()
            .iter()
            .map(|r| (r.slot, r.name.as_ref()))
            .collect();
        assert_eq!(relocs, [(0, "counters"), (2, "cfg")]);
        assert_eq!(prog.insns()[3].imm(), 8);
        assert_eq!(prog.insns()[0].src(), 1);
        assert_eq!(prog.insns()[2].src(), 2);
    }
}
