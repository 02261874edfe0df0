//! Tokens, the common input of the parser. Two front ends make them: the
//! text lexer here (runtime assembler) and the macro's token-tree walker, so
//! both are parsed by one grammar.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// An identifier or keyword.
    Ident,
    /// An integer literal as written (suffixes included, rejected later).
    Int,
    /// A single punctuation character.
    Punct(char),
    /// A `{ expr }` operand (macro only): the index of the expression in
    /// the front end's side table.
    #[cfg_attr(not(feature = "macro"), allow(dead_code))]
    Expr(u32),
    /// Any other literal (string, float, char): always an error.
    Other,
    /// The end of a statement: `;`, or a newline in text input.
    End,
}

/// One token with its text and position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok<'a, S> {
    /// The kind.
    pub(crate) kind: TokKind,
    /// The text as written.
    pub(crate) text: &'a str,
    /// Where it is (a `proc_macro2::Span` or a [`Pos`]).
    pub(crate) span: S,
    /// 1-based source line (0 when unknown).
    pub(crate) line: u32,
}

/// A position in text input: 1-based line and column. The lexer counts the
/// column in bytes; [`Columns`] converts it to characters for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct Pos {
    /// Line, from 1.
    pub(crate) line: u32,
    /// Column in characters, from 1.
    pub(crate) col: u32,
}

/// Converts positions with byte columns (as the lexer makes them) to
/// character columns, for error messages.
#[derive(Debug)]
pub(crate) struct Columns<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Columns<'a> {
    /// Indexes the lines of `src` (once, however many positions follow).
    pub(crate) fn new(src: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Columns { src, line_starts }
    }

    /// The 1-based character column of `pos`.
    pub(crate) fn char_column(&self, pos: Pos) -> u32 {
        let Some(&start) = self.line_starts.get(pos.line.saturating_sub(1) as usize) else {
            return pos.col;
        };
        let end = start.saturating_add(pos.col.saturating_sub(1) as usize);
        match self.src.get(start..end) {
            Some(prefix) if !prefix.is_ascii() => {
                u32::try_from(prefix.chars().count() + 1).unwrap_or(u32::MAX)
            }
            _ => pos.col,
        }
    }
}

/// A lexical error in text input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LexError {
    /// A `/*` with no `*/`.
    UnterminatedComment,
    /// A character that starts no token.
    Unexpected(char),
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LexError::UnterminatedComment => f.write_str("unterminated `/*` comment"),
            LexError::Unexpected(c) => write!(f, "unexpected character `{c}`"),
        }
    }
}

/// Splits assembly text into tokens. Comments (`//`, `/* */`, and `#` to the
/// end of the line unless it begins `#![`) are dropped; a newline ends a
/// statement. Returns the tokens and any lexical errors.
#[cfg(test)]
pub(crate) fn lex(src: &str) -> (Vec<Tok<'_, Pos>>, Vec<(Pos, LexError)>) {
    let mut lexer = Lexer::new(src);
    let mut toks = Vec::new();
    let mut chunk = Vec::new();
    while lexer.next_statements(&mut chunk, 1) {
        toks.append(&mut chunk);
    }
    (toks, lexer.errors)
}

/// A lexer that hands out a few statements' tokens at a time, so the
/// runtime assembler never holds the tokens of a whole program.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    i: usize,
    line: u32,
    line_start: usize,
    /// Lexical errors so far.
    pub(crate) errors: Vec<(Pos, LexError)>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            i: 0,
            line: 1,
            line_start: 0,
            errors: Vec::new(),
        }
    }

    /// The position of byte `at`; the column counts bytes from the line's
    /// start (see [`Pos`]), which is cheap; [`Columns`] turns it into
    /// characters when an error is shown.
    fn pos(&mut self, at: usize) -> Pos {
        Pos {
            line: self.line,
            col: u32::try_from(at - self.line_start + 1).unwrap_or(u32::MAX),
        }
    }

    /// The position just past the last character.
    pub(crate) fn end(&mut self) -> Pos {
        self.pos(self.src.len().max(self.line_start))
    }

    /// Replaces `out` with the tokens of up to `max` statements; false once
    /// the input is exhausted. (Batches spare the parser and encoder a
    /// round trip per statement.)
    pub(crate) fn next_statements(&mut self, out: &mut Vec<Tok<'a, Pos>>, max: usize) -> bool {
        out.clear();
        let mut any = false;
        for _ in 0..max {
            if !self.push_statement(out) {
                break;
            }
            any = true;
        }
        any
    }

    /// Appends the tokens up to and including the next end of statement
    /// (`;` or a newline); false if there were none left.
    fn push_statement(&mut self, out: &mut Vec<Tok<'a, Pos>>) -> bool {
        let before = out.len();
        let src = self.src;
        let bytes = src.as_bytes();
        while self.i < bytes.len() {
            let i = self.i;
            let c = bytes[i];
            let start = i;
            match c {
                b'\n' => {
                    out.push(tok(TokKind::End, &src[i..=i], self.pos(i)));
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                    return true;
                }
                b';' => {
                    out.push(tok(TokKind::End, &src[i..=i], self.pos(i)));
                    self.i += 1;
                    return true;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    self.i = memchr_newline(bytes, i);
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    let pos = self.pos(i);
                    let mut j = i + 2;
                    loop {
                        if j + 1 >= bytes.len() {
                            self.errors.push((pos, LexError::UnterminatedComment));
                            j = bytes.len();
                            break;
                        }
                        if bytes[j] == b'*' && bytes[j + 1] == b'/' {
                            j += 2;
                            break;
                        }
                        if bytes[j] == b'\n' {
                            self.line += 1;
                            self.line_start = j + 1;
                        }
                        j += 1;
                    }
                    self.i = j;
                }
                b'#' if bytes.get(i + 1..i + 3) != Some(b"![".as_slice()) => {
                    self.i = memchr_newline(bytes, i);
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let end = scan_word(bytes, i);
                    out.push(tok(TokKind::Ident, &src[start..end], self.pos(i)));
                    self.i = end;
                }
                c if c.is_ascii_digit() => {
                    let end = scan_word(bytes, i);
                    out.push(tok(TokKind::Int, &src[start..end], self.pos(i)));
                    self.i = end;
                }
                c if c.is_ascii() => {
                    out.push(tok(TokKind::Punct(char::from(c)), &src[i..=i], self.pos(i)));
                    self.i += 1;
                }
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                    let end = i + ch.len_utf8();
                    let pos = self.pos(i);
                    self.errors.push((pos, LexError::Unexpected(ch)));
                    out.push(tok(TokKind::Other, &src[i..end], pos));
                    self.i = end;
                }
            }
        }
        out.len() > before
    }
}

fn scan_word(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    i
}

fn memchr_newline(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| i + n)
}

fn tok(kind: TokKind, text: &str, pos: Pos) -> Tok<'_, Pos> {
    Tok {
        kind,
        text,
        span: pos,
        line: pos.line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_comments_and_separators() {
        let (toks, errs) = lex("mov r0, -1 # ubpf comment\n/* multi\nline */ exit // c\n");
        assert!(errs.is_empty());
        let kinds: Vec<_> = toks.iter().map(|t| t.text).collect();
        assert_eq!(kinds, ["mov", "r0", ",", "-", "1", "\n", "exit", "\n"]);
        assert_eq!(toks[6].span, Pos { line: 3, col: 9 });
    }

    #[test]
    fn keeps_inner_attributes() {
        let (toks, _) = lex("#![cpu = v4]");
        assert_eq!(toks.len(), 7);
    }
}
