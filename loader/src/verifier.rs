//! A verifier rejection: the log, and its instruction lines mapped back to
//! the source the program was assembled from.

use std::fmt;
use std::io;

use crate::{Program, SourceLine};

/// How many log lines `Display` shows (the end of the log, where the error
/// is); the alternate form `{:#}` shows all of them.
const SHOWN_LINES: usize = 40;

/// A log line that starts with an instruction index, like
/// `12: (b7) r0 = 0`, with the source of that instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogInsn {
    /// 0-based index of the line in [`VerifierError::log`].
    pub log_line: usize,
    /// The instruction index the kernel printed: a slot index, counting an
    /// `lddw` as two.
    pub slot: usize,
    /// The source line of that instruction, from [`Program::source_of`],
    /// when the program carries source lines (programs from `bpf_prog!` do).
    pub source_line: Option<SourceLine>,
}

/// The verifier refused the program (`bpf(BPF_PROG_LOAD)` failed and the
/// kernel wrote a log explaining why).
///
/// The `Display` form starts with a one-line summary (the kernel's last
/// message and the source line of the instruction it was checking), then
/// the end of the log with real newlines, each instruction line annotated
/// with its source line; `{:#}` prints the whole log.
pub struct VerifierError {
    program: String,
    source: io::Error,
    log: String,
    truncated: bool,
    insns: Vec<LogInsn>,
    message_slot: Option<usize>,
}

impl VerifierError {
    /// A rejection of `program` (described as in error messages), with the
    /// raw log the kernel wrote.
    pub(crate) fn new(
        program: String,
        source: io::Error,
        log: String,
        truncated: bool,
        prog: &Program,
    ) -> Self {
        let insns = log_insns(&log, prog);
        let message_slot = slot_in_message(last_message(&log));
        VerifierError {
            program,
            source,
            log,
            truncated,
            insns,
            message_slot,
        }
    }

    /// The program, as named in messages: ``program `name` (N instructions)``.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The `errno` of the load (`EACCES`, `EINVAL`, ...), as the first
    /// attempt, without a log, got it.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The verifier's log, as the kernel wrote it (level 1).
    pub fn log(&self) -> &str {
        &self.log
    }

    /// Whether the log filled the largest buffer allowed and was cut by the
    /// kernel (since Linux 6.4 the kernel keeps the end of the log).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The log lines that start with an instruction index, in log order,
    /// each with its source line.
    pub fn insn_lines(&self) -> &[LogInsn] {
        &self.insns
    }

    /// The kernel's verdict: the last line of the log that is not an
    /// instruction, a register state or the closing statistics, e.g.
    /// `R5 !read_ok`.
    pub fn message(&self) -> &str {
        last_message(&self.log)
    }

    /// The slot the verifier was checking when it gave up: the last
    /// instruction line of the log, or an `insn N` in the message when the
    /// program was refused before the walk (e.g. `unreachable insn 3`).
    pub fn failing_slot(&self) -> Option<usize> {
        self.insns.last().map(|l| l.slot).or(self.message_slot)
    }

    /// The source line of [`failing_slot`](Self::failing_slot), if known.
    pub fn failing_source_line(&self) -> Option<&SourceLine> {
        let slot = self.failing_slot()?;
        self.insns
            .iter()
            .rev()
            .find(|l| l.slot == slot)
            .and_then(|l| l.source_line.as_ref())
    }
}

/// Whether a log line starts with an instruction: `12: (b7) r0 = 0` gives
/// `Some(12)`; state lines (`12: R0=...`) and others give `None`.
fn insn_index(line: &str) -> Option<usize> {
    let (num, rest) = line.split_once(": (")?;
    let slot = num.parse().ok()?;
    let rest = rest.as_bytes();
    (rest.len() >= 3 && rest[..2].iter().all(u8::is_ascii_hexdigit) && rest[2] == b')')
        .then_some(slot)
}

fn log_insns(log: &str, prog: &Program) -> Vec<LogInsn> {
    log.lines()
        .enumerate()
        .filter_map(|(log_line, line)| {
            let slot = insn_index(line)?;
            Some(LogInsn {
                log_line,
                slot,
                source_line: prog.source_of(slot).cloned(),
            })
        })
        .collect()
}

/// The last meaningful line of the log (see [`VerifierError::message`]).
fn last_message(log: &str) -> &str {
    log.lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with("processed ")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
                && insn_index(l).is_none()
        })
        .unwrap_or("")
}

/// `insn N` in a message such as `jump out of range from insn 1 to 5`.
fn slot_in_message(msg: &str) -> Option<usize> {
    let mut words = msg.split_whitespace();
    while let Some(w) = words.next() {
        if w == "insn"
            && let Some(n) = words
                .next()
                .and_then(|n| n.trim_end_matches([',', ':']).parse().ok())
        {
            return Some(n);
        }
    }
    None
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bpf(BPF_PROG_LOAD): the verifier rejected {}: {} ({})",
            self.program,
            self.message(),
            self.source
        )?;
        match (self.failing_slot(), self.failing_source_line()) {
            (Some(slot), Some(src)) => write!(
                f,
                "\n  at {}: `{}` (instruction {slot})",
                src.location(),
                src.text
            )?,
            (Some(slot), None) => write!(f, "\n  at instruction {slot}")?,
            _ => {}
        }
        let lines: Vec<&str> = self.log.lines().collect();
        let skip = if f.alternate() {
            0
        } else {
            lines.len().saturating_sub(SHOWN_LINES)
        };
        write!(f, "\nverifier log")?;
        if self.truncated {
            write!(f, " (truncated by the kernel)")?;
        }
        f.write_str(":")?;
        if skip > 0 {
            write!(
                f,
                "\n    ... {skip} earlier lines (`{{:#}}` or `VerifierError::log()` shows them)"
            )?;
        }
        let mut annotations = self.insns.iter().peekable();
        for (i, line) in lines.iter().enumerate() {
            let note = annotations.next_if(|a| a.log_line == i);
            if i < skip {
                continue;
            }
            write!(f, "\n    {line}")?;
            if let Some(src) = note.and_then(|a| a.source_line.as_ref()) {
                write!(f, "    // {}: {}", src.location(), src.text)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for VerifierError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Insn;

    const LOG: &str = "func#0 @0\n\
        0: R1=ctx() R10=fp0\n\
        0: (b7) r0 = 0                        ; R0_w=0\n\
        1: (bf) r0 = r5\n\
        R5 !read_ok\n\
        processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";

    fn prog() -> Program {
        Program::new(
            vec![
                Insn::new(0xb7, 0, 0, 0, 0),
                Insn::new(0xbf, 0, 5, 0, 0),
                Insn::new(0x95, 0, 0, 0, 0),
            ],
            vec![],
            vec![
                SourceLine::new(0, 10, "mov64 r0, 0"),
                SourceLine::new(1, 11, "mov64 r0, r5"),
                SourceLine::new(2, 12, "exit"),
            ],
        )
    }

    fn err(log: &str) -> VerifierError {
        VerifierError::new(
            "program `t` (3 instructions)".into(),
            io::Error::from_raw_os_error(libc::EACCES),
            log.into(),
            false,
            &prog(),
        )
    }

    #[test]
    fn recognises_instruction_lines() {
        assert_eq!(insn_index("12: (b7) r0 = 0"), Some(12));
        assert_eq!(insn_index("0: (95) exit"), Some(0));
        assert_eq!(insn_index("0: R1=ctx() R10=fp0"), None);
        assert_eq!(insn_index("from 3 to 5: R0=1"), None);
        assert_eq!(insn_index("R5 !read_ok"), None);
        assert_eq!(insn_index("x: (b7) r0 = 0"), None);
    }

    #[test]
    fn maps_log_lines_to_source() {
        let e = err(LOG);
        let lines = e.insn_lines();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].log_line, lines[0].slot), (2, 0));
        assert_eq!((lines[1].log_line, lines[1].slot), (3, 1));
        assert_eq!(lines[1].source_line.as_ref().map(|s| s.line), Some(11));
        assert_eq!(e.message(), "R5 !read_ok");
        assert_eq!(e.failing_slot(), Some(1));
        assert_eq!(
            e.failing_source_line().map(|s| &*s.text),
            Some("mov64 r0, r5")
        );
    }

    #[test]
    fn display_has_summary_and_annotated_log_with_newlines() {
        let text = err(LOG).to_string();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "bpf(BPF_PROG_LOAD): the verifier rejected program `t` (3 instructions): \
                 R5 !read_ok (Permission denied (os error 13))"
            )
        );
        assert_eq!(
            lines.next(),
            Some("  at line 11: `mov64 r0, r5` (instruction 1)")
        );
        assert_eq!(lines.next(), Some("verifier log:"));
        assert!(
            text.contains("\n    1: (bf) r0 = r5    // line 11: mov64 r0, r5\n"),
            "{text}"
        );
        assert!(text.contains("\n    R5 !read_ok\n"), "{text}");
    }

    #[test]
    fn message_without_instruction_lines() {
        let e = err("unreachable insn 2\nprocessed 0 insns (limit 1000000)\n");
        assert_eq!(e.message(), "unreachable insn 2");
        assert_eq!(e.failing_slot(), Some(2));
        assert!(e.to_string().contains("at instruction 2"));
        let e = err("last insn is not an exit or jmp\nprocessed 0 insns\n");
        assert_eq!(e.failing_slot(), None);
        assert_eq!(
            slot_in_message("jump out of range from insn 1 to 5"),
            Some(1)
        );
    }

    #[test]
    fn long_logs_show_their_end_unless_alternate() {
        let mut log = String::new();
        for i in 0..100 {
            log.push_str(&format!("{i}: (b7) r0 = 0\n"));
        }
        log.push_str("too many\n");
        let e = err(&log);
        let short = e.to_string();
        assert!(short.contains("... 61 earlier lines"), "{short}");
        assert!(!short.contains("\n    5: (b7)"));
        assert!(short.contains("\n    99: (b7)"));
        let long = format!("{e:#}");
        assert!(long.contains("\n    5: (b7)"));
        assert!(!long.contains("earlier lines"));
    }
}
