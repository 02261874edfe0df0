//! Runs the core and writes the expansion: a block of `const` tables ending
//! in `bpf_loader::Program::from_static_typed(..)`, or the errors.

use crate::check::CheckSet;
use crate::diag::Diagnostics;
use crate::encode::{Encoded, ExprField, Field, Part};
use crate::pipeline::{self, Assembled, Checks, Tokens};
use crate::token::Tok;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::frontend::{Flat, flatten};

/// The whole expansion of `bpf_prog! { input }`.
///
/// ```
/// let out = bpf_asm::expand::expand("mov64 r0, -1; exit".parse().unwrap());
/// assert!(out.to_string().contains("from_static_typed"));
/// ```
pub fn expand(input: TokenStream) -> TokenStream {
    let flat = flatten(input);
    let mut tokens = Whole(Some(flat.toks()));
    let Assembled {
        encoded,
        diag,
        flow_skipped,
    } = pipeline::assemble(
        &mut tokens,
        Checks {
            flow: true,
            allow: CheckSet::default(),
        },
    );
    if !diag.is_clean() {
        return compile_errors(diag, flow_skipped, &encoded, &flat);
    }
    program(&encoded, &flat)
}

/// The macro's input: every token at once.
struct Whole<'a>(Option<Vec<Tok<'a, Span>>>);

impl<'a> Tokens<'a, Span> for Whole<'a> {
    fn next_statements(&mut self, out: &mut Vec<Tok<'a, Span>>) -> bool {
        match self.0.take() {
            Some(toks) => {
                *out = toks;
                true
            }
            None => false,
        }
    }

    fn end(&mut self) -> Span {
        Span::call_site()
    }

    fn source(&self) -> Option<&'a str> {
        None
    }

    fn finish(&mut self, _: &mut Diagnostics<Span>) {}
}

/// Every error at its span, the range checks of the `{ expr }` operands
/// encoded so far (so their errors come in the same build), then a
/// placeholder of the right type so one mistake does not cascade into type
/// errors.
fn compile_errors(
    diag: Diagnostics<Span>,
    flow_skipped: bool,
    encoded: &Encoded<Span>,
    flat: &Flat,
) -> TokenStream {
    // Source order, whichever phase found them.
    let errors = diag.into_sorted(|e| {
        let start = e.span.start();
        (start.line, start.column)
    });
    let mut combined: Option<syn::Error> = None;
    let last = errors.len().saturating_sub(1);
    for (i, e) in errors.into_iter().enumerate() {
        let mut message = e.message;
        if flow_skipped && i == last {
            // Once, under the last error: otherwise a fixed build would
            // surprise with a second round.
            message.push_str(
                "\n\nnote: the flow checks (registers, control flow, stack) run once the \
                 errors above are fixed",
            );
        }
        let err = syn::Error::new(e.span, message);
        match &mut combined {
            Some(c) => c.combine(err),
            None => combined = Some(err),
        }
    }
    let errors = combined.map(|e| e.to_compile_error());
    let mut exprs = ExprItems::default();
    for e in &encoded.exprs {
        exprs.check(e, flat);
    }
    let items = exprs.items;
    quote! {
        {
            #errors
            #(#items)*
            ::bpf_loader::Program::from_static(&[], &[], &[])
        }
    }
}

fn program(encoded: &Encoded<Span>, flat: &Flat) -> TokenStream {
    // Known slots go into one little-endian byte string; slots with a
    // `{ expr }` field are then overwritten by a constructor call.
    let n = encoded.slots.len();
    let mut bytes = Vec::with_capacity(n * 8);
    let mut patches = Vec::new();
    let mut exprs = ExprItems::default();
    for (i, s) in encoded.slots.iter().enumerate() {
        match s.insn() {
            Some(insn) => {
                let (off, imm) = (insn.off().to_le_bytes(), insn.imm().to_le_bytes());
                bytes.extend_from_slice(&[insn.code(), insn.src() << 4 | insn.dst()]);
                bytes.extend_from_slice(&off);
                bytes.extend_from_slice(&imm);
            }
            None => {
                bytes.extend_from_slice(&[0; 8]);
                let code = exprs.field(s.code, encoded, flat, Ty::U8);
                let dst = exprs.field(s.dst, encoded, flat, Ty::U8);
                let src = exprs.field(s.src, encoded, flat, Ty::U8);
                let off = exprs.field(s.off, encoded, flat, Ty::I16);
                let imm = exprs.field(s.imm, encoded, flat, Ty::I32);
                patches
                    .push(quote!(a[#i] = ::bpf_loader::Insn::new(#code, #dst, #src, #off, #imm);));
            }
        }
    }
    let bytes = Literal::byte_string(&bytes);
    let insns = if patches.is_empty() {
        quote!(&::bpf_loader::Insn::array_from_le::<#n>(#bytes))
    } else {
        quote!(&{
            let mut a = ::bpf_loader::Insn::array_from_le::<#n>(#bytes);
            #(#patches)*
            a
        })
    };
    let relocs = encoded
        .relocs
        .iter()
        .map(|(slot, name)| quote!(::bpf_loader::MapReloc::new(#slot, #name)));
    let source = encoded.stmts.iter().map(|s| {
        let (slot, line, text) = (s.slot, s.line, &s.text);
        quote!(::bpf_loader::SourceLine::located(FILE, #slot, #line, #text))
    });
    // The variant's name: `ProgType`'s `Debug` is the variant (`SocketFilter`).
    let prog_type = format_ident!("{}", format!("{:?}", encoded.options.prog_type));
    let items = exprs.items;
    let constructor = if encoded.maps.is_empty() {
        quote!(::bpf_loader::Program::from_static_typed(::bpf_loader::ProgType::#prog_type, INSNS, RELOCS, SOURCE))
    } else {
        let maps = map_specs(&encoded.maps);
        quote! {{
            const MAPS: &[::bpf_loader::MapSpec] = &[#(#maps),*];
            ::bpf_loader::Program::from_static_with_maps(::bpf_loader::ProgType::#prog_type, INSNS, RELOCS, SOURCE, MAPS)
        }}
    };
    quote! {
        {
            #(#items)*
            const INSNS: &[::bpf_loader::Insn] = #insns;
            const RELOCS: &[::bpf_loader::MapReloc] = &[#(#relocs),*];
            const FILE: &str = ::core::file!();
            const SOURCE: &[::bpf_loader::SourceLine] = &[#(#source),*];
            #constructor
        }
    }
}

/// `MapSpec::new(..)` for every `#![map(...)]` declaration.
fn map_specs(maps: &[crate::MapSpec]) -> Vec<TokenStream> {
    maps.iter()
        .map(|m| {
            let name = &*m.name;
            // `MapType`'s `Debug` is the variant (`PercpuArray`).
            let ty = format_ident!("{}", format!("{:?}", m.map_type));
            let (k, v, n, f) = (m.key_size, m.value_size, m.max_entries, m.flags);
            quote!(::bpf_loader::MapSpec::new(#name, ::bpf_loader::MapType::#ty, #k, #v, #n, #f))
        })
        .collect()
}

/// The Rust type of an instruction field.
#[derive(Clone, Copy)]
enum Ty {
    U8,
    I16,
    I32,
}

/// The items generated for `{ expr }` operands: per expression, one
/// constant holding its value as `i128`, and one `const _` that checks the
/// range. Separate items are evaluated separately, so every bad expression
/// is reported, each at its own tokens.
#[derive(Default)]
struct ExprItems {
    items: Vec<TokenStream>,
    done: std::collections::HashSet<u32>,
}

impl ExprItems {
    /// A field's value: a suffixed literal, or a read of the expression's
    /// checked constant.
    fn field(&mut self, f: Field, encoded: &Encoded<Span>, flat: &Flat, ty: Ty) -> TokenStream {
        let e = match f {
            Field::Lit(v) => {
                let lit = match ty {
                    Ty::U8 => Literal::u8_suffixed(v as u8),
                    Ty::I16 => Literal::i16_suffixed(v as i16),
                    Ty::I32 => Literal::i32_suffixed(v as i32),
                };
                return quote!(#lit);
            }
            Field::Expr(i) => encoded.exprs.get(i as usize),
        };
        let Some(e) = e else {
            return quote!(0);
        };
        let ty = match ty {
            Ty::U8 => quote!(u8),
            Ty::I16 => quote!(i16),
            Ty::I32 => quote!(i32),
        };
        let Some((signed, span)) = self.check(e, flat) else {
            return quote!(0);
        };
        match e.part {
            Part::Whole => quote_spanned!(span=> #signed as #ty),
            Part::Lo32 => quote_spanned!(span=> #signed as i32),
            Part::Hi32 => quote_spanned!(span=> (#signed >> 32) as i32),
        }
    }

    /// The checked constant of an expression (negated if written `-{..}`),
    /// emitting its items the first time.
    fn check(&mut self, e: &ExprField, flat: &Flat) -> Option<(TokenStream, Span)> {
        let ExprField {
            id,
            neg,
            min,
            max,
            nonzero,
            align,
            what,
            ..
        } = *e;
        let (expr, span) = flat.exprs.get(id as usize)?;
        let span = *span;
        let value = format_ident!("__BPF_EXPR_{}", id, span = span);
        let signed = if neg {
            quote_spanned!(span=> -#value)
        } else {
            quote_spanned!(span=> #value)
        };
        if self.done.insert(id) {
            let shown = expr.to_string();
            // `panic!` reads its literal as a format string.
            let range = if what.contains('(') || what.contains(" from ") {
                String::new()
            } else {
                format!(" ({min} to {max})")
            };
            let range_msg =
                format!("bpf_prog!: `{{{{ {shown} }}}}` is out of range: expected {what}{range}");
            let zero_msg = format!("bpf_prog!: `{{{{ {shown} }}}}` is 0: expected {what}");
            let zero =
                nonzero.then(|| quote_spanned!(span=> if v == 0 { ::core::panic!(#zero_msg) }));
            let align_msg = format!(
                "bpf_prog!: `{{{{ {shown} }}}}` is not a multiple of {align}: expected {what}"
            );
            let align = (align > 1).then(|| {
                let a = Literal::i128_suffixed(i128::from(align));
                quote_spanned!(span=> if v % #a != 0 { ::core::panic!(#align_msg) })
            });
            let (min, max) = (Literal::i128_suffixed(min), Literal::i128_suffixed(max));
            // The expression is bound once, so its type is what Rust infers
            // for it standing alone (an unsuffixed literal is an `i32`, a
            // constant keeps its type): the casts below do not drive the
            // inference. `v < 0` tells the sign for any integer type; below
            // zero the value fits i128, above it u128 does, so the range test
            // is exact whatever the type (values above i128::MAX saturate,
            // and fail).
            self.items.push(quote_spanned! {span=>
                #[allow(non_upper_case_globals, unused_comparisons, unused_parens, clippy::absurd_extreme_comparisons, clippy::cast_possible_wrap, clippy::cast_lossless, clippy::unnecessary_cast)]
                const #value: i128 = {
                    let __bpf_v = #expr;
                    if __bpf_v < 0 {
                        __bpf_v as i128
                    } else if __bpf_v as u128 > i128::MAX as u128 {
                        i128::MAX
                    } else {
                        __bpf_v as i128
                    }
                };
                const _: () = {
                    let v: i128 = #signed;
                    if v < #min || v > #max {
                        ::core::panic!(#range_msg)
                    }
                    #zero
                    #align
                };
            });
        }
        Some((signed, span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_the_seed_program() {
        let out = expand(quote!(mov64 r0, -1; exit)).to_string();
        let bytes =
            r#"array_from_le :: < 2usize > (b"\xB7\0\0\0\xFF\xFF\xFF\xFF\x95\0\0\0\0\0\0\0")"#;
        assert!(out.contains(bytes), "{out}");
        assert!(!out.contains("Insn :: new"), "{out}");
        assert!(
            out.contains("SourceLine :: located (FILE , 0usize"),
            "{out}"
        );
    }

    #[test]
    fn slots_with_expressions_are_patched() {
        let out = expand(quote!(mov64 r0, { K }; exit)).to_string();
        assert!(
            out.contains("a [0usize] = :: bpf_loader :: Insn :: new (183u8"),
            "{out}"
        );
    }

    #[test]
    fn reports_every_error() {
        let out = expand(quote!(mvo r0, 1; mov r11, 2; exit)).to_string();
        // Two errors, the last saying that the flow checks wait for them.
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(out.contains("did you mean `mov`"), "{out}");
        assert!(out.contains("the flow checks"), "{out}");
    }
}
