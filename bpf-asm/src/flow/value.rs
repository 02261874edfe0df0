//! The abstract values of the data flow: per register whether it is set,
//! constants, pointers, and the bounds the kernel surely knows (to prune
//! branches) or cannot rule out (to promise it walks them); the stack and
//! the state at a program point, with their joins.

use super::*;
use std::rc::Rc;

//
// Two kinds of knowledge serve two purposes. To *prune* a branch edge is
// always safe (it can only hide errors), so pruning uses an
// over-approximation of what the kernel knows, as tight as can be argued:
// constants, the bounds of loads and 32-bit results, stack spills. To
// *promise* that the kernel walks an edge needs the opposite: values it
// cannot rule out, an under-approximation.

/// Whether a register is set: on no path, some paths, or every path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Init {
    Unset,
    Maybe,
    Set,
}

/// No range group.
pub(super) const NO_SITE: u32 = u32::MAX;

/// What is known of a set register's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum K {
    None,
    /// The same value on every path.
    Const(u64),
    /// A scalar. On every path the kernel knows it lies in `[hlo, hhi]`,
    /// and it cannot rule out any value of `[ulo, uhi]` (none when `ulo >
    /// uhi`): a packet or context load, refined by the branches taken. `site` groups the registers the kernel may treat as
    /// copies of one another and refine together. With `ptr` it may instead
    /// be a pointer read from the context.
    Range {
        ulo: u32,
        uhi: u32,
        hlo: u64,
        hhi: u64,
        /// The signed bounds the kernel knows (`smin_value`, `smax_value`):
        /// with `[hlo, hhi]` they can say "s<= 100" of any 64-bit value.
        slo: i64,
        shi: i64,
        site: u32,
        ptr: bool,
    },
    /// A pointer: `CTX`, `STACK`, `OTHER` bits; `off` from the start of the
    /// context or from r10.
    Ptr {
        kinds: u8,
        off: Option<i32>,
    },
    /// What `map_lookup_elem` returned: a pointer into a value of declared
    /// map `map` (`NONE` if unknown) at `off` from the value's start (if
    /// known), null unless `nonnull`. `id` is the `call`'s slot: copies
    /// share it, and the kernel refines them all by one null check.
    Value {
        map: u32,
        off: Option<i32>,
        id: u32,
        nonnull: bool,
    },
    /// A packet pointer (`PTR_TO_PACKET`): `data` read from the context,
    /// moved by `off` bytes. The kernel knows at most `range` bytes from
    /// `data` are inside the packet, learnt by comparisons with `data_end`
    /// (`PKT_ANY`: it may know any number of them). `marks`: what the
    /// kernel may know of where it lies, `PKT_IN` (a range, maybe 0),
    /// `PKT_AT` or `PKT_BEYOND` `data_end` (`mark_pkt_end`, after which it
    /// decides some comparisons with `data_end` by itself), one bit each.
    /// `id`: 0 for `data` moved by constants; after a variable offset, the
    /// slot after the instruction that added it (the kernel's new id): a
    /// comparison teaches only the pointers of its id.
    Pkt {
        off: i32,
        range: u32,
        marks: u8,
        id: u32,
    },
    /// `data_end` read from the context (`PTR_TO_PACKET_END`).
    PktEnd,
}

/// The "map" of a [`K::Value`] that is a socket from `sk_lookup_tcp` and
/// the like, not a map value.
pub(super) const SOCKET: u32 = NONE - 1;
/// The "map" of a [`K::Value`] that is a ring buffer record from
/// `ringbuf_reserve`.
pub(super) const RINGBUF_RECORD: u32 = NONE - 2;

/// The bit of [`State::refs`] for the reference the call at `slot`
/// acquires.
pub(super) fn ref_bit(slot: u32) -> u64 {
    1 << (slot % 64)
}

/// Marks the range group of packet pointers a helper call turned into
/// numbers (with the call's slot), to say so.
pub(super) const DROPPED_PACKET: u32 = 1 << 30;

impl K {
    /// A value in range group `site` of which nothing is known.
    pub(super) const fn unbounded(site: u32, ptr: bool) -> K {
        K::Range {
            ulo: 1,
            uhi: 0,
            hlo: 0,
            hhi: u64::MAX,
            slo: i64::MIN,
            shi: i64::MAX,
            site,
            ptr,
        }
    }
}

/// A packet range the kernel may have learnt in ways not followed here.
pub(super) const PKT_ANY: u32 = u32::MAX;
/// Where a packet pointer may lie, to the kernel: with a range of bytes
/// (`range >= 0`), at `data_end` (`AT_PKT_END`), beyond it
/// (`BEYOND_PKT_END`).
pub(super) const PKT_IN: u8 = 1;
pub(super) const PKT_AT: u8 = 2;
pub(super) const PKT_BEYOND: u8 = 4;

/// A register's (or a spilled stack slot's) abstract value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Val {
    pub(super) init: Init,
    pub(super) k: K,
    /// May be a copy of some `Range` value the kernel refines together.
    pub(super) linked: bool,
    /// May be a pointer to the stack.
    pub(super) stack: bool,
    /// The kernel may know more of it than `k` says: paths that knew
    /// different things were joined, or it comes from a pointer, a helper
    /// with a known result range, or memory the kernel may track.
    pub(super) lossy: bool,
    /// A `Range` the kernel surely holds as a number, not a pointer (a
    /// constant always is one).
    pub(super) scalar: bool,
    /// Bits of a `Range` the kernel knows are 0 (its `tnum`), beyond those
    /// above the range's maximum: from masks, shifts and 32-bit results.
    pub(super) zeros: u64,
}

pub(super) const U32: u64 = u32::MAX as u64;

impl Val {
    pub(super) const UNSET: Val = Val {
        init: Init::Unset,
        k: K::None,
        linked: false,
        stack: false,
        lossy: false,
        scalar: false,
        zeros: 0,
    };
    pub(super) const UNKNOWN: Val = Val {
        init: Init::Set,
        k: K::None,
        linked: false,
        stack: false,
        lossy: false,
        scalar: false,
        zeros: 0,
    };

    pub(super) fn konst(c: u64) -> Val {
        Val {
            k: K::Const(c),
            ..Val::UNKNOWN
        }
    }

    pub(super) fn ptr(kinds: u8, off: Option<i32>) -> Val {
        Val {
            k: K::Ptr {
                kinds,
                off: if kinds == STACK || kinds == CTX {
                    off
                } else {
                    None
                },
            },
            ..Val::UNKNOWN
        }
    }

    /// The map pointer `lddw rN, map_fd(NAME)` loads: an `OTHER` pointer
    /// whose `off` holds the index of the declared map.
    pub(super) fn map_ptr(map: u32) -> Val {
        Val {
            k: K::Ptr {
                kinds: OTHER,
                off: i32::try_from(map).ok(),
            },
            ..Val::UNKNOWN
        }
    }

    /// `data` read from the context: nothing of the packet is known yet.
    pub(super) fn pkt(off: i32, range: u32) -> Val {
        Val {
            k: K::Pkt {
                off,
                range,
                marks: PKT_IN,
                id: 0,
            },
            ..Val::UNKNOWN
        }
    }

    /// A packet pointer at `off` plus a variable offset added by the
    /// instruction at `slot`: no byte known.
    pub(super) fn var_pkt(off: i32, slot: u32) -> Val {
        Val {
            k: K::Pkt {
                off,
                range: 0,
                marks: PKT_IN,
                id: slot.saturating_add(1),
            },
            ..Val::UNKNOWN
        }
    }

    /// A number the kernel knows nothing of, in no range group.
    pub(super) const ANY_NUMBER: Val = Val {
        k: K::unbounded(NO_SITE, false),
        scalar: true,
        ..Val::UNKNOWN
    };

    /// `data_end` read from the context.
    pub(super) const PKT_END: Val = Val {
        k: K::PktEnd,
        ..Val::UNKNOWN
    };

    /// A packet pointer or `data_end`: comparing them teaches the kernel
    /// packet ranges.
    pub(super) fn is_packet(self) -> bool {
        self.is_set() && matches!(self.k, K::Pkt { .. } | K::PktEnd)
    }

    /// Maybe a packet pointer or `data_end` that this analysis does not
    /// follow (not a number, nor another kind of pointer).
    pub(super) fn maybe_packet(self) -> bool {
        !self.is_scalar()
            && !matches!(
                self.k,
                K::Ptr { .. } | K::Value { .. } | K::Pkt { .. } | K::PktEnd
            )
    }

    /// The declared map this register surely points at.
    pub(super) fn map_index(self) -> Option<usize> {
        match self.k {
            K::Ptr {
                kinds: OTHER,
                off: Some(m),
            } if self.is_set() => usize::try_from(m).ok(),
            _ => None,
        }
    }

    pub(super) fn opaque(linked: bool, stack: bool) -> Val {
        Val {
            linked,
            stack,
            ..Val::UNKNOWN
        }
    }

    /// A value the kernel cannot narrow below `[lo, hi]`, nor above.
    pub(super) fn range(lo: u32, hi: u32, site: u32, ptr: bool) -> Val {
        Val {
            k: K::Range {
                ulo: lo,
                uhi: hi,
                hlo: u64::from(lo),
                hhi: u64::from(hi),
                slo: i64::from(lo),
                shi: i64::from(hi),
                site,
                ptr,
            },
            scalar: !ptr,
            ..Val::UNKNOWN
        }
    }

    /// A value the kernel knows is in `[lo, hi]` (and no more), in range
    /// group `site`.
    pub(super) fn bounded(lo: u64, hi: u64, site: u32, linked: bool) -> Val {
        if lo > hi || (site == NO_SITE && lo == 0 && hi == u64::MAX) {
            return Val::opaque(linked, false);
        }
        Val {
            k: K::Range {
                ulo: 1,
                uhi: 0,
                hlo: lo,
                hhi: hi,
                slo: signed_hull(lo, hi).0,
                shi: signed_hull(lo, hi).1,
                site,
                ptr: false,
            },
            linked,
            ..Val::UNKNOWN
        }
    }

    /// A number the kernel knows nothing of (a helper's integer result),
    /// made by the instruction at `site`.
    pub(super) fn unknown_number(site: u32) -> Val {
        let mut v = Val::bounded(0, u64::MAX, site, false).with_scalar(true);
        if let K::Range { ulo, uhi, .. } = &mut v.k {
            (*ulo, *uhi) = (0, u32::MAX);
        }
        v
    }

    /// A new scalar of at most `max`, made by the instruction at `site`.
    pub(super) fn fresh(site: u32, max: u64) -> Val {
        Val::bounded(0, max, site, false)
    }

    pub(super) fn is_set(self) -> bool {
        self.init == Init::Set
    }

    /// The same value, known to the kernel as a number (or not).
    pub(super) fn with_scalar(self, scalar: bool) -> Val {
        Val { scalar, ..self }
    }

    /// A number on every path, to the kernel: a constant, or a range it
    /// surely holds as a scalar.
    pub(super) fn is_scalar(self) -> bool {
        self.is_set()
            && !self.stack
            && match self.k {
                K::Const(_) => true,
                K::Range { ptr, .. } => !ptr && self.scalar,
                _ => false,
            }
    }

    /// A pointer on every path whose type the kernel surely knows: the
    /// context, the stack (as `Ptr` kinds, alone or joined) or a map value
    /// (maybe null). Other pointers (`lddw` of a map, a BTF object, an
    /// arena) stay unjudged.
    pub(super) fn is_typed_ptr(self) -> bool {
        self.is_set()
            && match self.k {
                K::Ptr { kinds, .. } => kinds & OTHER == 0,
                K::Value { .. } | K::Pkt { .. } | K::PktEnd => true,
                _ => false,
            }
    }

    /// The result of `map_lookup_elem` at `slot` on map `map` (`NONE` if
    /// unknown): a value pointer, or null.
    pub(super) fn lookup(map: u32, slot: u32) -> Val {
        Val {
            k: K::Value {
                map,
                off: Some(0),
                id: slot,
                nonnull: false,
            },
            ..Val::UNKNOWN
        }
    }

    /// A pointer at `off` (if known) into a value of map `map`, from the
    /// lookup `id`, checked not null.
    pub(super) fn value(map: u32, off: Option<i32>, id: u32) -> Val {
        Val {
            k: K::Value {
                map,
                off,
                id,
                nonnull: true,
            },
            ..Val::UNKNOWN
        }
    }

    /// A map value pointer that may still be null: its lookup's slot.
    pub(super) fn maybe_null(self) -> Option<u32> {
        match self.k {
            K::Value {
                id, nonnull: false, ..
            } if self.is_set() => Some(id),
            _ => None,
        }
    }

    pub(super) fn linked_any(self) -> bool {
        self.linked || matches!(self.k, K::Range { site, .. } if site != NO_SITE)
    }

    pub(super) fn stack_any(self) -> bool {
        self.stack || matches!(self.k, K::Ptr { kinds, .. } if kinds & STACK != 0)
    }

    pub(super) fn konst_of(self) -> Option<u64> {
        match self.k {
            K::Const(c) if self.is_set() => Some(c),
            _ => None,
        }
    }

    pub(super) fn ctx_off(self) -> Option<Option<i64>> {
        match self.k {
            K::Ptr { kinds: CTX, off } if self.is_set() => Some(off.map(i64::from)),
            _ => None,
        }
    }

    pub(super) fn stack_off(self) -> Option<i64> {
        match self.k {
            K::Ptr {
                kinds: STACK,
                off: Some(o),
            } if self.is_set() => Some(i64::from(o)),
            _ => None,
        }
    }

    /// Values the kernel surely cannot rule out, and "maybe a pointer".
    pub(super) fn under(self) -> Option<(u64, u64, bool)> {
        if !self.is_set() {
            return None;
        }
        match self.k {
            K::Const(c) => Some((c, c, false)),
            K::Range { ulo, uhi, ptr, .. } if ulo <= uhi => {
                Some((u64::from(ulo), u64::from(uhi), ptr))
            }
            _ => None,
        }
    }

    /// Bounds the kernel surely knows.
    pub(super) fn hull(self) -> Option<(u64, u64)> {
        if !self.is_set() {
            return None;
        }
        match self.k {
            K::Const(c) => Some((c, c)),
            K::Range { hlo, hhi, .. } => Some((hlo, hhi)),
            _ => None,
        }
    }

    /// The values the kernel knows this may be, as at most two unsigned
    /// intervals: its unsigned bounds met with its signed ones.
    pub(super) fn known(self) -> Option<[Option<(u64, u64)>; 2]> {
        if !self.is_set() {
            return None;
        }
        match self.k {
            K::Const(c) => Some([Some((c, c)), None]),
            K::Range {
                hlo, hhi, slo, shi, ..
            } => Some(meet(hlo, hhi, slo, shi)),
            _ => None,
        }
    }

    /// The one value the kernel knows this is.
    pub(super) fn single(self) -> Option<u64> {
        self.hull().filter(|h| h.0 == h.1).map(|h| h.0)
    }

    /// A context or stack pointer: the kernel decides no comparison with it.
    pub(super) fn undecided_ptr(self) -> bool {
        self.is_set() && matches!(self.k, K::Ptr { kinds, .. } if kinds & OTHER == 0)
    }

    /// The same value with nothing known of it.
    pub(super) fn strip(self) -> Val {
        Val {
            init: self.init,
            k: K::None,
            linked: self.linked_any(),
            stack: self.stack_any(),
            lossy: true,
            scalar: false,
            zeros: 0,
        }
    }

    /// Signed bounds narrower than its unsigned ones imply (`jsgt r0, 10`
    /// of an unknown number).
    pub(super) fn signed_extra(self) -> bool {
        match self.k {
            K::Range {
                hlo, hhi, slo, shi, ..
            } if self.is_set() => (slo, shi) != signed_hull(hlo, hhi),
            _ => false,
        }
    }

    /// The bits the kernel surely knows are 0 in this number.
    pub(super) fn known_zeros(self) -> u64 {
        if !self.is_set() {
            return 0;
        }
        match self.k {
            K::Const(c) => !c,
            K::Range {
                hhi, ptr: false, ..
            } => {
                let above = if hhi == 0 {
                    u64::MAX
                } else {
                    !(u64::MAX >> hhi.leading_zeros())
                };
                self.zeros | above
            }
            _ => 0,
        }
    }

    /// The kernel may decide a comparison with it that this analysis
    /// cannot: it knows more, or the value may be a pointer.
    pub(super) fn vague(self) -> bool {
        self.lossy
            || matches!(
                self.k,
                K::Ptr { .. }
                    | K::Value { .. }
                    | K::Pkt { .. }
                    | K::PktEnd
                    | K::Range { ptr: true, .. }
            )
    }

    pub(super) fn with_lossy(self, lossy: bool) -> Val {
        Val {
            lossy: self.lossy || lossy,
            ..self
        }
    }

    /// The value as stored in (or loaded from) `size` bytes.
    pub(super) fn sized(self, size: u8) -> Val {
        if size >= 8 {
            return self;
        }
        let max = (1u64 << (8 * u32::from(size))) - 1;
        match self.k {
            K::Const(c) => Val::konst(c & max),
            K::Range { hhi, .. } if hhi <= max => self,
            // The kernel keeps what it knew of the low bytes (its 32-bit
            // bounds, known bits): more than `[0, max]` unless it knew
            // nothing.
            K::Range {
                hlo: 0,
                hhi: u64::MAX,
                ..
            } if !self.lossy && self.zeros == 0 && !self.signed_extra() => {
                Val::bounded(0, max, NO_SITE, self.linked_any()).with_scalar(self.is_scalar())
            }
            _ => Val::bounded(0, max, NO_SITE, self.linked_any())
                .with_scalar(self.is_scalar())
                .with_lossy(true),
        }
    }

    /// Drops the values the kernel surely cannot rule out.
    pub(super) fn forget_under(&mut self) {
        if let K::Range { ulo, uhi, .. } = &mut self.k {
            *ulo = 1;
            *uhi = 0;
        }
    }
}

/// The signed bounds of the unsigned interval `[lo, hi]`.
pub(super) fn signed_hull(lo: u64, hi: u64) -> (i64, i64) {
    if (lo as i64) <= (hi as i64) {
        (lo as i64, hi as i64)
    } else {
        (i64::MIN, i64::MAX)
    }
}

/// The values in both `[hlo, hhi]` (unsigned) and `[slo, shi]` (signed),
/// as at most two unsigned intervals.
pub(super) fn meet(hlo: u64, hhi: u64, slo: i64, shi: i64) -> [Option<(u64, u64)>; 2] {
    // The signed interval as unsigned pieces: negatives sort above.
    let s = if slo >= 0 || shi < 0 {
        [Some((slo as u64, shi as u64)), None]
    } else {
        [Some((0, shi as u64)), Some((slo as u64, u64::MAX))]
    };
    let mut out = [None; 2];
    let mut n = 0;
    for (a, b) in s.into_iter().flatten() {
        let (a, b) = (a.max(hlo), b.min(hhi));
        if a <= b {
            out[n] = Some((a, b));
            n += 1;
        }
    }
    if n == 0 {
        // Contradictory bounds: only on a dead path; keep the unsigned ones.
        out[0] = Some((hlo, hhi));
    }
    out
}

fn unsigned_hull(pieces: &[(u64, u64)]) -> Option<(u64, u64)> {
    let lo = pieces.iter().map(|p| p.0).min()?;
    Some((lo, pieces.iter().map(|p| p.1).max()?))
}

/// The signed bounds of a set of unsigned intervals.
fn signed_hull_of(pieces: &[(u64, u64)]) -> (i64, i64) {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for &(a, b) in pieces {
        let (l, h) = signed_hull(a, b);
        lo = lo.min(l);
        hi = hi.max(h);
    }
    (lo, hi)
}

pub(super) fn join_k(a: K, b: K) -> K {
    let empty = |lo: u32, hi: u32| if lo > hi { (1, 0) } else { (lo, hi) };
    match (a, b) {
        _ if a == b => a,
        (K::Const(x), K::Const(y)) => K::Range {
            ulo: 1,
            uhi: 0,
            hlo: x.min(y),
            hhi: x.max(y),
            slo: (x as i64).min(y as i64),
            shi: (x as i64).max(y as i64),
            site: NO_SITE,
            ptr: false,
        },
        (
            K::Const(c),
            K::Range {
                ulo,
                uhi,
                hlo,
                hhi,
                slo,
                shi,
                site,
                ptr,
            },
        )
        | (
            K::Range {
                ulo,
                uhi,
                hlo,
                hhi,
                slo,
                shi,
                site,
                ptr,
            },
            K::Const(c),
        ) => {
            let (ulo, uhi) = match u32::try_from(c) {
                Ok(c) if ulo <= c && c <= uhi => (c, c),
                _ => (1, 0),
            };
            K::Range {
                ulo,
                uhi,
                hlo: hlo.min(c),
                hhi: hhi.max(c),
                slo: slo.min(c as i64),
                shi: shi.max(c as i64),
                site,
                ptr,
            }
        }
        (
            K::Range {
                ulo: ul1,
                uhi: uh1,
                hlo: hl1,
                hhi: hh1,
                slo: sl1,
                shi: sh1,
                site: s1,
                ptr: p1,
            },
            K::Range {
                ulo: ul2,
                uhi: uh2,
                hlo: hl2,
                hhi: hh2,
                slo: sl2,
                shi: sh2,
                site: s2,
                ptr: p2,
            },
        ) => {
            let (ulo, uhi) = if s1 == s2 {
                empty(ul1.max(ul2), uh1.min(uh2))
            } else {
                (1, 0)
            };
            K::Range {
                ulo,
                uhi,
                hlo: hl1.min(hl2),
                hhi: hh1.max(hh2),
                slo: sl1.min(sl2),
                shi: sh1.max(sh2),
                // Different groups on the two paths: `State::join` merges them.
                site: s1.min(s2),
                ptr: p1 || p2,
            }
        }
        (K::Ptr { kinds: k1, off: o1 }, K::Ptr { kinds: k2, off: o2 }) => {
            let kinds = k1 | k2;
            K::Ptr {
                kinds,
                // For `OTHER` pointers `off` is a declared map's index.
                off: if (kinds == STACK || kinds == CTX || kinds == OTHER) && o1 == o2 {
                    o1
                } else {
                    None
                },
            }
        }
        (
            K::Value {
                map: m1,
                off: o1,
                id: i1,
                nonnull: n1,
            },
            K::Value {
                map: m2,
                off: o2,
                id: i2,
                nonnull: n2,
            },
        ) if m1 == m2 && i1 == i2 && n1 == n2 => K::Value {
            map: m1,
            off: if o1 == o2 { o1 } else { None },
            id: i1,
            nonnull: n1,
        },
        (
            K::Pkt {
                off: o1,
                range: r1,
                marks: m1,
                id: i1,
            },
            K::Pkt {
                off: o2,
                range: r2,
                marks: m2,
                id: i2,
            },
        ) if o1 == o2 && i1 == i2 => K::Pkt {
            off: o1,
            // Each path is walked alone: the most any of them knows.
            range: r1.max(r2),
            marks: m1 | m2,
            id: i1,
        },
        // Null on one path, not on another: the kernel walks each alone.
        _ => K::None,
    }
}

pub(super) fn join_val(a: Val, b: Val) -> Val {
    if a == b {
        return a;
    }
    let init = match (a.init, b.init) {
        (Init::Unset, Init::Unset) => Init::Unset,
        (Init::Set, Init::Set) => Init::Set,
        _ => Init::Maybe,
    };
    let k = if init == Init::Set {
        join_k(a.k, b.k)
    } else {
        K::None
    };
    let mut v = Val {
        init,
        k,
        linked: a.linked || b.linked,
        stack: a.stack || b.stack,
        // Each path knew its own value; the join knows less.
        lossy: a.lossy || b.lossy || a.k != b.k,
        scalar: a.is_scalar() && b.is_scalar(),
        zeros: if matches!(k, K::Range { .. }) {
            a.known_zeros() & b.known_zeros()
        } else {
            0
        },
    };
    for x in [a, b] {
        if let K::Range { site, .. } = x.k
            && site != NO_SITE
            && !matches!(k, K::Range { .. })
        {
            v.linked = true;
        }
        if x.stack_any() && !matches!(k, K::Ptr { kinds, .. } if kinds & STACK != 0) {
            v.stack = true;
        }
    }
    v
}

/// Stack bytes `[r10 - 512, r10)`, one bit each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Stack {
    /// Written on some path.
    pub(super) written: [u64; 8],
    /// Unwritten on some path the kernel surely walks.
    pub(super) unwritten_sure: [u64; 8],
}

impl Stack {
    pub(super) fn fresh(sure: bool) -> Stack {
        Stack {
            written: [0; 8],
            unwritten_sure: if sure { [!0; 8] } else { [0; 8] },
        }
    }

    pub(super) fn write(&mut self, a: usize, b: usize) {
        for i in a..b.min(512) {
            self.written[i / 64] |= 1 << (i % 64);
            self.unwritten_sure[i / 64] &= !(1 << (i % 64));
        }
    }

    pub(super) fn havoc(&mut self) {
        self.written = [!0; 8];
        self.unwritten_sure = [0; 8];
    }

    /// (some byte never written, some byte unwritten on a sure path).
    pub(super) fn status(&self, a: usize, b: usize) -> (bool, bool) {
        let mut never = false;
        let mut sure = false;
        for i in a..b.min(512) {
            never |= self.written[i / 64] & (1 << (i % 64)) == 0;
            sure |= self.unwritten_sure[i / 64] & (1 << (i % 64)) != 0;
        }
        (never, sure)
    }
}

/// Range groups merged by a join: each to the least of its class.
#[derive(Default)]
pub(super) struct Groups(pub(super) Vec<(u32, u32)>);

impl Groups {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn find(&self, mut x: u32) -> u32 {
        // Parents are smaller, so this ends.
        while let Some(&(_, p)) = self.0.iter().find(|e| e.0 == x) {
            x = p;
        }
        x
    }

    pub(super) fn union(&mut self, a: u32, b: u32) {
        if a == NO_SITE || b == NO_SITE {
            return;
        }
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0.push((a.max(b), a.min(b)));
        }
    }
}

/// Byte indexes of `size` bytes at `r10 + off`, if inside the stack.
pub(super) fn stack_bytes(off: i64, size: u8) -> Option<(usize, usize)> {
    let end = off.checked_add(i64::from(size))?;
    if off < -512 || end > 0 || size == 0 {
        return None;
    }
    Some(((off + 512) as usize, (end + 512) as usize))
}

/// A value stored at `[r10 + off]`, `size` bytes, that a load of the same
/// bytes gets back (the kernel tracks spilled registers and constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Spill {
    pub(super) off: i32,
    pub(super) size: u8,
    pub(super) val: Val,
}

/// Chunks of [`Spills`]: each holds the spills starting in 64 bytes of
/// the stack.
const CHUNKS: usize = 8;

/// The chunk holding spills that start at `r10 + off` (monotonic in
/// `off`, so the chunks in order hold the spills in order).
fn chunk_of(off: i64) -> usize {
    (off + 512).div_euclid(64).clamp(0, CHUNKS as i64 - 1) as usize
}

/// A state's spills, sorted by offset and not overlapping. Each chunk is
/// shared between the states copied at branches and joins until one of
/// them changes it: a program that fills the stack holds a hundred
/// spills, and copying them all at every branch edge (or when a branch
/// refines one) was most of the walk's time.
#[derive(Clone, Debug, Default)]
pub(super) struct Spills([Option<Rc<Vec<Spill>>>; CHUNKS]);

impl PartialEq for Spills {
    fn eq(&self, o: &Spills) -> bool {
        (0..CHUNKS).all(|c| self.shares(o, c) || self.chunk(c) == o.chunk(c))
    }
}

impl Eq for Spills {}

impl Spills {
    fn chunk(&self, c: usize) -> &[Spill] {
        self.0[c].as_deref().map_or(&[], Vec::as_slice)
    }

    /// Whether chunk `c` is the same in both, without comparing spills.
    fn shares(&self, o: &Spills, c: usize) -> bool {
        match (&self.0[c], &o.0[c]) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// Chunk `c` to change, copied first if another state shares it.
    fn chunk_mut(&mut self, c: usize) -> &mut Vec<Spill> {
        Rc::make_mut(self.0[c].get_or_insert_default())
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.0
            .iter()
            .all(|c| c.as_ref().is_none_or(|v| v.is_empty()))
    }

    /// The last spill starting at or below `r10 + at`.
    fn last_from(&self, at: i64) -> Option<&Spill> {
        let c = chunk_of(at);
        let here = self.chunk(c);
        match here.partition_point(|s| i64::from(s.off) <= at) {
            0 => (0..c).rev().find_map(|d| self.chunk(d).last()),
            k => here.get(k - 1),
        }
    }

    /// The spill holding byte `r10 + at`, if any.
    pub(super) fn holding(&self, at: i64) -> Option<&Spill> {
        self.last_from(at)
            .filter(|s| i64::from(s.off) + i64::from(s.size) > at)
    }

    /// Replaces the spills overlapping bytes `[at, end)` by `new`.
    fn replace(&mut self, at: i64, end: i64, new: Option<Spill>) {
        // Spills do not overlap: besides those starting inside, only the
        // one holding byte `at` reaches in.
        let before = self
            .holding(at)
            .map(|s| s.off)
            .filter(|&o| i64::from(o) < at);
        let inside = |s: &Spill| (at..end).contains(&i64::from(s.off));
        let chunks = chunk_of(at)..=chunk_of(end - 1).max(chunk_of(at));
        if before.is_none()
            && let Some(n) = new
        {
            let mut there = chunks
                .clone()
                .flat_map(|c| self.chunk(c))
                .filter(|s| inside(s));
            if there.next() == Some(&n) && there.next().is_none() {
                return;
            }
        }
        if let Some(off) = before {
            let v = self.chunk_mut(chunk_of(i64::from(off)));
            let k = v.partition_point(|s| s.off < off);
            v.remove(k);
        }
        for c in chunks {
            if self.chunk(c).iter().any(inside) {
                self.chunk_mut(c).retain(|s| !inside(s));
            }
        }
        if let Some(n) = new {
            let v = self.chunk_mut(chunk_of(i64::from(n.off)));
            let k = v.partition_point(|s| s.off < n.off);
            v.insert(k, n);
        }
    }

    /// Keeps the spills ending at or below `at` (the spills' ends are
    /// sorted like their starts, as they do not overlap).
    fn keep_below(&mut self, at: i64) {
        for c in 0..CHUNKS {
            let here = self.chunk(c);
            let k = here.partition_point(|s| i64::from(s.off) + i64::from(s.size) <= at);
            if k < here.len() {
                self.chunk_mut(c).truncate(k);
            }
        }
    }

    pub(super) fn clear(&mut self) {
        *self = Spills::default();
    }

    /// The spill of `o` at the same offset and of the same size as each
    /// of these that has one, leaving out shared chunks (their pairs are
    /// equal).
    fn pairs<'s>(&'s self, o: &'s Spills) -> impl Iterator<Item = (&'s Spill, &'s Spill)> {
        (0..CHUNKS)
            .filter(|&c| !self.shares(o, c))
            .flat_map(move |c| pairs_in(self.chunk(c), o.chunk(c)))
    }

    /// Joins `o` into these with `f`: what both hold at the same bytes
    /// stays, the rest goes; whether anything changed. `f` must keep a
    /// value joined with itself: shared chunks are left alone.
    fn join(&mut self, o: &Spills, f: impl Fn(Val, Val) -> Val) -> bool {
        let mut changed = false;
        for c in 0..CHUNKS {
            if self.shares(o, c) {
                continue;
            }
            if let Some(v) = join_chunk(self.chunk(c), o.chunk(c), &f) {
                self.0[c] = (!v.is_empty()).then(|| Rc::new(v));
                changed = true;
            }
        }
        changed
    }

    /// Replaces each spilled value `v` by `f(v)` where that is `Some`;
    /// whether any changed. Copies a shared chunk only if one of its values
    /// changes.
    fn map(&mut self, f: impl Fn(Val) -> Option<Val>) -> bool {
        let mut changed = false;
        for c in 0..CHUNKS {
            let changes = |s: &Spill| f(s.val).is_some_and(|w| w != s.val);
            let Some(first) = self.chunk(c).iter().position(changes) else {
                continue;
            };
            for s in &mut self.chunk_mut(c)[first..] {
                if let Some(w) = f(s.val) {
                    s.val = w;
                }
            }
            changed = true;
        }
        changed
    }
}

/// The spill of `b` at the same offset and of the same size as each of
/// `a` that has one (both sorted by offset).
fn pairs_in<'s>(a: &'s [Spill], b: &'s [Spill]) -> impl Iterator<Item = (&'s Spill, &'s Spill)> {
    let mut j = 0;
    a.iter().filter_map(move |s| {
        while b.get(j).is_some_and(|t| t.off < s.off) {
            j += 1;
        }
        b.get(j)
            .filter(|t| t.off == s.off && t.size == s.size)
            .map(|t| (s, t))
    })
}

/// `a` joined with `b` by `f` (what both hold at the same bytes), if that
/// differs from `a`.
fn join_chunk(a: &[Spill], b: &[Spill], f: impl Fn(Val, Val) -> Val) -> Option<Vec<Spill>> {
    let mut out: Option<Vec<Spill>> = None;
    let mut j = 0;
    for (k, s) in a.iter().enumerate() {
        while b.get(j).is_some_and(|t| t.off < s.off) {
            j += 1;
        }
        let joined = b
            .get(j)
            .filter(|t| t.off == s.off && t.size == s.size)
            .map(|t| Spill {
                val: f(s.val, t.val),
                ..*s
            });
        if out.is_none() && joined != Some(*s) {
            out = Some(a[..k].to_vec());
        }
        if let (Some(out), Some(joined)) = (&mut out, joined) {
            out.push(joined);
        }
    }
    out
}

/// The abstract state before an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct State {
    pub(super) regs: [Val; 11],
    /// Some path the kernel surely walks reaches here.
    pub(super) sure: bool,
    /// Some path here went through a branch the kernel may decide with
    /// knowledge this analysis lacks: what no path sets is reported only
    /// if a sure path reaches it.
    pub(super) suspect: bool,
    /// Registers unset on some path the kernel surely walks.
    pub(super) unset_sure: u16,
    /// Registers unset by a call (r1–r5) or returned unset by a function
    /// (r0) on some path.
    pub(super) clobbered: u16,
    /// The instruction that clobbered r1–r5 last (`NONE` if none), to say
    /// so when one is read.
    pub(super) clobbered_by: u32,
    /// Stack slots holding known values on every path, by offset.
    pub(super) spills: Spills,
    /// References (sockets, ring buffer records) some path here holds and
    /// has not released: one bit per acquiring call, by `ref_bit`.
    pub(super) refs: u64,
    /// Only under `#![unprivileged]`.
    pub(super) stack: Option<Box<Stack>>,
}

impl State {
    pub(super) fn entry_main(unpriv: bool) -> State {
        let mut regs = [Val::UNSET; 11];
        regs[1] = Val::ptr(CTX, Some(0));
        regs[10] = Val::ptr(STACK, Some(0));
        State {
            regs,
            sure: true,
            suspect: false,
            unset_sure: 0x3fd, // r0, r2-r9
            clobbered: 0,
            clobbered_by: NONE,
            spills: Spills::default(),
            refs: 0,
            stack: unpriv.then(|| Box::new(Stack::fresh(true))),
        }
    }

    /// A function's entry, with its arguments in r1-r5.
    pub(super) fn entry_func(caller: &State, sure: bool, args: [Val; 5]) -> State {
        let mut regs = [Val::UNSET; 11];
        for (r, a) in regs[1..=5].iter_mut().zip(args) {
            *r = match a.k {
                // The caller's stack is not the callee's.
                K::Ptr { kinds, .. } if kinds & STACK != 0 => Val::opaque(a.linked, true),
                // Not followed into functions (the kernel shares their
                // ranges across frames).
                K::Pkt { .. } | K::PktEnd => a.strip(),
                _ if a.is_set() => a,
                _ => Val::opaque(true, true),
            };
        }
        regs[10] = Val::ptr(STACK, Some(0));
        State {
            regs,
            sure,
            // Entered only from suspect paths, it may never run.
            suspect: caller.suspect,
            unset_sure: if sure { 0x3c1 } else { 0 }, // r0, r6-r9
            clobbered: 0,
            clobbered_by: NONE,
            spills: Spills::default(),
            // The caller's references are not checked in the callee.
            refs: 0,
            stack: caller.stack.is_some().then(|| Box::new(Stack::fresh(sure))),
        }
    }

    pub(super) fn reg(&self, r: u8) -> Val {
        self.regs
            .get(usize::from(r))
            .copied()
            .unwrap_or(Val::UNKNOWN)
    }

    pub(super) fn write(&mut self, r: u8, v: Val) {
        if r < 10 {
            self.regs[usize::from(r)] = v;
            self.unset_sure &= !(1 << r);
            self.clobbered &= !(1 << r);
        }
    }

    /// r1-r5 after a call (instruction `by`).
    pub(super) fn clobber_args(&mut self, by: u32) {
        self.clobbered_by = by;
        for r in 1..=5u8 {
            self.regs[usize::from(r)] = Val::UNSET;
            self.clobbered |= 1 << r;
            if self.sure {
                self.unset_sure |= 1 << r;
            } else {
                self.unset_sure &= !(1 << r);
            }
        }
    }

    pub(super) fn make_unsure(&mut self) {
        self.sure = false;
        self.unset_sure = 0;
        if let Some(s) = self.stack.as_mut() {
            s.unwritten_sure = [0; 8];
        }
    }

    /// Replaces each value `v`, in registers and spilled (the kernel
    /// refines copies of a value wherever they are), by `f(v)` where that
    /// is `Some` (`None` for the values `f` leaves alone: telling so is
    /// cheaper than comparing); whether any changed. `f` is called more
    /// than once on a value, so must not keep state.
    pub(super) fn map_values(&mut self, f: impl Fn(Val) -> Option<Val>) -> bool {
        let mut changed = false;
        for v in &mut self.regs {
            if let Some(w) = f(*v) {
                changed |= w != *v;
                *v = w;
            }
        }
        self.spills.map(f) || changed
    }

    /// Forgets what the kernel surely cannot rule out of range group `site`
    /// (or of all), which it may have refined in a way not followed here.
    pub(super) fn forget_ranges(&mut self, site: Option<u32>) {
        self.map_values(|mut v| match v.k {
            K::Range { site: s, .. } if site.is_none_or(|x| x == s) => {
                v.forget_under();
                v.lossy = true;
                Some(v)
            }
            _ => None,
        });
    }

    /// A reference released (`id`, or any if `None`): the kernel holds
    /// every copy of it as a number from then on.
    pub(super) fn drop_reference(&mut self, id: Option<u32>) {
        self.map_values(|v| match v.k {
            K::Value {
                map: SOCKET | RINGBUF_RECORD,
                id: i,
                ..
            } if v.is_set() => match id {
                Some(x) if x == i => Some(Val::ANY_NUMBER),
                Some(_) => None,
                None => Some(v.strip()),
            },
            _ => None,
        });
    }

    /// Forgets what the kernel surely cannot rule out of the values that
    /// may be linked to another (`linked`): a comparison refines them.
    pub(super) fn forget_linked(&mut self) {
        self.map_values(|mut v| match v.k {
            K::Range { ulo, uhi, .. } if v.linked && (ulo <= uhi || !v.lossy) => {
                v.forget_under();
                v.lossy = true;
                Some(v)
            }
            _ => None,
        });
    }

    /// A null check of the lookup result `id` (and of its copies, which the
    /// kernel refines with it): a value pointer where it is not null, the
    /// number 0 where it is.
    pub(super) fn null_check(&mut self, id: u32, nonnull: bool) {
        self.map_values(|mut v| match &mut v.k {
            K::Value {
                id: i, nonnull: n, ..
            } if *i == id && v.init == Init::Set => {
                if nonnull {
                    *n = true;
                    Some(v)
                } else {
                    Some(Val::konst(0))
                }
            }
            _ => None,
        });
        if !nonnull {
            // Null: nothing was acquired.
            self.refs &= !ref_bit(id);
        }
    }

    /// A comparison with `data_end` from which the kernel may learn that up
    /// to `range` bytes of the packet are there: it learns it for every
    /// packet pointer of the compared one's `id` (all if `None`), spilled
    /// ones too; `surely`: it does, which puts them inside the packet again.
    pub(super) fn learn_packet(&mut self, id: Option<u32>, range: u32, surely: bool) {
        self.map_values(|mut v| match &mut v.k {
            K::Pkt {
                range: r,
                marks,
                id: i,
                ..
            } if id.is_none_or(|x| x == *i) => {
                *r = (*r).max(range);
                if surely {
                    *marks = PKT_IN;
                }
                Some(v)
            }
            _ => None,
        });
    }

    /// Packet pointers after a call that may change the packet or learn
    /// ranges in another frame: not followed.
    pub(super) fn forget_packet(&mut self) {
        self.map_values(|v| matches!(v.k, K::Pkt { .. } | K::PktEnd).then(|| v.strip()));
    }

    /// Packet pointers after the helper call at `slot` that may change the
    /// packet: the kernel holds them as unknown numbers from then on.
    pub(super) fn drop_packet(&mut self, slot: u32) {
        self.map_values(|v| {
            (matches!(v.k, K::Pkt { .. } | K::PktEnd) && v.is_set())
                .then(|| Val::unknown_number(slot | DROPPED_PACKET))
        });
    }

    /// Forgets what is known of the lookup results `id` (all if `None`)
    /// that may still be null: the kernel may refine them in ways not
    /// followed here.
    pub(super) fn forget_values(&mut self, id: Option<u32>, all: bool) {
        self.map_values(|v| match v.k {
            K::Value { id: i, nonnull, .. } if id.is_none_or(|x| x == i) && (all || !nonnull) => {
                Some(v.strip())
            }
            _ => None,
        });
    }

    /// Refines register `r` (and the copies the kernel refines with it) by
    /// a comparison with `c` going the way `taken` says.
    pub(super) fn refine(&mut self, r: u8, cmp: Cmp, c: u64, taken: bool) {
        let Some(&Val {
            k: K::Range { site, .. },
            ..
        }) = self.regs.get(usize::from(r))
        else {
            return;
        };
        let narrow = |mut v: Val| {
            if let K::Range {
                ulo,
                uhi,
                hlo,
                hhi,
                slo,
                shi,
                ..
            } = &mut v.k
            {
                if *ulo <= *uhi {
                    let u = refine_interval(u64::from(*ulo), u64::from(*uhi), cmp, c, taken, false);
                    (*ulo, *uhi) = u
                        .and_then(|(a, b)| Some((u32::try_from(a).ok()?, u32::try_from(b).ok()?)))
                        .unwrap_or((1, 0));
                }
                // The kernel learns 32-bit bounds, kept apart from the
                // 64-bit ones, and meets new bounds with the bits it knows
                // (`x & 16` below 9 is 0): neither is followed here.
                if !cmp.wide || v.zeros != 0 {
                    v.lossy = true;
                }
                if cmp.wide || *hhi <= U32 {
                    // At most two pieces of four each: no allocation.
                    let mut pieces = [(0, 0); 8];
                    let mut n = 0;
                    for (lo, hi) in meet(*hlo, *hhi, *slo, *shi).into_iter().flatten() {
                        for p in refine_pieces(lo, hi, cmp, c, taken).into_iter().flatten() {
                            pieces[n] = p;
                            n += 1;
                        }
                    }
                    let pieces = &pieces[..n];
                    // None left: the edge is dead; keep what was known.
                    if let Some(u) = unsigned_hull(pieces) {
                        (*hlo, *hhi) = u;
                        (*slo, *shi) = signed_hull_of(pieces);
                    }
                }
            }
            v
        };
        if site == NO_SITE {
            let v = &mut self.regs[usize::from(r)];
            *v = narrow(*v);
            return;
        }
        self.map_values(|v| match v.k {
            K::Range { site: s, .. } if s == site => Some(narrow(v)),
            _ => None,
        });
    }

    /// A store of `size` bytes at `[r10 + at]`.
    pub(super) fn spill(&mut self, at: i64, size: u8, val: Option<Val>) {
        let end = at + i64::from(size);
        let new = match (val, i32::try_from(at)) {
            (Some(val), Ok(off)) => Some(Spill {
                off,
                size,
                val: val.sized(size),
            }),
            _ => None,
        };
        self.spills.replace(at, end, new);
    }

    /// What a load of `size` bytes at `[r10 + at]` gets, if known.
    pub(super) fn fill(&self, at: i64, size: u8) -> Option<Val> {
        let end = at + i64::from(size);
        let s = self.spills.holding(at)?;
        let (a, b) = (i64::from(s.off), i64::from(s.off) + i64::from(s.size));
        if a == at && s.size == size {
            Some(s.val)
        } else if a <= at && end <= b && s.val.konst_of() == Some(0) {
            Some(Val::konst(0))
        } else if a <= at && end <= b && s.size == 8 && (s.val.is_typed_ptr() || s.val.is_packet())
        {
            // Part of a spilled pointer: a number to the kernel (as root).
            Some(Val::ANY_NUMBER)
        } else {
            None
        }
    }

    /// A helper or function may write the stack through pointer arguments.
    pub(super) fn args_touch_stack(&mut self) {
        let mut args = [Val::UNSET; 5];
        args.copy_from_slice(&self.regs[1..=5]);
        for v in args {
            if v.init == Init::Unset {
                continue;
            }
            if let Some(o) = v.stack_off() {
                self.spills.keep_below(o);
                if let (Some(stack), Some((a, _))) = (self.stack.as_mut(), stack_bytes(o, 1)) {
                    stack.write(a, 512);
                }
            } else if v.stack_any() {
                self.stack_havoc();
                return;
            }
        }
    }

    /// A write to the stack at an unknown place.
    pub(super) fn stack_havoc(&mut self) {
        self.spills.clear();
        if let Some(s) = self.stack.as_mut() {
            s.havoc();
        }
    }

    /// Joins `o` into `self`; whether anything changed.
    pub(super) fn join(&mut self, o: &State, widen: bool) -> bool {
        let mut changed = false;
        // Range groups that meet in one register are merged: refining what
        // is a copy on one path only is safe (it can only prune more).
        let mut merge = Groups::default();
        let pairs = self.regs.iter().zip(&o.regs).map(|(a, b)| (a.k, b.k));
        let spill_pairs = self
            .spills
            .pairs(&o.spills)
            .map(|(s, t)| (s.val.k, t.val.k));
        for (a, b) in pairs.chain(spill_pairs) {
            if let (K::Range { site: x, .. }, K::Range { site: y, .. }) = (a, b) {
                merge.union(x, y);
            }
        }
        let widen_val = |a: Val, b: Val| {
            let j = join_val(a, b);
            if !widen || j == a {
                return j;
            }
            match j.k {
                K::Range { site, ptr, .. } if site != NO_SITE => Val {
                    k: K::unbounded(site, ptr),
                    lossy: true,
                    ..j
                },
                K::None => j,
                _ => j.strip(),
            }
        };
        for (a, &b) in self.regs.iter_mut().zip(&o.regs) {
            let j = widen_val(*a, b);
            if j != *a {
                *a = j;
                changed = true;
            }
        }
        changed |= self.spills.join(&o.spills, widen_val);
        if !merge.is_empty() {
            changed |= self.map_values(|mut v| match &mut v.k {
                K::Range { site, .. } => {
                    *site = merge.find(*site);
                    Some(v)
                }
                _ => None,
            });
        }
        let sure = self.sure || o.sure;
        let suspect = self.suspect || o.suspect;
        let unset_sure = self.unset_sure | o.unset_sure;
        let clobbered = self.clobbered | o.clobbered;
        let refs = self.refs | o.refs;
        changed |= refs != self.refs;
        self.refs = refs;
        changed |= sure != self.sure
            || suspect != self.suspect
            || unset_sure != self.unset_sure
            || clobbered != self.clobbered;
        self.sure = sure;
        self.suspect = suspect;
        self.unset_sure = unset_sure;
        self.clobbered = clobbered;
        // Which call is named is advice, not state: no new walk for it.
        self.clobbered_by = self.clobbered_by.min(o.clobbered_by);
        if let (Some(a), Some(b)) = (self.stack.as_mut(), o.stack.as_ref()) {
            let words = a.written.iter_mut().zip(&b.written);
            for (x, &y) in words.chain(a.unwritten_sure.iter_mut().zip(&b.unwritten_sure)) {
                changed |= *x | y != *x;
                *x |= y;
            }
        }
        changed
    }
}
