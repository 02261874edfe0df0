//! An assembled program: instructions, map relocations and source lines.

use std::borrow::Cow;
use std::fmt;

use bpf_sys::ProgType;

use crate::insn::{Insn, insns_as_bytes};
use crate::mapspec::MapSpec;

/// A map reference the loader must fill in: `lddw rN, map_fd(NAME)` or
/// `lddw rN, map_value(NAME, off)` leaves the fd out of the instruction at
/// `slot` until the program is loaded with a map bound to `name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapReloc {
    /// Index of the `lddw`'s first slot.
    pub slot: usize,
    /// The name written in the source.
    pub name: Cow<'static, str>,
}

impl MapReloc {
    /// A relocation (used by `bpf_prog!` in constants).
    pub const fn new(slot: usize, name: &'static str) -> Self {
        MapReloc {
            slot,
            name: Cow::Borrowed(name),
        }
    }
}

/// Where an instruction came from: its first slot, the source file and
/// line, and the text written there, so a verifier rejection can name the
/// line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceLine {
    /// Index of the instruction's first slot.
    pub slot: usize,
    /// 1-based line in the source file (0 when unknown).
    pub line: u32,
    /// The instruction as written (normalised spacing).
    pub text: Cow<'static, str>,
    /// The source file: the `bpf_prog!` call's (as `file!()` gives it), the
    /// name given to [`Assembler::source_name`](crate::Assembler::source_name),
    /// or empty when unknown.
    pub file: Cow<'static, str>,
}

impl SourceLine {
    /// A source line in an unnamed source.
    pub const fn new(slot: usize, line: u32, text: &'static str) -> Self {
        Self::located("", slot, line, text)
    }

    /// A source line in `file` (used by `bpf_prog!` in constants).
    pub const fn located(file: &'static str, slot: usize, line: u32, text: &'static str) -> Self {
        SourceLine {
            slot,
            line,
            text: Cow::Borrowed(text),
            file: Cow::Borrowed(file),
        }
    }

    /// `file:line`, or `line N` when the file is unknown.
    ///
    /// ```
    /// use bpf_asm::SourceLine;
    /// assert_eq!(SourceLine::located("src/main.rs", 0, 7, "exit").location(), "src/main.rs:7");
    /// assert_eq!(SourceLine::new(0, 7, "exit").location(), "line 7");
    /// ```
    pub fn location(&self) -> String {
        if self.file.is_empty() {
            format!("line {}", self.line)
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

/// An eBPF program ready to load: what `bpf_prog!` produces as a constant and
/// what the runtime assembler returns.
///
/// ```
/// use bpf_asm::{Insn, Program};
/// static INSNS: [Insn; 2] = [Insn::new(0xb7, 0, 0, 0, -1), Insn::new(0x95, 0, 0, 0, 0)];
/// const PROG: Program = Program::from_static(&INSNS, &[], &[]);
/// assert_eq!(PROG.len(), 2);
/// assert_eq!(PROG.as_bytes().len(), 16);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Program {
    insns: Cow<'static, [Insn]>,
    relocs: Cow<'static, [MapReloc]>,
    source: Cow<'static, [SourceLine]>,
    prog_type: ProgType,
    maps: Cow<'static, [MapSpec]>,
}

impl Program {
    /// A program borrowing static tables; `source` must be sorted by slot.
    pub const fn from_static(
        insns: &'static [Insn],
        relocs: &'static [MapReloc],
        source: &'static [SourceLine],
    ) -> Self {
        Self::from_static_typed(ProgType::SocketFilter, insns, relocs, source)
    }

    /// Like [`from_static`](Self::from_static) for another program type.
    pub const fn from_static_typed(
        prog_type: ProgType,
        insns: &'static [Insn],
        relocs: &'static [MapReloc],
        source: &'static [SourceLine],
    ) -> Self {
        Self::from_static_with_maps(prog_type, insns, relocs, source, &[])
    }

    /// Like [`from_static_typed`](Self::from_static_typed) for a program
    /// that declares maps (what `bpf_prog!` emits for `#![map(...)]`).
    pub const fn from_static_with_maps(
        prog_type: ProgType,
        insns: &'static [Insn],
        relocs: &'static [MapReloc],
        source: &'static [SourceLine],
        maps: &'static [MapSpec],
    ) -> Self {
        Program {
            insns: Cow::Borrowed(insns),
            relocs: Cow::Borrowed(relocs),
            source: Cow::Borrowed(source),
            prog_type,
            maps: Cow::Borrowed(maps),
        }
    }

    /// The same program declaring `maps` (replacing any declarations).
    #[must_use]
    pub fn with_maps(self, maps: Vec<MapSpec>) -> Self {
        Program {
            maps: Cow::Owned(maps),
            ..self
        }
    }

    /// The maps the program declares, in declaration order (empty for a
    /// program that binds every map with
    /// `bpf_loader::ProgramLoader::map`).
    pub fn maps(&self) -> &[MapSpec] {
        &self.maps
    }

    /// The declared map named `name`.
    pub fn map_spec(&self, name: &str) -> Option<&MapSpec> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The same program for another program type (what
    /// `#![prog_type = NAME]` sets; a socket filter by default).
    #[must_use]
    pub fn with_prog_type(self, prog_type: ProgType) -> Self {
        Program { prog_type, ..self }
    }

    /// The program type the program was written for.
    pub const fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// A program owning its tables; `source` is sorted by slot here.
    pub fn new(insns: Vec<Insn>, relocs: Vec<MapReloc>, mut source: Vec<SourceLine>) -> Self {
        // The assemblers make them in order: sorting would only cost.
        if !source.is_sorted_by_key(|s| s.slot) {
            source.sort_by_key(|s| s.slot);
        }
        Program::in_order(insns, relocs, source)
    }

    /// [`Program::new`] for source lines known to be in slot order (the
    /// assembler makes them so), which skips checking.
    pub(crate) fn in_order(
        insns: Vec<Insn>,
        relocs: Vec<MapReloc>,
        source: Vec<SourceLine>,
    ) -> Self {
        debug_assert!(source.is_sorted_by_key(|s| s.slot));
        Program {
            insns: Cow::Owned(insns),
            relocs: Cow::Owned(relocs),
            source: Cow::Owned(source),
            prog_type: ProgType::SocketFilter,
            maps: Cow::Borrowed(&[]),
        }
    }

    /// A program of raw instructions with no relocations or source.
    pub fn from_insns(insns: Vec<Insn>) -> Self {
        Program::new(insns, Vec::new(), Vec::new())
    }

    /// The instruction slots (an `lddw` takes two).
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The number of 8-byte slots.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program has no instructions.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The program in the kernel's layout: 8 bytes per slot, native order.
    pub fn as_bytes(&self) -> &[u8] {
        insns_as_bytes(&self.insns)
    }

    /// The map relocations, in slot order.
    pub fn relocs(&self) -> &[MapReloc] {
        &self.relocs
    }

    /// Source lines, one per instruction that has one, in slot order.
    pub fn source(&self) -> &[SourceLine] {
        &self.source
    }

    /// The source of the instruction covering `slot` (the second slot of an
    /// `lddw` maps to its first).
    pub fn source_of(&self, slot: usize) -> Option<&SourceLine> {
        let i = self.source.partition_point(|s| s.slot <= slot);
        let line = self.source.get(i.checked_sub(1)?)?;
        let next = self.source.get(i).map_or(self.insns.len(), |s| s.slot);
        (slot < next).then_some(line)
    }
}

impl fmt::Display for Program {
    /// The disassembly in the canonical mnemonic spelling, with labels and
    /// map names; it assembles back to the same program, relocations
    /// included. `{:#}` prints LLVM's pseudo-C.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::disassemble_program(self, f.alternate()))
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("insns", &self.insns.len())
            .field("relocs", &self.relocs)
            .field("prog_type", &self.prog_type)
            .field("maps", &self.maps)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_of_maps_second_lddw_slot() {
        let insns = vec![
            Insn::new(0x18, 1, 0, 0, 1),
            Insn::new(0, 0, 0, 0, 0),
            Insn::new(0x95, 0, 0, 0, 0),
        ];
        let src = vec![
            SourceLine::new(2, 3, "exit"),
            SourceLine::new(0, 2, "lddw r1, 1"),
        ];
        let p = Program::new(insns, vec![], src);
        assert_eq!(p.source_of(0).map(|s| s.line), Some(2));
        assert_eq!(p.source_of(1).map(|s| s.line), Some(2));
        assert_eq!(p.source_of(2).map(|s| s.line), Some(3));
        assert_eq!(p.source_of(3), None);
    }
}
