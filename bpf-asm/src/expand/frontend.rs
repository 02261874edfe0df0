//! Token trees to the core's flat tokens: groups open and close with their
//! delimiters as punctuation, except `{ ... }`, which becomes one expression
//! operand kept aside for code generation.

use crate::token::{Tok, TokKind};
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

/// A token before borrowing: kind, owned text, span, line.
pub(crate) struct Owned {
    kind: TokKind,
    text: String,
    span: Span,
}

/// Flattened input plus the `{ expr }` side table.
pub(crate) struct Flat {
    pub(crate) toks: Vec<Owned>,
    pub(crate) exprs: Vec<(TokenStream, Span)>,
}

impl Flat {
    /// The tokens in the core's form, borrowing the texts.
    pub(crate) fn toks(&self) -> Vec<Tok<'_, Span>> {
        self.toks
            .iter()
            .map(|t| Tok {
                kind: t.kind,
                text: &t.text,
                span: t.span,
                line: u32::try_from(t.span.start().line).unwrap_or(0),
            })
            .collect()
    }
}

pub(crate) fn flatten(input: TokenStream) -> Flat {
    let mut flat = Flat {
        toks: Vec::new(),
        exprs: Vec::new(),
    };
    walk(input, &mut flat);
    flat
}

fn push(flat: &mut Flat, kind: TokKind, text: impl Into<String>, span: Span) {
    flat.toks.push(Owned {
        kind,
        text: text.into(),
        span,
    });
}

fn walk(input: TokenStream, flat: &mut Flat) {
    for tt in input {
        match tt {
            TokenTree::Ident(i) => push(flat, TokKind::Ident, i.to_string(), i.span()),
            TokenTree::Punct(p) => {
                let kind = if p.as_char() == ';' {
                    TokKind::End
                } else {
                    TokKind::Punct(p.as_char())
                };
                push(flat, kind, p.as_char().to_string(), p.span());
            }
            TokenTree::Literal(l) => {
                let text = l.to_string();
                // A negative literal can arrive as one token through a
                // `macro_rules!` `$x:literal`.
                let (neg, digits) = match text.strip_prefix('-') {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, text),
                };
                if neg {
                    push(flat, TokKind::Punct('-'), "-", l.span());
                }
                let kind = if digits.starts_with(|c: char| c.is_ascii_digit()) {
                    TokKind::Int
                } else {
                    TokKind::Other
                };
                push(flat, kind, digits, l.span());
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Brace => {
                        let id = flat.exprs.len();
                        flat.exprs.push((g.stream(), g.span()));
                        let id = u32::try_from(id).unwrap_or(u32::MAX);
                        push(flat, TokKind::Expr(id), "{..}", g.span());
                        continue;
                    }
                    Delimiter::None => {
                        walk(g.stream(), flat);
                        continue;
                    }
                    Delimiter::Bracket => ('[', ']'),
                    Delimiter::Parenthesis => ('(', ')'),
                };
                push(flat, TokKind::Punct(open), open.to_string(), g.span_open());
                walk(g.stream(), flat);
                push(
                    flat,
                    TokKind::Punct(close),
                    close.to_string(),
                    g.span_close(),
                );
            }
        }
    }
}
