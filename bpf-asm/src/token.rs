//! Tokens, the common input of the parser. Two front ends make them: the
//! text lexer here (runtime assembler) and the macro's token-tree walker, so
//! both are parsed by one grammar.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokKind {
    /// An identifier or keyword.
    Ident,
    /// An integer literal as written (suffixes included, rejected later).
    Int,
    /// A single punctuation character.
    Punct(char),
    /// A `{ expr }` operand (macro only): the index of the expression in
    /// the front end's side table.
    Expr(usize),
    /// Any other literal (string, float, char): always an error.
    Other,
    /// The end of a statement: `;`, or a newline in text input.
    End,
}

/// One token with its text and position.
#[derive(Clone, Copy, Debug)]
pub struct Tok<'a, S> {
    /// The kind.
    pub kind: TokKind,
    /// The text as written.
    pub text: &'a str,
    /// Where it is (a `proc_macro2::Span` or a [`Pos`]).
    pub span: S,
    /// 1-based source line (0 when unknown).
    pub line: u32,
}

/// A position in text input: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

/// Splits assembly text into tokens. Comments (`//`, `/* */`, and `#` to the
/// end of the line unless it begins `#!`) are dropped; a newline ends a
/// statement. Returns the tokens and any lexical errors.
///
/// ```
/// let (toks, errors) = bpf_asm::token::lex("exit # done\n");
/// assert!(errors.is_empty());
/// assert_eq!(toks.len(), 2); // `exit` and the newline
/// ```
pub fn lex(src: &str) -> (Vec<Tok<'_, Pos>>, Vec<(Pos, String)>) {
    let mut toks = Vec::with_capacity(src.len() / 3);
    let mut errors = Vec::new();
    let bytes = src.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1u32, 0usize);
    while i < bytes.len() {
        let c = bytes[i];
        let pos = Pos {
            line,
            col: col_of(src, line_start, i),
        };
        let start = i;
        match c {
            b'\n' => {
                toks.push(tok(TokKind::End, &src[i..=i], pos));
                i += 1;
                line += 1;
                line_start = i;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                loop {
                    if i + 1 >= bytes.len() {
                        errors.push((pos, "unterminated `/*` comment".to_owned()));
                        i = bytes.len();
                        break;
                    }
                    if bytes[i] == b'*' && bytes[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    if bytes[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
            }
            b'#' if bytes.get(i + 1..i + 3) != Some(b"![".as_slice()) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                toks.push(tok(TokKind::End, &src[i..=i], pos));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                toks.push(tok(TokKind::Ident, &src[start..i], pos));
            }
            c if c.is_ascii_digit() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                toks.push(tok(TokKind::Int, &src[start..i], pos));
            }
            c if c.is_ascii() => {
                toks.push(tok(TokKind::Punct(char::from(c)), &src[i..=i], pos));
                i += 1;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                let end = i + ch.len_utf8();
                errors.push((pos, format!("unexpected character `{ch}`")));
                toks.push(tok(TokKind::Other, &src[i..end], pos));
                i = end;
            }
        }
    }
    (toks, errors)
}

fn tok(kind: TokKind, text: &str, pos: Pos) -> Tok<'_, Pos> {
    Tok {
        kind,
        text,
        span: pos,
        line: pos.line,
    }
}

fn col_of(src: &str, line_start: usize, i: usize) -> u32 {
    let prefix = &src.as_bytes()[line_start..i];
    // Columns count characters; ASCII is the common case.
    let n = if prefix.is_ascii() {
        prefix.len()
    } else {
        src.get(line_start..i)
            .map_or(prefix.len(), |s| s.chars().count())
    };
    u32::try_from(n + 1).unwrap_or(u32::MAX)
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
