//! The instruction in kernel layout (`struct bpf_insn`), buildable in `const`.

use core::fmt;

/// One 8-byte eBPF instruction slot, laid out exactly as the kernel's
/// `struct bpf_insn`: `code`, the two 4-bit registers, a 16-bit offset and a
/// 32-bit immediate, in native byte order.
///
/// bindgen's accessors for the register bitfields are not `const fn`, so this
/// type exists to let `bpf_prog!` build programs in constants; a test checks
/// that its size, alignment and field offsets equal `bpf_sys::bpf_insn`.
///
/// ```
/// use bpf_asm::Insn;
/// const EXIT: Insn = Insn::new(0x95, 0, 0, 0, 0);
/// assert_eq!(EXIT.to_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
/// let mov = Insn::new(0xbf, 1, 2, 0, 0);
/// assert_eq!((mov.dst(), mov.src()), (1, 2));
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    /// An instruction from its fields. Registers are masked to 4 bits (the
    /// encoder has already checked them).
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        // C bitfields are allocated from the least significant bit on
        // little-endian targets and from the most significant on big-endian
        // ones; `dst_reg` is declared first.
        let regs = if cfg!(target_endian = "little") {
            (src & 0xf) << 4 | (dst & 0xf)
        } else {
            (dst & 0xf) << 4 | (src & 0xf)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    /// The opcode byte.
    pub const fn code(&self) -> u8 {
        self.code
    }

    /// The destination register number.
    pub const fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    /// The source register number.
    pub const fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }

    /// The signed 16-bit offset.
    pub const fn off(&self) -> i16 {
        self.off
    }

    /// The signed 32-bit immediate.
    pub const fn imm(&self) -> i32 {
        self.imm
    }

    /// This instruction with another immediate (how the loader fills
    /// relocations).
    #[must_use]
    pub const fn with_imm(self, imm: i32) -> Self {
        Insn { imm, ..self }
    }

    /// The 8 bytes the kernel reads, in native byte order.
    pub const fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        [
            self.code, self.regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }

    /// An instruction from the 8 bytes the kernel reads, in native byte order.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        Insn {
            code: b[0],
            regs: b[1],
            off: i16::from_ne_bytes([b[2], b[3]]),
            imm: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

impl Insn {
    /// `N` instructions from their little-endian encoding, 8 bytes each
    /// (`regs` = `src << 4 | dst`), in any target's layout. `bpf_prog!`
    /// emits one byte string rather than one constructor call per slot,
    /// which rustc checks much faster.
    ///
    /// ```
    /// const P: [bpf_asm::Insn; 2] =
    ///     bpf_asm::Insn::array_from_le(b"\xb7\0\0\0\xff\xff\xff\xff\x95\0\0\0\0\0\0\0");
    /// assert_eq!(P[0], bpf_asm::Insn::new(0xb7, 0, 0, 0, -1));
    /// ```
    ///
    /// # Panics
    ///
    /// If `bytes` holds fewer than `8 * N` bytes (at compile time when used
    /// in a constant).
    pub const fn array_from_le<const N: usize>(bytes: &[u8]) -> [Insn; N] {
        let mut out = [Insn::new(0, 0, 0, 0, 0); N];
        let mut i = 0;
        while i < N {
            let b = i * 8;
            let regs = bytes[b + 1];
            out[i] = Insn::new(
                bytes[b],
                regs & 0xf,
                regs >> 4,
                i16::from_le_bytes([bytes[b + 2], bytes[b + 3]]),
                i32::from_le_bytes([bytes[b + 4], bytes[b + 5], bytes[b + 6], bytes[b + 7]]),
            );
            i += 1;
        }
        out
    }
}

impl fmt::Debug for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Insn {{ code: {:#04x}, dst: {}, src: {}, off: {}, imm: {} }}",
            self.code,
            self.dst(),
            self.src(),
            self.off,
            self.imm
        )
    }
}

/// Reinterprets instructions as the bytes the kernel reads.
pub fn insns_as_bytes(insns: &[Insn]) -> &[u8] {
    let len = core::mem::size_of_val(insns);
    // SAFETY: `Insn` is `repr(C)` with fields u8, u8, i16, i32 at offsets
    // 0, 1, 2, 4 and size 8: no padding, so every byte is initialised. u8
    // has alignment 1, and the length covers exactly the borrowed slice,
    // whose lifetime the result keeps.
    unsafe { core::slice::from_raw_parts(insns.as_ptr().cast::<u8>(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn layout_matches_bindgen_bpf_insn() {
        assert_eq!(size_of::<Insn>(), size_of::<bpf_sys::bpf_insn>());
        assert_eq!(align_of::<Insn>(), align_of::<bpf_sys::bpf_insn>());
        assert_eq!(offset_of!(Insn, code), offset_of!(bpf_sys::bpf_insn, code));
        assert_eq!(offset_of!(Insn, off), offset_of!(bpf_sys::bpf_insn, off));
        assert_eq!(offset_of!(Insn, imm), offset_of!(bpf_sys::bpf_insn, imm));
        assert_eq!(offset_of!(Insn, regs), 1);
    }

    #[test]
    fn register_nibbles_match_bindgen_bitfields() {
        for dst in 0..16u8 {
            for src in 0..16u8 {
                let mut raw = bpf_sys::bpf_insn {
                    code: 0xbf,
                    off: -3,
                    imm: 0x1234_5678,
                    ..Default::default()
                };
                raw.set_dst_reg(dst);
                raw.set_src_reg(src);
                let ours = Insn::new(0xbf, dst, src, -3, 0x1234_5678);
                assert_eq!((ours.dst(), ours.src()), (raw.dst_reg(), raw.src_reg()));
                let raw_bytes: [u8; 8] = unsafe_free_bytes(&raw);
                assert_eq!(ours.to_bytes(), raw_bytes, "dst {dst} src {src}");
            }
        }
    }

    /// bindgen's struct as bytes, through its public accessors only.
    fn unsafe_free_bytes(raw: &bpf_sys::bpf_insn) -> [u8; 8] {
        let regs = raw._bitfield_1.get(0, 8) as u8;
        let off = raw.off.to_ne_bytes();
        let imm = raw.imm.to_ne_bytes();
        [
            raw.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }

    #[test]
    fn bytes_round_trip() {
        let insn = Insn::new(0x18, 1, 2, -8, -3);
        assert_eq!(Insn::from_bytes(insn.to_bytes()), insn);
        assert_eq!(insns_as_bytes(&[insn]), &insn.to_bytes());
    }
}
