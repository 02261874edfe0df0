//! The interpreter's memory: every pointer a program holds is an address in
//! one of a few regions (the context, stack frames, map values, ring-buffer
//! records), and every access is checked against the region it
//! falls in: bounds, permission and, for the context, the fields the program
//! type may read or write.
//!
//! Region `i` is based at `(2i + 2) << 32` and owns the 8 GiB around its
//! base, so pointer arithmetic works as in the kernel and a pointer moved
//! before its region's start or past its end never lands in another region:
//! it is out of bounds of its own.

/// One region's kind, which decides what a program may do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The context (`struct __sk_buff`); accesses go through its rules.
    Ctx,
    /// A stack frame (the frame pointer is its end).
    Stack,
    /// A map value, by map and slot (see `maps`).
    MapValue { map: usize, slot: usize },
    /// A reserved ring-buffer record, by map and reservation.
    Record { map: usize, id: u64 },
    /// A map itself (what `lddw rN, map_fd(NAME)` loads): helpers take it,
    /// nothing may be loaded through it.
    Map(usize),
}

/// A region: its kind and, for regions the interpreter owns, the bytes.
#[derive(Clone, Debug)]
pub(crate) struct Region {
    pub(crate) kind: Kind,
    pub(crate) bytes: Vec<u8>,
}

/// The base address of region `i`.
pub(crate) const fn base(i: usize) -> u64 {
    ((i as u64) * 2 + 2) << 32
}

/// The region index and offset (negative before the base) of an address.
pub(crate) fn split(addr: u64) -> Option<(usize, i64)> {
    let hi = addr >> 32;
    if hi == 0 {
        return None;
    }
    let i = hi.div_ceil(2) - 1;
    let off = addr.wrapping_sub(base(i as usize)) as i64;
    Some((usize::try_from(i).ok()?, off))
}

/// What went wrong with an access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Not an address at all (a number, or null).
    NotAPointer(u64),
    /// Past the region's end (or before its start).
    OutOfBounds {
        what: &'static str,
        off: i64,
        size: usize,
        len: usize,
    },
    /// A context access the program type does not allow.
    Ctx(String),
}

impl Kind {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Kind::Ctx => "the context",
            Kind::Stack => "the stack",
            Kind::MapValue { .. } => "a map value",
            Kind::Record { .. } => "a ring buffer record",
            Kind::Map(_) => "a map pointer",
        }
    }
}
