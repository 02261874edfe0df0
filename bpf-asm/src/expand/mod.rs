//! The `bpf_prog!` expansion as a library (feature `macro`): token trees in,
//! the constant `bpf_loader::Program` (or spanned compile errors) out. The
//! proc-macro crate only converts `proc_macro` tokens and calls [`expand`].

mod emit;
mod frontend;

pub use emit::expand;
