//! `bpf_prog!`: eBPF assembly checked and encoded at compile time.
//!
//! A thin shell over `bpf_asm::expand`: the token trees become the core's
//! tokens, `bpf_asm` parses, checks and encodes them, and the expansion is
//! the constant (or every error, each at its tokens). Use it through
//! `bpf_loader::bpf_prog`, whose paths the expansion names.

use proc_macro::TokenStream;

/// Assembles eBPF instructions into a constant `bpf_loader::Program`.
///
/// The dialect is the project's SYNTAX.md: `mov64 r0, -1; exit`, labels
/// `name:`, memory operands `[r1 + 8]`, `{ expr }` for any integer constant
/// expression, and inner attributes `#![cpu = v4]`,
/// `#![prog_type = socket_filter]`, `#![unprivileged]`. Every error is a
/// compile error at the offending tokens, all reported in one build.
///
/// ```ignore
/// use bpf_loader::{bpf_prog, Program};
/// const ACCEPT_ALL: Program = bpf_prog! { mov64 r0, -1; exit };
/// ```
#[proc_macro]
pub fn bpf_prog(input: TokenStream) -> TokenStream {
    bpf_asm::expand::expand(input.into()).into()
}
