//! The one table of the instruction set: one row per form. The encoder, the
//! decoder, both printers, the flow checks and the property-test generator
//! read their meaning from these rows; nothing else knows an opcode.
//!
//! A row says how a form is spelled (mnemonic and operand kinds, each with
//! the instruction field it fills), how it is encoded (opcode and the fixed
//! fields), what it means (the operation, width, access size, signedness,
//! range rule, the registers it reads and writes) and when it appeared (ISA
//! level, Linux release). Opcode parts come from `bpf-sys` (the uapi header).
//!
//! Adding an instruction is one row in [`FORMS`] (and a spelling in
//! [`ALIASES`] if it has another name).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use bpf_sys as k;

/// An instruction field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fld {
    /// The opcode byte.
    Code,
    /// The destination register.
    Dst,
    /// The source register.
    Src,
    /// The 16-bit offset.
    Off,
    /// The 32-bit immediate.
    Imm,
}

/// One operand as written, and the field it fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opnd {
    /// A register, into `dst`.
    Dst,
    /// A register, into `src`.
    Src,
    /// A number, into `imm`, checked by the form's [`ImmRule`].
    Imm,
    /// `[reg + off]`: the register into the given field (`Dst` or `Src`),
    /// the offset into `off`.
    Mem(Fld),
    /// A label or `+N`/`-N`, as a slot offset into `Off` or `Imm`.
    Target(Fld),
    /// A helper name or id, into `imm`.
    Helper,
    /// `lddw`'s value: a 64-bit number, or the form's [`Pseudo`] operand,
    /// into the `imm` of both slots.
    Imm64,
    /// The destination address space, into the high half of `imm`.
    AsDst,
    /// The source address space, into the low half of `imm`.
    AsSrc,
    /// A raw field, as a number (or a register for `dst`/`src`).
    Raw(Fld),
}

impl Opnd {
    /// The fields this operand fills in the first slot.
    pub const fn fills(self, f: Fld) -> bool {
        matches!(
            (self, f),
            (Opnd::Dst, Fld::Dst)
                | (Opnd::Src, Fld::Src)
                | (
                    Opnd::Imm | Opnd::Helper | Opnd::Imm64 | Opnd::AsDst | Opnd::AsSrc,
                    Fld::Imm
                )
                | (Opnd::Mem(Fld::Dst), Fld::Dst | Fld::Off)
                | (Opnd::Mem(Fld::Src), Fld::Src | Fld::Off)
                | (Opnd::Target(Fld::Off), Fld::Off)
                | (Opnd::Target(Fld::Imm), Fld::Imm)
        ) || matches!((self, f), (Opnd::Raw(a), b) if a as u8 == b as u8)
    }

    /// How the operand is written in a form's signature.
    pub const fn placeholder(self) -> &'static str {
        match self {
            Opnd::Dst | Opnd::Raw(Fld::Dst) => "dst",
            Opnd::Src | Opnd::Raw(Fld::Src) => "src",
            Opnd::Imm | Opnd::Raw(Fld::Imm) => "imm",
            Opnd::Mem(Fld::Src) => "[src + off]",
            Opnd::Mem(_) => "[dst + off]",
            Opnd::Target(_) => "target",
            Opnd::Helper => "helper_name | helper_id",
            Opnd::Imm64 => "imm64",
            Opnd::AsDst => "dst_as",
            Opnd::AsSrc => "src_as",
            Opnd::Raw(Fld::Code) => "code",
            Opnd::Raw(Fld::Off) => "off",
        }
    }
}

/// How the immediate operand of a form is range-checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImmRule {
    /// Used by a 64-bit operation: sign-extended, so `[-2^31, 2^31)`.
    Sext,
    /// Used as 32 bits: `[-2^31, 2^32)`.
    Bits32,
    /// A shift amount from 0 to the given maximum.
    Shift(u8),
    /// A non-zero divisor, sign-extended (`true`, 64-bit) or 32 bits.
    Divisor(bool),
    /// A 32-bit packet offset (`ldabs`, `ldind`).
    PacketOff,
    /// A 32-bit BTF id (`call kfunc`).
    BtfId,
}

/// ALU operations (`BPF_OP` of the ALU classes), valued as in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum AluOp {
    Add = k::BPF_ADD as u8,
    Sub = k::BPF_SUB as u8,
    Mul = k::BPF_MUL as u8,
    Div = k::BPF_DIV as u8,
    Or = k::BPF_OR as u8,
    And = k::BPF_AND as u8,
    Lsh = k::BPF_LSH as u8,
    Rsh = k::BPF_RSH as u8,
    Mod = k::BPF_MOD as u8,
    Xor = k::BPF_XOR as u8,
    Mov = k::BPF_MOV as u8,
    Arsh = k::BPF_ARSH as u8,
}

/// Conditional jumps (`BPF_OP` of the jump classes), valued as in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum JmpOp {
    Jeq = k::BPF_JEQ as u8,
    Jgt = k::BPF_JGT as u8,
    Jge = k::BPF_JGE as u8,
    Jset = k::BPF_JSET as u8,
    Jne = k::BPF_JNE as u8,
    Jsgt = k::BPF_JSGT as u8,
    Jsge = k::BPF_JSGE as u8,
    Jlt = k::BPF_JLT as u8,
    Jle = k::BPF_JLE as u8,
    Jslt = k::BPF_JSLT as u8,
    Jsle = k::BPF_JSLE as u8,
}

/// Read-modify-write atomics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AtomicOp {
    Add,
    Or,
    And,
    Xor,
    /// Exchange: the old value goes to `src`.
    Xchg,
    /// Compare with r0 and exchange: the old value goes to r0.
    Cmpxchg,
}

/// Byte-order conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// To little-endian (`le16`..): truncation on a little-endian host.
    Le,
    /// To big-endian (`be16`..).
    Be,
    /// Unconditional swap (`bswap16`.., ISA v4).
    Swap,
}

/// What a form does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `dst op= src/imm`; `signed` on the form for `sdiv`/`smod`.
    Alu(AluOp),
    /// `dst = -dst`.
    Neg,
    /// Byte order of `dst`; the width (16, 32, 64) is the form's `imm`.
    Endian(ByteOrder),
    /// `dst = (sN) src`, N in the form's `off`.
    MovSx,
    /// `dst = addr_space_cast(src, dst_as, src_as)`.
    AddrSpaceCast,
    /// `lddw`: a 64-bit constant, or a pseudo value the kernel fills in.
    Lddw(Option<Pseudo>),
    /// `ldabs*`: legacy packet load at a constant offset (context in r6).
    LdAbs,
    /// `ldind*`: legacy packet load at `src + imm`.
    LdInd,
    /// `dst = *(size *)(src + off)`, sign-extended when the form is signed.
    Load,
    /// Load-acquire.
    LoadAcquire,
    /// `*(size *)(dst + off) = src/imm`.
    Store,
    /// Store-release.
    StoreRelease,
    /// An atomic read-modify-write; `fetch` returns the old value in `src`.
    Atomic {
        /// The operation.
        op: AtomicOp,
        /// Whether the old value is returned (always for xchg/cmpxchg).
        fetch: bool,
    },
    /// Unconditional jump.
    Ja,
    /// `may_goto`: jump once the kernel's loop budget is spent.
    MayGoto,
    /// Conditional jump.
    Jmp(JmpOp),
    /// Helper call.
    Call,
    /// bpf-to-bpf call.
    CallLocal,
    /// Kernel function call.
    CallKfunc,
    /// Return r0.
    Exit,
    /// Any slot, fields as written.
    Raw,
}

/// A register an instruction reads or writes, by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The register in `dst`.
    Dst,
    /// The register in `src`.
    Src,
    /// A fixed register.
    R(u8),
}

impl Role {
    /// The register number, given the instruction's `dst` and `src`.
    pub const fn reg(self, dst: u8, src: u8) -> u8 {
        match self {
            Role::Dst => dst,
            Role::Src => src,
            Role::R(r) => r,
        }
    }
}

/// `lddw` pseudo sources: `lddw dst, keyword(args)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pseudo {
    /// `map_fd(NAME or fd)`: a map pointer.
    MapFd,
    /// `map_value(NAME or fd, off)`: the address of a map value.
    MapValue,
    /// `btf_id(id)`: a kernel variable.
    BtfId,
    /// `func(target)`: the address of a BPF function.
    Func,
    /// `map_idx(index)`: a map pointer by index into `fd_array`.
    MapIdx,
    /// `map_idx_value(index, off)`: a map value by index.
    MapIdxValue,
}

/// An argument of a pseudo operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PseudoArg {
    /// A map name (relocated by the loader) or fd, into the first slot's
    /// `imm`.
    Map,
    /// A 32-bit number into the first (`false`) or second (`true`) slot's
    /// `imm`, described for errors.
    Num(bool, &'static str),
    /// A function target, as a slot offset in the first slot's `imm`.
    Target,
}

impl Pseudo {
    /// The `src` register value (`BPF_PSEUDO_*`).
    pub const fn src(self) -> u8 {
        (match self {
            Pseudo::MapFd => k::BPF_PSEUDO_MAP_FD,
            Pseudo::MapValue => k::BPF_PSEUDO_MAP_VALUE,
            Pseudo::BtfId => k::BPF_PSEUDO_BTF_ID,
            Pseudo::Func => k::BPF_PSEUDO_FUNC,
            Pseudo::MapIdx => k::BPF_PSEUDO_MAP_IDX,
            Pseudo::MapIdxValue => k::BPF_PSEUDO_MAP_IDX_VALUE,
        }) as u8
    }

    /// The keyword as written.
    pub const fn keyword(self) -> &'static str {
        match self {
            Pseudo::MapFd => "map_fd",
            Pseudo::MapValue => "map_value",
            Pseudo::BtfId => "btf_id",
            Pseudo::Func => "func",
            Pseudo::MapIdx => "map_idx",
            Pseudo::MapIdxValue => "map_idx_value",
        }
    }

    /// The arguments, in order.
    pub const fn args(self) -> &'static [PseudoArg] {
        const OFF: PseudoArg = PseudoArg::Num(true, "a 32-bit offset into the map value");
        match self {
            Pseudo::MapFd => &[PseudoArg::Map],
            Pseudo::MapValue => &[PseudoArg::Map, OFF],
            Pseudo::BtfId | Pseudo::MapIdx => &[PseudoArg::Num(false, "a 32-bit id or index")],
            Pseudo::Func => &[PseudoArg::Target],
            Pseudo::MapIdxValue => &[PseudoArg::Num(false, "a 32-bit map index"), OFF],
        }
    }

    /// The signature, for "expected" lists and argument-count errors.
    pub const fn signature(self) -> &'static str {
        match self {
            Pseudo::MapFd => "map_fd(NAME or fd)",
            Pseudo::MapValue => "map_value(NAME or fd, off)",
            Pseudo::BtfId => "btf_id(id)",
            Pseudo::Func => "func(target)",
            Pseudo::MapIdx => "map_idx(index)",
            Pseudo::MapIdxValue => "map_idx_value(index, off)",
        }
    }

    /// What a wrong argument count is told.
    pub const fn usage(self) -> &'static str {
        match self {
            Pseudo::MapFd => "`map_fd` takes a map name or fd: `map_fd(NAME)`",
            Pseudo::MapValue => {
                "`map_value` takes a map name (or fd) and an offset: `map_value(NAME, off)`"
            }
            Pseudo::BtfId => "`btf_id` takes one number: `btf_id(N)`",
            Pseudo::MapIdx => "`map_idx` takes one number: `map_idx(N)`",
            Pseudo::Func => "`func` takes one target: `func(label)` or `func(+N)`",
            Pseudo::MapIdxValue => {
                "`map_idx_value` takes an index and an offset: `map_idx_value(N, off)`"
            }
        }
    }

    /// Whether the kernel gives the register a pointer (every pseudo but
    /// `btf_id`, which may be a scalar).
    pub const fn is_pointer(self) -> bool {
        !matches!(self, Pseudo::BtfId)
    }

    /// Whether the second slot's `imm` is an argument (else it must be 0).
    pub const fn uses_second_imm(self) -> bool {
        matches!(self, Pseudo::MapValue | Pseudo::MapIdxValue)
    }
}

/// One instruction form: a spelling with its encoding and meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    /// Canonical mnemonic (what the disassembler prints).
    pub name: &'static str,
    /// Opcode byte.
    pub code: u8,
    /// The operands, in the order written.
    pub operands: &'static [Opnd],
    /// `src` when no operand fills it (pseudo sources, call kinds).
    pub src: u8,
    /// `off` when no operand fills it (sdiv, movsx width, ...).
    pub off: i16,
    /// `imm` when no operand fills it (atomics, byte-order width, ...).
    pub imm: i32,
    /// What it does.
    pub op: Op,
    /// A 64-bit operation (pseudo-C `r` registers) rather than 32-bit (`w`).
    pub wide: bool,
    /// Signed: `sdiv`/`smod`, sign-extending loads and moves.
    pub signed: bool,
    /// Bytes a memory access moves (0: none).
    pub size: u8,
    /// Range rule of the [`Opnd::Imm`] operand.
    pub rule: ImmRule,
    /// Registers read, in the order a checker reports them.
    pub reads: &'static [Role],
    /// Registers written.
    pub writes: &'static [Role],
    /// r1–r5 are clobbered (calls, legacy packet loads).
    pub clobbers_args: bool,
    /// ISA level (`#![cpu = vN]`) that introduced it: 1 to 4.
    pub cpu: u8,
    /// Linux release that introduced it.
    pub since: &'static str,
    /// Operator or name used by the pseudo-C template (`+=`, `u8`, `be16`).
    pub c_op: &'static str,
    /// Pseudo-C template (see `disasm`): `{d} {op} {imm}`, ...
    pub c: &'static str,
}

impl Form {
    /// Slots taken: 2 for `lddw`, else 1.
    pub const fn slots(&self) -> usize {
        if matches!(self.op, Op::Lddw(_)) { 2 } else { 1 }
    }

    /// The `lddw` pseudo source, if any.
    pub const fn pseudo(&self) -> Option<Pseudo> {
        match self.op {
            Op::Lddw(p) => p,
            _ => None,
        }
    }

    /// Whether an operand fills field `f` of the first slot.
    pub fn fills(&self, f: Fld) -> bool {
        self.operands.iter().any(|o| o.fills(f))
    }

    /// The field a jump or call target goes to (`func(...)` included).
    pub fn target_field(&self) -> Option<Fld> {
        if self.pseudo() == Some(Pseudo::Func) {
            return Some(Fld::Imm);
        }
        self.operands.iter().find_map(|o| match o {
            Opnd::Target(f) => Some(*f),
            _ => None,
        })
    }

    /// Whether it writes the register in `src` (atomic fetch and exchange).
    pub fn writes_src(&self) -> bool {
        self.writes.contains(&Role::Src)
    }

    /// Whether it writes the register in `dst`.
    pub fn writes_dst(&self) -> bool {
        self.writes.contains(&Role::Dst)
    }
}

// Register roles, shared by the rows.
const NONE: &[Role] = &[];
const DST: &[Role] = &[Role::Dst];
const SRC: &[Role] = &[Role::Src];
const DST_SRC: &[Role] = &[Role::Dst, Role::Src];
const R0: &[Role] = &[Role::R(0)];
const R6: &[Role] = &[Role::R(6)];
const R6_SRC: &[Role] = &[Role::R(6), Role::Src];
const DST_SRC_R0: &[Role] = &[Role::Dst, Role::Src, Role::R(0)];

// Operand lists.
const O_DST_IMM: &[Opnd] = &[Opnd::Dst, Opnd::Imm];
const O_DST_SRC: &[Opnd] = &[Opnd::Dst, Opnd::Src];
const O_DST: &[Opnd] = &[Opnd::Dst];
const O_CAST: &[Opnd] = &[Opnd::Dst, Opnd::Src, Opnd::AsDst, Opnd::AsSrc];
const O_LDDW: &[Opnd] = &[Opnd::Dst, Opnd::Imm64];
const O_IMM: &[Opnd] = &[Opnd::Imm];
const O_SRC_IMM: &[Opnd] = &[Opnd::Src, Opnd::Imm];
const O_LOAD: &[Opnd] = &[Opnd::Dst, Opnd::Mem(Fld::Src)];
const O_ST: &[Opnd] = &[Opnd::Mem(Fld::Dst), Opnd::Imm];
const O_STX: &[Opnd] = &[Opnd::Mem(Fld::Dst), Opnd::Src];
const O_JA: &[Opnd] = &[Opnd::Target(Fld::Off)];
const O_JA32: &[Opnd] = &[Opnd::Target(Fld::Imm)];
const O_JK: &[Opnd] = &[Opnd::Dst, Opnd::Imm, Opnd::Target(Fld::Off)];
const O_JX: &[Opnd] = &[Opnd::Dst, Opnd::Src, Opnd::Target(Fld::Off)];
const O_CALL: &[Opnd] = &[Opnd::Helper];
const O_RAW: &[Opnd] = &[
    Opnd::Raw(Fld::Code),
    Opnd::Raw(Fld::Dst),
    Opnd::Raw(Fld::Src),
    Opnd::Raw(Fld::Off),
    Opnd::Raw(Fld::Imm),
];

// Opcode parts, narrowed once.
const ALU64: u8 = k::BPF_ALU64 as u8;
const ALU: u8 = k::BPF_ALU as u8;
const JMP: u8 = k::BPF_JMP as u8;
const JMP32: u8 = k::BPF_JMP32 as u8;
const X: u8 = k::BPF_X as u8;
const K: u8 = k::BPF_K as u8;
const B: u8 = k::BPF_B as u8;
const H: u8 = k::BPF_H as u8;
const W: u8 = k::BPF_W as u8;
const DW: u8 = k::BPF_DW as u8;
const LDX_MEM: u8 = (k::BPF_LDX | k::BPF_MEM) as u8;
const LDX_MEMSX: u8 = (k::BPF_LDX | k::BPF_MEMSX) as u8;
const ST_MEM: u8 = (k::BPF_ST | k::BPF_MEM) as u8;
const STX_MEM: u8 = (k::BPF_STX | k::BPF_MEM) as u8;
const STX_ATOMIC: u8 = (k::BPF_STX | k::BPF_ATOMIC) as u8;
const LD_ABS: u8 = (k::BPF_LD | k::BPF_ABS) as u8;
const LD_IND: u8 = (k::BPF_LD | k::BPF_IND) as u8;
const LDDW: u8 = (k::BPF_LD | k::BPF_IMM | k::BPF_DW) as u8;
const MOV: u8 = k::BPF_MOV as u8;
const END: u8 = k::BPF_END as u8;
const NEG: u8 = k::BPF_NEG as u8;

/// The defaults every row starts from.
const BASE: Form = Form {
    name: "",
    code: 0,
    operands: &[],
    src: 0,
    off: 0,
    imm: 0,
    op: Op::Raw,
    wide: true,
    signed: false,
    size: 0,
    rule: ImmRule::Bits32,
    reads: NONE,
    writes: NONE,
    clobbers_args: false,
    cpu: 1,
    since: "3.18",
    c_op: "",
    c: "",
};

/// ALU: `name dst, imm` (`x = false`) or `name dst, src`, 64-bit when `wide`.
const fn alu(name: &'static str, wide: bool, op: AluOp, x: bool, c_op: &'static str) -> Form {
    let class = if wide { ALU64 } else { ALU };
    let rule = match op {
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => ImmRule::Shift(if wide { 63 } else { 31 }),
        AluOp::Div | AluOp::Mod => ImmRule::Divisor(wide),
        _ if wide => ImmRule::Sext,
        _ => ImmRule::Bits32,
    };
    let is_mov = matches!(op, AluOp::Mov);
    Form {
        name,
        code: class | op as u8 | if x { X } else { K },
        operands: if x { O_DST_SRC } else { O_DST_IMM },
        op: Op::Alu(op),
        wide,
        rule,
        reads: match (is_mov, x) {
            (true, true) => SRC,
            (true, false) => NONE,
            (false, true) => DST_SRC,
            (false, false) => DST,
        },
        writes: DST,
        c_op,
        c: if x { "{d} {op} {s}" } else { "{d} {op} {imm}" },
        ..BASE
    }
}

/// `sdiv`/`smod` (ISA v4): the unsigned form with `off = 1`.
const fn signed_div(f: Form, name: &'static str, c_op: &'static str) -> Form {
    Form {
        name,
        off: 1,
        signed: true,
        cpu: 4,
        since: "6.6",
        c_op,
        ..f
    }
}

const fn neg(name: &'static str, wide: bool) -> Form {
    Form {
        name,
        code: if wide { ALU64 } else { ALU } | NEG | K,
        operands: O_DST,
        op: Op::Neg,
        wide,
        reads: DST,
        writes: DST,
        c: "{d} = -{d}",
        ..BASE
    }
}

const fn movsx(name: &'static str, wide: bool, bits: i16) -> Form {
    Form {
        name,
        code: if wide { ALU64 } else { ALU } | MOV | X,
        operands: O_DST_SRC,
        off: bits,
        op: Op::MovSx,
        wide,
        signed: true,
        reads: SRC,
        writes: DST,
        cpu: 4,
        since: "6.6",
        c: "{d} = (s{off}){s}",
        ..BASE
    }
}

const fn endian(name: &'static str, order: ByteOrder, width: i32) -> Form {
    let (class, src, cpu, since) = match order {
        ByteOrder::Le => (ALU, k::BPF_TO_LE as u8, 1, "3.18"),
        ByteOrder::Be => (ALU, k::BPF_TO_BE as u8, 1, "3.18"),
        ByteOrder::Swap => (ALU64, k::BPF_TO_LE as u8, 4, "6.6"),
    };
    Form {
        name,
        code: class | END | src,
        operands: O_DST,
        imm: width,
        op: Op::Endian(order),
        reads: DST,
        writes: DST,
        cpu,
        since,
        c_op: name,
        c: "{rd} = {op} {rd}",
        ..BASE
    }
}

const fn lddw(pseudo: Option<Pseudo>, since: &'static str) -> Form {
    Form {
        name: "lddw",
        code: LDDW,
        operands: O_LDDW,
        src: match pseudo {
            Some(p) => p.src(),
            None => 0,
        },
        op: Op::Lddw(pseudo),
        writes: DST,
        since,
        c: if pseudo.is_none() {
            "{rd} = {imm64} ll"
        } else {
            "{pseudo}"
        },
        ..BASE
    }
}

const fn size_code(size: u8) -> u8 {
    match size {
        1 => B,
        2 => H,
        4 => W,
        _ => DW,
    }
}

/// `ldabs*` (`ind = false`) or `ldind*`.
const fn ld_packet(name: &'static str, ind: bool, size: u8, ty: &'static str) -> Form {
    Form {
        name,
        code: if ind { LD_IND } else { LD_ABS } | size_code(size),
        operands: if ind { O_SRC_IMM } else { O_IMM },
        op: if ind { Op::LdInd } else { Op::LdAbs },
        size,
        rule: ImmRule::PacketOff,
        reads: if ind { R6_SRC } else { R6 },
        writes: R0,
        clobbers_args: true,
        c_op: ty,
        c: if ind {
            "r0 = *({op} *)skb[{skb}]"
        } else {
            "r0 = *({op} *)skb[{imm}]"
        },
        ..BASE
    }
}

/// `ldx*` / `ldxs*`: the pseudo-C register is `w` for narrow unsigned loads.
const fn load(name: &'static str, size: u8, signed: bool, ty: &'static str) -> Form {
    Form {
        name,
        code: if signed { LDX_MEMSX } else { LDX_MEM } | size_code(size),
        operands: O_LOAD,
        op: Op::Load,
        wide: size == 8,
        signed,
        size,
        reads: SRC,
        writes: DST,
        cpu: if signed { 4 } else { 1 },
        since: if signed { "6.6" } else { "3.18" },
        c_op: ty,
        c: if signed || size == 8 {
            "{rd} = *({op} *)({ms})"
        } else {
            "{wd} = *({op} *)({ms})"
        },
        ..BASE
    }
}

const fn store_imm(name: &'static str, size: u8, ty: &'static str) -> Form {
    Form {
        name,
        code: ST_MEM | size_code(size),
        operands: O_ST,
        op: Op::Store,
        wide: size == 8,
        size,
        rule: if size == 8 {
            ImmRule::Sext
        } else {
            ImmRule::Bits32
        },
        reads: DST,
        c_op: ty,
        c: "*({op} *)({md}) = {imm}",
        ..BASE
    }
}

const fn store_reg(name: &'static str, size: u8, ty: &'static str) -> Form {
    Form {
        name,
        code: STX_MEM | size_code(size),
        operands: O_STX,
        op: Op::Store,
        wide: size == 8,
        size,
        reads: DST_SRC,
        c_op: ty,
        c: "*({op} *)({md}) = {s}",
        ..BASE
    }
}

const fn load_acquire(name: &'static str, size: u8, ty: &'static str) -> Form {
    Form {
        name,
        code: STX_ATOMIC | size_code(size),
        operands: O_LOAD,
        imm: k::BPF_LOAD_ACQ as i32,
        op: Op::LoadAcquire,
        wide: size == 8,
        size,
        reads: SRC,
        writes: DST,
        since: "6.15",
        c_op: ty,
        c: "{d} = load_acquire(({op} *)({ms}))",
        ..BASE
    }
}

const fn store_release(name: &'static str, size: u8, ty: &'static str) -> Form {
    Form {
        name,
        code: STX_ATOMIC | size_code(size),
        operands: O_STX,
        imm: k::BPF_STORE_REL as i32,
        op: Op::StoreRelease,
        wide: size == 8,
        size,
        reads: DST_SRC,
        since: "6.15",
        c_op: ty,
        c: "store_release(({op} *)({md}), {s})",
        ..BASE
    }
}

/// `lock [fetch] op[32]`, `lock xchg[32]`, `lock cmpxchg[32]`.
const fn atomic(name: &'static str, wide: bool, op: AtomicOp, fetch: bool) -> Form {
    let base = match op {
        AtomicOp::Add => k::BPF_ADD,
        AtomicOp::Or => k::BPF_OR,
        AtomicOp::And => k::BPF_AND,
        AtomicOp::Xor => k::BPF_XOR,
        AtomicOp::Xchg => k::BPF_XCHG,
        AtomicOp::Cmpxchg => k::BPF_CMPXCHG,
    };
    let imm = if fetch && !matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg) {
        base | k::BPF_FETCH
    } else {
        base
    };
    let (c_op, c) = match (op, fetch, wide) {
        (AtomicOp::Cmpxchg, _, true) => ("", "r0 = cmpxchg_64({md}, r0, {rs})"),
        (AtomicOp::Cmpxchg, _, false) => ("", "w0 = cmpxchg32_32({md}, w0, {ws})"),
        (AtomicOp::Xchg, _, true) => ("", "{rs} = xchg_64({md}, {rs})"),
        (AtomicOp::Xchg, _, false) => ("", "{ws} = xchg32_32({md}, {ws})"),
        (AtomicOp::Add, true, _) => ("atomic_fetch_add", "{s} = {op}(({ty} *)({md}), {s})"),
        (AtomicOp::Or, true, _) => ("atomic_fetch_or", "{s} = {op}(({ty} *)({md}), {s})"),
        (AtomicOp::And, true, _) => ("atomic_fetch_and", "{s} = {op}(({ty} *)({md}), {s})"),
        (AtomicOp::Xor, true, _) => ("atomic_fetch_xor", "{s} = {op}(({ty} *)({md}), {s})"),
        (AtomicOp::Add, false, _) => ("+=", "lock *({ty} *)({md}) {op} {s}"),
        (AtomicOp::Or, false, _) => ("|=", "lock *({ty} *)({md}) {op} {s}"),
        (AtomicOp::And, false, _) => ("&=", "lock *({ty} *)({md}) {op} {s}"),
        (AtomicOp::Xor, false, _) => ("^=", "lock *({ty} *)({md}) {op} {s}"),
    };
    let (reads, writes) = match (op, fetch) {
        (AtomicOp::Cmpxchg, _) => (DST_SRC_R0, R0),
        (_, true) => (DST_SRC, SRC),
        (_, false) => (DST_SRC, NONE),
    };
    Form {
        name,
        code: STX_ATOMIC | if wide { DW } else { W },
        operands: O_STX,
        imm: imm as i32,
        op: Op::Atomic { op, fetch },
        wide,
        size: if wide { 8 } else { 4 },
        reads,
        writes,
        since: if matches!(op, AtomicOp::Add) && !fetch {
            "3.18"
        } else {
            "5.12"
        },
        c_op,
        c,
        ..BASE
    }
}

/// A conditional jump: `name dst, imm, target` or `name dst, src, target`.
const fn jmp(name: &'static str, wide: bool, op: JmpOp, x: bool, c_op: &'static str) -> Form {
    let v2 = matches!(op, JmpOp::Jlt | JmpOp::Jle | JmpOp::Jslt | JmpOp::Jsle);
    let (cpu, since) = match (wide, v2) {
        (false, _) => (3, "5.1"),
        (true, true) => (2, "4.14"),
        (true, false) => (1, "3.18"),
    };
    Form {
        name,
        code: if wide { JMP } else { JMP32 } | op as u8 | if x { X } else { K },
        operands: if x { O_JX } else { O_JK },
        op: Op::Jmp(op),
        wide,
        rule: if wide { ImmRule::Sext } else { ImmRule::Bits32 },
        reads: if x { DST_SRC } else { DST },
        cpu,
        since,
        c_op,
        c: if x {
            "if {d} {op} {s} goto {tgt}"
        } else {
            "if {d} {op} {imm} goto {tgt}"
        },
        ..BASE
    }
}

/// Every form, in a stable order.
pub static FORMS: &[Form] = &[
    // ALU, 64-bit then 32-bit, immediate then register.
    alu("add", true, AluOp::Add, false, "+="),
    alu("add", true, AluOp::Add, true, "+="),
    alu("add32", false, AluOp::Add, false, "+="),
    alu("add32", false, AluOp::Add, true, "+="),
    alu("sub", true, AluOp::Sub, false, "-="),
    alu("sub", true, AluOp::Sub, true, "-="),
    alu("sub32", false, AluOp::Sub, false, "-="),
    alu("sub32", false, AluOp::Sub, true, "-="),
    alu("mul", true, AluOp::Mul, false, "*="),
    alu("mul", true, AluOp::Mul, true, "*="),
    alu("mul32", false, AluOp::Mul, false, "*="),
    alu("mul32", false, AluOp::Mul, true, "*="),
    alu("div", true, AluOp::Div, false, "/="),
    alu("div", true, AluOp::Div, true, "/="),
    alu("div32", false, AluOp::Div, false, "/="),
    alu("div32", false, AluOp::Div, true, "/="),
    alu("or", true, AluOp::Or, false, "|="),
    alu("or", true, AluOp::Or, true, "|="),
    alu("or32", false, AluOp::Or, false, "|="),
    alu("or32", false, AluOp::Or, true, "|="),
    alu("and", true, AluOp::And, false, "&="),
    alu("and", true, AluOp::And, true, "&="),
    alu("and32", false, AluOp::And, false, "&="),
    alu("and32", false, AluOp::And, true, "&="),
    alu("lsh", true, AluOp::Lsh, false, "<<="),
    alu("lsh", true, AluOp::Lsh, true, "<<="),
    alu("lsh32", false, AluOp::Lsh, false, "<<="),
    alu("lsh32", false, AluOp::Lsh, true, "<<="),
    alu("rsh", true, AluOp::Rsh, false, ">>="),
    alu("rsh", true, AluOp::Rsh, true, ">>="),
    alu("rsh32", false, AluOp::Rsh, false, ">>="),
    alu("rsh32", false, AluOp::Rsh, true, ">>="),
    alu("mod", true, AluOp::Mod, false, "%="),
    alu("mod", true, AluOp::Mod, true, "%="),
    alu("mod32", false, AluOp::Mod, false, "%="),
    alu("mod32", false, AluOp::Mod, true, "%="),
    alu("xor", true, AluOp::Xor, false, "^="),
    alu("xor", true, AluOp::Xor, true, "^="),
    alu("xor32", false, AluOp::Xor, false, "^="),
    alu("xor32", false, AluOp::Xor, true, "^="),
    alu("mov", true, AluOp::Mov, false, "="),
    alu("mov", true, AluOp::Mov, true, "="),
    alu("mov32", false, AluOp::Mov, false, "="),
    alu("mov32", false, AluOp::Mov, true, "="),
    alu("arsh", true, AluOp::Arsh, false, "s>>="),
    alu("arsh", true, AluOp::Arsh, true, "s>>="),
    alu("arsh32", false, AluOp::Arsh, false, "s>>="),
    alu("arsh32", false, AluOp::Arsh, true, "s>>="),
    // Signed division and modulo (v4).
    signed_div(alu("", true, AluOp::Div, false, ""), "sdiv", "s/="),
    signed_div(alu("", true, AluOp::Div, true, ""), "sdiv", "s/="),
    signed_div(alu("", false, AluOp::Div, false, ""), "sdiv32", "s/="),
    signed_div(alu("", false, AluOp::Div, true, ""), "sdiv32", "s/="),
    signed_div(alu("", true, AluOp::Mod, false, ""), "smod", "s%="),
    signed_div(alu("", true, AluOp::Mod, true, ""), "smod", "s%="),
    signed_div(alu("", false, AluOp::Mod, false, ""), "smod32", "s%="),
    signed_div(alu("", false, AluOp::Mod, true, ""), "smod32", "s%="),
    neg("neg", true),
    neg("neg32", false),
    // Sign-extending moves (v4).
    movsx("movsx8", true, 8),
    movsx("movsx16", true, 16),
    movsx("movsx32", true, 32),
    movsx("movsx832", false, 8),
    movsx("movsx1632", false, 16),
    Form {
        name: "addr_space_cast",
        code: ALU64 | MOV | X,
        operands: O_CAST,
        off: k::BPF_ADDR_SPACE_CAST as i16,
        op: Op::AddrSpaceCast,
        reads: SRC,
        writes: DST,
        since: "6.9",
        c: "{rd} = addr_space_cast({rs}, {as})",
        ..BASE
    },
    // Byte order.
    endian("le16", ByteOrder::Le, 16),
    endian("le32", ByteOrder::Le, 32),
    endian("le64", ByteOrder::Le, 64),
    endian("be16", ByteOrder::Be, 16),
    endian("be32", ByteOrder::Be, 32),
    endian("be64", ByteOrder::Be, 64),
    endian("bswap16", ByteOrder::Swap, 16),
    endian("bswap32", ByteOrder::Swap, 32),
    endian("bswap64", ByteOrder::Swap, 64),
    // 64-bit immediates and pseudo values.
    lddw(None, "3.18"),
    lddw(Some(Pseudo::MapFd), "3.18"),
    lddw(Some(Pseudo::MapValue), "5.2"),
    lddw(Some(Pseudo::BtfId), "5.10"),
    lddw(Some(Pseudo::Func), "5.13"),
    lddw(Some(Pseudo::MapIdx), "5.14"),
    lddw(Some(Pseudo::MapIdxValue), "5.14"),
    // Legacy packet loads.
    ld_packet("ldabsb", false, 1, "u8"),
    ld_packet("ldindb", true, 1, "u8"),
    ld_packet("ldabsh", false, 2, "u16"),
    ld_packet("ldindh", true, 2, "u16"),
    ld_packet("ldabsw", false, 4, "u32"),
    ld_packet("ldindw", true, 4, "u32"),
    // Memory.
    load("ldxb", 1, false, "u8"),
    load("ldxsb", 1, true, "s8"),
    store_imm("stb", 1, "u8"),
    store_reg("stxb", 1, "u8"),
    load_acquire("ldxacqb", 1, "u8"),
    store_release("stxrelb", 1, "u8"),
    load("ldxh", 2, false, "u16"),
    load("ldxsh", 2, true, "s16"),
    store_imm("sth", 2, "u16"),
    store_reg("stxh", 2, "u16"),
    load_acquire("ldxacqh", 2, "u16"),
    store_release("stxrelh", 2, "u16"),
    load("ldxw", 4, false, "u32"),
    load("ldxsw", 4, true, "s32"),
    store_imm("stw", 4, "u32"),
    store_reg("stxw", 4, "u32"),
    load_acquire("ldxacqw", 4, "u32"),
    store_release("stxrelw", 4, "u32"),
    load("ldxdw", 8, false, "u64"),
    store_imm("stdw", 8, "u64"),
    store_reg("stxdw", 8, "u64"),
    load_acquire("ldxacqdw", 8, "u64"),
    store_release("stxreldw", 8, "u64"),
    // Atomics.
    atomic("lock add", true, AtomicOp::Add, false),
    atomic("lock fetch add", true, AtomicOp::Add, true),
    atomic("lock or", true, AtomicOp::Or, false),
    atomic("lock fetch or", true, AtomicOp::Or, true),
    atomic("lock and", true, AtomicOp::And, false),
    atomic("lock fetch and", true, AtomicOp::And, true),
    atomic("lock xor", true, AtomicOp::Xor, false),
    atomic("lock fetch xor", true, AtomicOp::Xor, true),
    atomic("lock xchg", true, AtomicOp::Xchg, true),
    atomic("lock cmpxchg", true, AtomicOp::Cmpxchg, true),
    atomic("lock add32", false, AtomicOp::Add, false),
    atomic("lock fetch add32", false, AtomicOp::Add, true),
    atomic("lock or32", false, AtomicOp::Or, false),
    atomic("lock fetch or32", false, AtomicOp::Or, true),
    atomic("lock and32", false, AtomicOp::And, false),
    atomic("lock fetch and32", false, AtomicOp::And, true),
    atomic("lock xor32", false, AtomicOp::Xor, false),
    atomic("lock fetch xor32", false, AtomicOp::Xor, true),
    atomic("lock xchg32", false, AtomicOp::Xchg, true),
    atomic("lock cmpxchg32", false, AtomicOp::Cmpxchg, true),
    // Jumps.
    Form {
        name: "ja",
        code: JMP | k::BPF_JA as u8 | K,
        operands: O_JA,
        op: Op::Ja,
        c: "goto {tgt}",
        ..BASE
    },
    Form {
        name: "ja32",
        code: JMP32 | k::BPF_JA as u8 | K,
        operands: O_JA32,
        op: Op::Ja,
        cpu: 4,
        since: "6.6",
        c: "gotol {tgt}",
        ..BASE
    },
    Form {
        name: "may_goto",
        code: JMP | k::BPF_JCOND as u8 | K,
        operands: O_JA,
        src: k::BPF_MAY_GOTO as u8,
        op: Op::MayGoto,
        since: "6.9",
        c: "may_goto {tgt}",
        ..BASE
    },
    jmp("jeq", true, JmpOp::Jeq, false, "=="),
    jmp("jeq", true, JmpOp::Jeq, true, "=="),
    jmp("jeq32", false, JmpOp::Jeq, false, "=="),
    jmp("jeq32", false, JmpOp::Jeq, true, "=="),
    jmp("jgt", true, JmpOp::Jgt, false, ">"),
    jmp("jgt", true, JmpOp::Jgt, true, ">"),
    jmp("jgt32", false, JmpOp::Jgt, false, ">"),
    jmp("jgt32", false, JmpOp::Jgt, true, ">"),
    jmp("jge", true, JmpOp::Jge, false, ">="),
    jmp("jge", true, JmpOp::Jge, true, ">="),
    jmp("jge32", false, JmpOp::Jge, false, ">="),
    jmp("jge32", false, JmpOp::Jge, true, ">="),
    jmp("jset", true, JmpOp::Jset, false, "&"),
    jmp("jset", true, JmpOp::Jset, true, "&"),
    jmp("jset32", false, JmpOp::Jset, false, "&"),
    jmp("jset32", false, JmpOp::Jset, true, "&"),
    jmp("jne", true, JmpOp::Jne, false, "!="),
    jmp("jne", true, JmpOp::Jne, true, "!="),
    jmp("jne32", false, JmpOp::Jne, false, "!="),
    jmp("jne32", false, JmpOp::Jne, true, "!="),
    jmp("jsgt", true, JmpOp::Jsgt, false, "s>"),
    jmp("jsgt", true, JmpOp::Jsgt, true, "s>"),
    jmp("jsgt32", false, JmpOp::Jsgt, false, "s>"),
    jmp("jsgt32", false, JmpOp::Jsgt, true, "s>"),
    jmp("jsge", true, JmpOp::Jsge, false, "s>="),
    jmp("jsge", true, JmpOp::Jsge, true, "s>="),
    jmp("jsge32", false, JmpOp::Jsge, false, "s>="),
    jmp("jsge32", false, JmpOp::Jsge, true, "s>="),
    jmp("jlt", true, JmpOp::Jlt, false, "<"),
    jmp("jlt", true, JmpOp::Jlt, true, "<"),
    jmp("jlt32", false, JmpOp::Jlt, false, "<"),
    jmp("jlt32", false, JmpOp::Jlt, true, "<"),
    jmp("jle", true, JmpOp::Jle, false, "<="),
    jmp("jle", true, JmpOp::Jle, true, "<="),
    jmp("jle32", false, JmpOp::Jle, false, "<="),
    jmp("jle32", false, JmpOp::Jle, true, "<="),
    jmp("jslt", true, JmpOp::Jslt, false, "s<"),
    jmp("jslt", true, JmpOp::Jslt, true, "s<"),
    jmp("jslt32", false, JmpOp::Jslt, false, "s<"),
    jmp("jslt32", false, JmpOp::Jslt, true, "s<"),
    jmp("jsle", true, JmpOp::Jsle, false, "s<="),
    jmp("jsle", true, JmpOp::Jsle, true, "s<="),
    jmp("jsle32", false, JmpOp::Jsle, false, "s<="),
    jmp("jsle32", false, JmpOp::Jsle, true, "s<="),
    // Calls and exit.
    Form {
        name: "call",
        code: JMP | k::BPF_CALL as u8 | K,
        operands: O_CALL,
        op: Op::Call,
        writes: R0,
        clobbers_args: true,
        c: "call {imm}",
        ..BASE
    },
    Form {
        name: "call local",
        code: JMP | k::BPF_CALL as u8 | K,
        operands: O_JA32,
        src: k::BPF_PSEUDO_CALL as u8,
        op: Op::CallLocal,
        writes: R0,
        clobbers_args: true,
        since: "4.16",
        c: "{call}",
        ..BASE
    },
    Form {
        name: "call kfunc",
        code: JMP | k::BPF_CALL as u8 | K,
        operands: O_IMM,
        src: k::BPF_PSEUDO_KFUNC_CALL as u8,
        op: Op::CallKfunc,
        rule: ImmRule::BtfId,
        writes: R0,
        clobbers_args: true,
        since: "5.13",
        c: "call kfunc({imm})",
        ..BASE
    },
    Form {
        name: "exit",
        code: JMP | k::BPF_EXIT as u8 | K,
        op: Op::Exit,
        reads: R0,
        c: "exit",
        ..BASE
    },
    // Any slot: never decoded, printed for slots no other row describes.
    Form {
        name: "raw",
        operands: O_RAW,
        op: Op::Raw,
        c: ".8byte {bytes}",
        ..BASE
    },
];

/// Other spellings: `(alias, canonical)`. Every alias names all the forms
/// of its canonical mnemonic.
pub static ALIASES: &[(&str, &str)] = &[
    ("gotol", "ja32"),
    ("sdiv64", "sdiv"),
    ("smod64", "smod"),
    ("movsx864", "movsx8"),
    ("movsx1664", "movsx16"),
    ("movsx3264", "movsx32"),
    ("neg64", "neg"),
    // rbpf/ubpf's explicit 64-bit names.
    ("add64", "add"),
    ("sub64", "sub"),
    ("mul64", "mul"),
    ("div64", "div"),
    ("or64", "or"),
    ("and64", "and"),
    ("lsh64", "lsh"),
    ("rsh64", "rsh"),
    ("mod64", "mod"),
    ("xor64", "xor"),
    ("mov64", "mov"),
    ("arsh64", "arsh"),
    ("lock add64", "lock add"),
    ("lock or64", "lock or"),
    ("lock and64", "lock and"),
    ("lock xor64", "lock xor"),
    ("lock fetch add64", "lock fetch add"),
    ("lock fetch or64", "lock fetch or"),
    ("lock fetch and64", "lock fetch and"),
    ("lock fetch xor64", "lock fetch xor"),
    ("lock xchg64", "lock xchg"),
    ("lock cmpxchg64", "lock cmpxchg"),
    // bpf_conformance spellings.
    ("swap16", "bswap16"),
    ("swap32", "bswap32"),
    ("swap64", "bswap64"),
    ("call runtime", "call kfunc"),
];

/// The kernel's view of an opcode before it knows the instruction is valid
/// (`check_cfg`): where control goes by class and operation alone. Used for
/// slots no row describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Falls through.
    Next,
    /// Ends the path.
    Exit,
    /// Only to the target in the given field.
    Jump(Fld),
    /// Falls through or jumps to the target in `off`.
    Cond,
    /// A helper or kfunc call: falls through.
    Call,
    /// `call local`: falls through; the target (in `imm`) starts a function.
    CallLocal,
    /// `lddw dst, func(...)`: falls through; the target starts a function.
    Func,
    /// Where it goes depends on a register (`gotox`): unknown.
    Indirect,
}

impl Form {
    /// Where control goes after this form.
    pub fn control(&self) -> Control {
        match self.op {
            Op::Exit => Control::Exit,
            Op::Ja => match self.target_field() {
                Some(f) => Control::Jump(f),
                None => Control::Next,
            },
            Op::Jmp(_) | Op::MayGoto => Control::Cond,
            Op::Call | Op::CallKfunc => Control::Call,
            Op::CallLocal => Control::CallLocal,
            Op::Lddw(Some(Pseudo::Func)) => Control::Func,
            _ => Control::Next,
        }
    }
}

/// [`Control`] of a slot by opcode and `src` alone, as the kernel's
/// `check_cfg` classifies it (for slots no row describes).
pub fn control_of(code: u8, src: u8) -> Control {
    let isa = isa();
    let forms = isa.by_code(code);
    if let Some(&i) = forms
        .iter()
        .find(|&&i| isa.forms[i].fills(Fld::Src) || isa.forms[i].src == src)
        .or(forms.first())
    {
        return isa.forms[i].control();
    }
    let class = code & 7;
    if class != JMP && class != JMP32 {
        return Control::Next;
    }
    match code & 0xf0 {
        op if op == k::BPF_EXIT as u8 => Control::Exit,
        op if op == k::BPF_CALL as u8 => Control::Call,
        op if op == k::BPF_JA as u8 && code & X != 0 => Control::Indirect,
        op if op == k::BPF_JA as u8 => {
            Control::Jump(if class == JMP { Fld::Off } else { Fld::Imm })
        }
        _ => Control::Cond,
    }
}

/// Slots an instruction with opcode `code` takes (2 for `lddw`).
pub fn slots_of(code: u8) -> usize {
    let isa = isa();
    isa.by_code(code)
        .first()
        .map_or(1, |&i| isa.forms[i].slots())
}

/// Whether the kernel accepts an instruction with opcode `code` as the last
/// of a function (`check_subprogs`): `exit`, `ja`, `ja32`.
pub fn ends_function(code: u8) -> bool {
    let isa = isa();
    let forms = isa.by_code(code);
    !forms.is_empty()
        && forms
            .iter()
            .all(|&i| matches!(isa.forms[i].control(), Control::Exit | Control::Jump(_)))
}

/// FNV-1a: mnemonics are short and trusted (the table's own keys), so a
/// simple hash beats SipHash in the assembler's hottest lookup.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type NameMap = HashMap<&'static str, Vec<usize>, BuildHasherDefault<Fnv>>;

/// The table with its indexes by mnemonic and by opcode.
#[derive(Debug)]
pub struct Isa {
    /// Every form ([`FORMS`]).
    pub forms: &'static [Form],
    by_name: NameMap,
    by_code: Vec<Vec<usize>>,
    raw: usize,
}

/// The table, indexed on first use.
pub fn isa() -> &'static Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut by_name = NameMap::default();
        let mut by_code = vec![Vec::new(); 256];
        let mut raw = 0;
        for (i, f) in FORMS.iter().enumerate() {
            by_name.entry(f.name).or_default().push(i);
            if f.op == Op::Raw {
                raw = i;
            } else {
                by_code[usize::from(f.code)].push(i);
            }
        }
        for &(alias, canonical) in ALIASES {
            if let Some(ix) = by_name.get(canonical).cloned() {
                by_name.insert(alias, ix);
            }
        }
        Isa {
            forms: FORMS,
            by_name,
            by_code,
            raw,
        }
    })
}

impl Isa {
    /// The forms spelled `name` (canonical or alias).
    pub fn by_name(&self, name: &str) -> Option<&[usize]> {
        self.by_name.get(name).map(Vec::as_slice)
    }

    /// The forms with opcode byte `code`.
    pub fn by_code(&self, code: u8) -> &[usize] {
        &self.by_code[usize::from(code)]
    }

    /// Every accepted mnemonic, for suggestions.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_name.keys().copied()
    }

    /// The `raw` form, which prints slots no other form describes.
    pub fn raw(&self) -> &'static Form {
        &self.forms[self.raw]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(name: &str, operands: &[Opnd]) -> u8 {
        let isa = isa();
        isa.by_name(name)
            .unwrap()
            .iter()
            .map(|&i| isa.forms[i])
            .find(|f| f.operands == operands)
            .unwrap()
            .code
    }

    #[test]
    fn opcodes_from_the_header() {
        assert_eq!(code("add", O_DST_IMM), 0x07);
        assert_eq!(code("add64", O_DST_SRC), 0x0f);
        assert_eq!(code("mov32", O_DST_IMM), 0xb4);
        assert_eq!(code("jsle32", O_JX), 0xde);
        assert_eq!(code("ldxsb", O_LOAD), 0x91);
        assert_eq!(code("lock fetch add32", O_STX), 0xc3);
        assert_eq!(code("lock add64", O_STX), 0xdb);
        assert_eq!(code("may_goto", O_JA), 0xe5);
        assert_eq!(code("gotol", O_JA32), 0x06);
        assert_eq!(code("stxreldw", O_STX), 0xdb);
        assert_eq!(code("ldabsh", O_IMM), 0x28);
    }

    #[test]
    fn no_two_forms_share_an_encoding_key() {
        let mut seen = std::collections::HashSet::new();
        for f in FORMS.iter().filter(|f| f.op != Op::Raw) {
            assert!(
                seen.insert((f.code, f.src, f.off, f.imm, f.pseudo(), f.operands)),
                "duplicate {f:?}"
            );
        }
    }

    #[test]
    fn aliases_name_real_forms_and_do_not_shadow() {
        let names: std::collections::HashSet<_> = FORMS.iter().map(|f| f.name).collect();
        for &(alias, canonical) in ALIASES {
            assert!(names.contains(canonical), "{alias} -> {canonical}");
            assert!(!names.contains(alias), "{alias} is also a canonical name");
        }
    }

    #[test]
    fn every_register_an_operand_names_is_read_or_written() {
        for f in FORMS.iter().filter(|f| f.op != Op::Raw) {
            for (o, role) in [(Opnd::Dst, Role::Dst), (Opnd::Src, Role::Src)] {
                let named = f
                    .operands
                    .iter()
                    .any(|x| *x == o || *x == Opnd::Mem(fld(role)));
                let used = f.reads.contains(&role) || f.writes.contains(&role);
                assert_eq!(named, used, "{} {:?}", f.name, role);
            }
        }
    }

    fn fld(r: Role) -> Fld {
        if r == Role::Dst { Fld::Dst } else { Fld::Src }
    }
}
