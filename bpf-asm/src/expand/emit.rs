//! Runs the core and writes the expansion: a block of `const` tables ending
//! in `bpf_loader::Program::from_static_typed(..)`, or the errors.

use crate::encode::{Encoded, Field, Part, encode};
use crate::error::Error;
use crate::{flow, parse};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};

use super::frontend::{Flat, flatten};

/// The whole expansion of `bpf_prog! { input }`.
///
/// ```
/// let out = bpf_asm::expand::expand("mov64 r0, -1; exit".parse().unwrap());
/// assert!(out.to_string().contains("from_static_typed"));
/// ```
pub fn expand(input: TokenStream) -> TokenStream {
    let flat = flatten(input);
    let toks = flat.toks();
    let (parsed, mut errors) = parse::parse(&toks, Span::call_site());
    let (encoded, encode_errors) = encode(&parsed);
    errors.extend(encode_errors);
    if errors.is_empty() {
        errors.extend(flow::check(&encoded));
    }
    if !errors.is_empty() {
        return compile_errors(errors);
    }
    program(&encoded, &flat)
}

/// Every error at its span, then a placeholder of the right type so one
/// mistake does not cascade into type errors.
fn compile_errors(errors: Vec<Error<Span>>) -> TokenStream {
    let mut combined: Option<syn::Error> = None;
    for e in errors {
        let err = syn::Error::new(e.span, e.message);
        match &mut combined {
            Some(c) => c.combine(err),
            None => combined = Some(err),
        }
    }
    let errors = combined.map(|e| e.to_compile_error());
    quote! {
        {
            #errors
            ::bpf_loader::Program::from_static(&[], &[], &[])
        }
    }
}

fn program(encoded: &Encoded<Span>, flat: &Flat) -> TokenStream {
    let insns = encoded.slots.iter().map(|s| {
        let code = field(s.code, flat, quote!(u8));
        let dst = field(s.dst, flat, quote!(u8));
        let src = field(s.src, flat, quote!(u8));
        let off = field(s.off, flat, quote!(i16));
        let imm = field(s.imm, flat, quote!(i32));
        quote!(::bpf_loader::Insn::new(#code, #dst, #src, #off, #imm))
    });
    let relocs = encoded
        .relocs
        .iter()
        .map(|(slot, name)| quote!(::bpf_loader::MapReloc::new(#slot, #name)));
    let source = encoded.stmts.iter().map(|s| {
        let (slot, line, text) = (s.slot, s.line, &s.text);
        quote!(::bpf_loader::SourceLine::new(#slot, #line, #text))
    });
    let prog_type = encoded.options.prog_type;
    quote! {
        {
            const INSNS: &[::bpf_loader::Insn] = &[#(#insns),*];
            const RELOCS: &[::bpf_loader::MapReloc] = &[#(#relocs),*];
            const SOURCE: &[::bpf_loader::SourceLine] = &[#(#source),*];
            ::bpf_loader::Program::from_static_typed(#prog_type, INSNS, RELOCS, SOURCE)
        }
    }
}

/// A field's value: a suffixed literal, or the user's `{ expr }` checked at
/// compile time by a panic in const evaluation, spanned at the expression.
fn field(f: Field, flat: &Flat, ty: TokenStream) -> TokenStream {
    match f {
        Field::Lit(v) => match ty.to_string().as_str() {
            "u8" => Literal::u8_suffixed(v as u8).into_token_stream(),
            "i16" => Literal::i16_suffixed(v as i16).into_token_stream(),
            _ => Literal::i32_suffixed(v as i32).into_token_stream(),
        },
        Field::Expr {
            id,
            neg,
            min,
            max,
            nonzero,
            what,
            part,
        } => {
            let Some((expr, span)) = flat.exprs.get(id) else {
                return quote!(0);
            };
            let span = *span;
            let shown = expr.to_string();
            let range_msg = format!(
                "bpf_prog!: `{{ {shown} }}` is out of range: expected {what} ({min} to {max})"
            );
            let zero_msg = format!("bpf_prog!: `{{ {shown} }}` is 0: expected {what}");
            let negate = neg.then(|| quote_spanned!(span=> let __bpf_v = -__bpf_v;));
            let zero = nonzero
                .then(|| quote_spanned!(span=> if __bpf_v == 0 { ::core::panic!(#zero_msg) }));
            let take = match part {
                Part::Whole => quote_spanned!(span=> __bpf_v as #ty),
                Part::Lo32 => quote_spanned!(span=> __bpf_v as i32),
                Part::Hi32 => quote_spanned!(span=> (__bpf_v >> 32) as i32),
            };
            let (min, max) = (Literal::i128_suffixed(min), Literal::i128_suffixed(max));
            // `e < 0` tells the sign for any integer type; below zero the
            // value fits i128, above it u128 does, so the range test is exact
            // whatever the type.
            quote_spanned! {span=>
                {
                    #[allow(unused_comparisons, clippy::cast_possible_wrap, clippy::cast_lossless)]
                    let __bpf_v: i128 = if (#expr) < 0 {
                        (#expr) as i128
                    } else if (#expr) as u128 > i128::MAX as u128 {
                        i128::MAX
                    } else {
                        (#expr) as i128
                    };
                    #negate
                    if __bpf_v < #min || __bpf_v > #max {
                        ::core::panic!(#range_msg)
                    }
                    #zero
                    #take
                }
            }
        }
    }
}

trait IntoTokens {
    fn into_token_stream(self) -> TokenStream;
}

impl IntoTokens for Literal {
    fn into_token_stream(self) -> TokenStream {
        quote!(#self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_the_seed_program() {
        let out = expand(quote!(mov64 r0, -1; exit)).to_string();
        assert!(
            out.contains("Insn :: new (183u8 , 0u8 , 0u8 , 0i16 , - 1i32)"),
            "{out}"
        );
        assert!(out.contains("Insn :: new (149u8"), "{out}");
        assert!(out.contains("SourceLine :: new (0usize"), "{out}");
    }

    #[test]
    fn reports_every_error() {
        let out = expand(quote!(mvo r0, 1; mov r11, 2; exit)).to_string();
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(out.contains("did you mean `mov`"), "{out}");
    }
}
