//! The one driver of the phases, for both front ends: tokens → parse →
//! encode (labels, forms, ranges) → checks, every phase reporting into one
//! [`Diagnostics`] sink.
//!
//! The runtime assembler hands over one statement's tokens at a time (its
//! lexer is lazy, so only the encoded program grows with the input); the
//! macro hands over the whole token stream at once.

use crate::check::CheckSet;
use crate::diag::Diagnostics;
use crate::encode::{Encoded, Encoder};
use crate::flow;
use crate::parse::Parser;
use crate::token::Tok;

/// Where a front end's tokens come from.
pub(crate) trait Tokens<'a, S> {
    /// Replaces `out` with the tokens of the next whole statements; false
    /// once the input is exhausted.
    fn next_statements(&mut self, out: &mut Vec<Tok<'a, S>>) -> bool;

    /// Where the input ends so far, for errors where the tokens run out.
    fn end(&mut self) -> S;

    /// The text the tokens were lexed from, if any (statement texts are
    /// then sliced from it).
    fn source(&self) -> Option<&'a str>;

    /// Reports what went wrong producing the tokens.
    fn finish(&mut self, diag: &mut Diagnostics<S>);

    /// About how many statements to expect.
    fn size_hint(&self) -> usize {
        0
    }
}

/// Which checks run after encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checks {
    /// The control-flow, register and stack checks.
    pub(crate) flow: bool,
    /// Checks turned off (besides the program's `#![allow(...)]`).
    pub(crate) allow: CheckSet,
}

/// The program and every error found in it.
pub(crate) struct Assembled<S> {
    pub(crate) encoded: Encoded<S>,
    pub(crate) diag: Diagnostics<S>,
    /// The flow checks were asked for but could not run (earlier errors).
    #[cfg_attr(not(feature = "macro"), allow(dead_code))]
    pub(crate) flow_skipped: bool,
}

/// Runs every phase over `tokens`. The flow checks need a whole program,
/// so they run only when the earlier phases found nothing.
pub(crate) fn assemble<'a, S: Copy>(
    tokens: &mut impl Tokens<'a, S>,
    checks: Checks,
) -> Assembled<S> {
    let mut diag = Diagnostics::new();
    let mut parser = Parser::new(tokens.source());
    let mut encoder = Encoder::with_capacity(tokens.size_hint());
    let mut chunk = Vec::with_capacity(16);
    while tokens.next_statements(&mut chunk) {
        let end = tokens.end();
        parser.feed(&chunk, end, &mut diag);
        encoder.feed(parser.parsed_mut(), &mut diag);
    }
    tokens.finish(&mut diag);
    encoder.feed(&mut parser.finish(), &mut diag);
    let encoded = encoder.finish(&mut diag);
    let flow_skipped = checks.flow && !diag.is_clean();
    let allow = checks.allow.union(encoded.options.allow);
    if checks.flow && !flow_skipped {
        flow::check(&encoded, allow, &mut diag);
    } else if flow_skipped {
        // The program is refused anyway: say everything that may be wrong.
        // (With the flow checks off, nothing tells which paths the kernel
        // walks, so these are not promised.)
        for e in encoded.on_walk.iter().filter(|e| !allow.contains(e.check)) {
            diag.push_check(e.span, e.check, e.msg.clone());
        }
    }
    Assembled {
        encoded,
        diag,
        flow_skipped,
    }
}
