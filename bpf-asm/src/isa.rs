//! The one table of the instruction set. The parser, the encoder and both
//! disassembler printers read it; nothing else knows an opcode.
//!
//! Opcode parts come from `bpf-sys` (the uapi header); the table only says
//! how they combine into forms and how each form is spelled.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use bpf_sys as k;

/// The operands a form takes, and so which instruction fields they fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// `dst, imm`
    AluK,
    /// `dst, src`
    AluX,
    /// `dst` (neg, byte order)
    Unary,
    /// `dst, src` with the width in `off` (movsx)
    MovSx,
    /// `dst, src, dst_as, src_as`
    AddrSpaceCast,
    /// `dst, imm64` or `dst, pseudo(...)`: two slots
    Lddw,
    /// `imm` (packet offset)
    LdAbs,
    /// `src, imm`
    LdInd,
    /// `dst, [src + off]`
    Load,
    /// `[dst + off], imm`
    StoreImm,
    /// `[dst + off], src`
    StoreReg,
    /// `target`, 16-bit offset
    Ja,
    /// `target`, 32-bit offset in imm
    Ja32,
    /// `dst, imm, target`
    JmpK,
    /// `dst, src, target`
    JmpX,
    /// `imm` or a helper name
    Call,
    /// `target` (bpf-to-bpf call, offset in imm)
    CallLocal,
    /// `imm` (BTF id)
    CallKfunc,
    /// no operands
    Exit,
    /// `code, dst, src, off, imm`
    Raw,
}

/// How an immediate operand is range-checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImmRule {
    /// Used by a 64-bit operation: sign-extended, so `[-2^31, 2^31)`.
    Sext,
    /// Used as 32 bits: `[-2^31, 2^32)`.
    Bits32,
    /// A shift amount below the operand width.
    Shift(u8),
    /// A divisor: non-zero, and `Sext` or `Bits32` by the flag (true = 64-bit).
    Divisor(bool),
}

/// One instruction form: a spelling with a fixed operand shape and encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    /// Canonical mnemonic (what the disassembler prints).
    pub name: &'static str,
    /// Operands.
    pub shape: Shape,
    /// Opcode byte.
    pub code: u8,
    /// `src` when it is not an operand (pseudo sources, call kinds).
    pub src: u8,
    /// `off` when it is not an operand (sdiv, movsx width, ...).
    pub off: i16,
    /// `imm` when it is not an operand (atomics, byte-order width, ...).
    pub imm: i32,
    /// Range rule for an immediate operand.
    pub rule: ImmRule,
    /// ISA level (`#![cpu = vN]`) that introduced it: 1 to 4.
    pub cpu: u8,
    /// Linux release that introduced it.
    pub since: &'static str,
    /// For `lddw`: the pseudo keyword (`""` for a constant).
    pub pseudo: &'static str,
    /// Pseudo-C operator or name (`+=`, `s/=`, `==`, `bswap16`, ...).
    pub op: &'static str,
    /// Whether the operation is 64-bit (pseudo-C `r` vs `w` registers).
    pub wide: bool,
}

impl Form {
    const fn base(name: &'static str, shape: Shape, code: u32) -> Form {
        Form {
            name,
            shape,
            code: code as u8,
            src: 0,
            off: 0,
            imm: 0,
            rule: ImmRule::Bits32,
            cpu: 1,
            since: "3.18",
            pseudo: "",
            op: "",
            wide: true,
        }
    }
}

impl Form {
    /// Bytes a load or store moves (from its `u8`..`u64`/`s8`..`s32` type).
    pub fn access_size(&self) -> i64 {
        match self.op {
            "u8" | "s8" => 1,
            "u16" | "s16" => 2,
            "u32" | "s32" => 4,
            _ if self.wide => 8,
            _ => 4,
        }
    }

    /// Whether the instruction writes its `src` register (atomic fetch and
    /// exchange return the old value there).
    pub fn writes_src(&self) -> bool {
        self.shape == Shape::StoreReg
            && (self.name.contains("fetch")
                || self.name.contains("xchg") && !self.name.contains("cmpxchg"))
    }
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

/// The whole table, with its indexes.
#[derive(Debug)]
pub struct Isa {
    /// Every form, in a stable order.
    pub forms: Vec<Form>,
    by_name: NameMap,
    by_code: Vec<Vec<usize>>,
}

const ALU_OPS: &[(&str, u32, &str)] = &[
    ("add", k::BPF_ADD, "+="),
    ("sub", k::BPF_SUB, "-="),
    ("mul", k::BPF_MUL, "*="),
    ("div", k::BPF_DIV, "/="),
    ("or", k::BPF_OR, "|="),
    ("and", k::BPF_AND, "&="),
    ("lsh", k::BPF_LSH, "<<="),
    ("rsh", k::BPF_RSH, ">>="),
    ("mod", k::BPF_MOD, "%="),
    ("xor", k::BPF_XOR, "^="),
    ("mov", k::BPF_MOV, "="),
    ("arsh", k::BPF_ARSH, "s>>="),
];

const JMP_OPS: &[(&str, u32, &str, u8)] = &[
    ("jeq", k::BPF_JEQ, "==", 1),
    ("jgt", k::BPF_JGT, ">", 1),
    ("jge", k::BPF_JGE, ">=", 1),
    ("jset", k::BPF_JSET, "&", 1),
    ("jne", k::BPF_JNE, "!=", 1),
    ("jsgt", k::BPF_JSGT, "s>", 1),
    ("jsge", k::BPF_JSGE, "s>=", 1),
    ("jlt", k::BPF_JLT, "<", 2),
    ("jle", k::BPF_JLE, "<=", 2),
    ("jslt", k::BPF_JSLT, "s<", 2),
    ("jsle", k::BPF_JSLE, "s<=", 2),
];

const SIZES: &[(&str, u32, &str)] = &[
    ("b", k::BPF_B, "u8"),
    ("h", k::BPF_H, "u16"),
    ("w", k::BPF_W, "u32"),
    ("dw", k::BPF_DW, "u64"),
];

const ATOMIC_OPS: &[(&str, u32, &str)] = &[
    ("add", k::BPF_ADD, "+="),
    ("or", k::BPF_OR, "|="),
    ("and", k::BPF_AND, "&="),
    ("xor", k::BPF_XOR, "^="),
];

/// Extra spellings accepted for a canonical mnemonic.
const ALIASES: &[(&str, &str)] = &[
    ("gotol", "ja32"),
    ("sdiv64", "sdiv"),
    ("smod64", "smod"),
    ("movsx864", "movsx8"),
    ("movsx1664", "movsx16"),
    ("movsx3264", "movsx32"),
    ("neg64", "neg"),
    // bpf_conformance spellings.
    ("swap16", "bswap16"),
    ("swap32", "bswap32"),
    ("swap64", "bswap64"),
    ("call runtime", "call kfunc"),
];

fn build() -> Vec<Form> {
    use Shape::*;
    let mut v = Vec::with_capacity(256);
    for &(name, op, sym) in ALU_OPS {
        for (wide, class) in [(true, k::BPF_ALU64), (false, k::BPF_ALU)] {
            let name = leak(if wide {
                name.to_owned()
            } else {
                format!("{name}32")
            });
            let rule = match op {
                k::BPF_LSH | k::BPF_RSH | k::BPF_ARSH => ImmRule::Shift(if wide { 63 } else { 31 }),
                k::BPF_DIV | k::BPF_MOD => ImmRule::Divisor(wide),
                _ if wide => ImmRule::Sext,
                _ => ImmRule::Bits32,
            };
            let f = Form {
                op: sym,
                wide,
                rule,
                ..Form::base(name, AluK, class | op | k::BPF_K)
            };
            v.push(f);
            v.push(Form {
                shape: AluX,
                code: (class | op | k::BPF_X) as u8,
                ..f
            });
        }
    }
    // Signed division and modulo: the same opcodes with off = 1 (v4).
    for (name, op, sym) in [("sdiv", k::BPF_DIV, "s/="), ("smod", k::BPF_MOD, "s%=")] {
        for (wide, class) in [(true, k::BPF_ALU64), (false, k::BPF_ALU)] {
            let name = leak(if wide {
                name.to_owned()
            } else {
                format!("{name}32")
            });
            let f = Form {
                off: 1,
                op: sym,
                wide,
                rule: ImmRule::Divisor(wide),
                cpu: 4,
                since: "6.6",
                ..Form::base(name, AluK, class | op | k::BPF_K)
            };
            v.push(f);
            v.push(Form {
                shape: AluX,
                code: (class | op | k::BPF_X) as u8,
                ..f
            });
        }
    }
    v.push(Form {
        op: "-",
        ..Form::base("neg", Unary, k::BPF_ALU64 | k::BPF_NEG | k::BPF_K)
    });
    v.push(Form {
        op: "-",
        wide: false,
        ..Form::base("neg32", Unary, k::BPF_ALU | k::BPF_NEG | k::BPF_K)
    });
    for (name, width, wide) in [
        ("movsx8", 8, true),
        ("movsx16", 16, true),
        ("movsx32", 32, true),
        ("movsx832", 8, false),
        ("movsx1632", 16, false),
    ] {
        let class = if wide { k::BPF_ALU64 } else { k::BPF_ALU };
        v.push(Form {
            off: width,
            wide,
            cpu: 4,
            since: "6.6",
            ..Form::base(name, MovSx, class | k::BPF_MOV | k::BPF_X)
        });
    }
    v.push(Form {
        off: k::BPF_ADDR_SPACE_CAST as i16,
        since: "6.9",
        ..Form::base(
            "addr_space_cast",
            AddrSpaceCast,
            k::BPF_ALU64 | k::BPF_MOV | k::BPF_X,
        )
    });
    for (prefix, src, pc) in [("le", k::BPF_TO_LE, "le"), ("be", k::BPF_TO_BE, "be")] {
        for width in [16, 32, 64] {
            v.push(Form {
                imm: width,
                op: leak(format!("{pc}{width}")),
                ..Form::base(
                    leak(format!("{prefix}{width}")),
                    Unary,
                    k::BPF_ALU | k::BPF_END | src,
                )
            });
        }
    }
    for width in [16, 32, 64] {
        v.push(Form {
            imm: width,
            op: leak(format!("bswap{width}")),
            cpu: 4,
            since: "6.6",
            ..Form::base(
                leak(format!("bswap{width}")),
                Unary,
                k::BPF_ALU64 | k::BPF_END | k::BPF_TO_LE,
            )
        });
    }
    let lddw = k::BPF_LD | k::BPF_IMM | k::BPF_DW;
    for (pseudo, src, since) in [
        ("", 0, "3.18"),
        ("map_fd", k::BPF_PSEUDO_MAP_FD, "3.18"),
        ("map_value", k::BPF_PSEUDO_MAP_VALUE, "5.2"),
        ("btf_id", k::BPF_PSEUDO_BTF_ID, "5.10"),
        ("func", k::BPF_PSEUDO_FUNC, "5.13"),
        ("map_idx", k::BPF_PSEUDO_MAP_IDX, "5.14"),
        ("map_idx_value", k::BPF_PSEUDO_MAP_IDX_VALUE, "5.14"),
    ] {
        v.push(Form {
            src: src as u8,
            pseudo,
            since,
            ..Form::base("lddw", Lddw, lddw)
        });
    }
    for &(suffix, size, ty) in &SIZES[..3] {
        v.push(Form {
            op: ty,
            ..Form::base(
                leak(format!("ldabs{suffix}")),
                LdAbs,
                k::BPF_LD | k::BPF_ABS | size,
            )
        });
        v.push(Form {
            op: ty,
            ..Form::base(
                leak(format!("ldind{suffix}")),
                LdInd,
                k::BPF_LD | k::BPF_IND | size,
            )
        });
    }
    for &(suffix, size, ty) in SIZES {
        let wide = size == k::BPF_DW;
        v.push(Form {
            op: ty,
            wide,
            ..Form::base(
                leak(format!("ldx{suffix}")),
                Load,
                k::BPF_LDX | k::BPF_MEM | size,
            )
        });
        if !wide {
            v.push(Form {
                op: leak(ty.replace('u', "s")),
                cpu: 4,
                since: "6.6",
                ..Form::base(
                    leak(format!("ldxs{suffix}")),
                    Load,
                    k::BPF_LDX | k::BPF_MEMSX | size,
                )
            });
        }
        v.push(Form {
            op: ty,
            wide,
            rule: if wide { ImmRule::Sext } else { ImmRule::Bits32 },
            ..Form::base(
                leak(format!("st{suffix}")),
                StoreImm,
                k::BPF_ST | k::BPF_MEM | size,
            )
        });
        v.push(Form {
            op: ty,
            wide,
            ..Form::base(
                leak(format!("stx{suffix}")),
                StoreReg,
                k::BPF_STX | k::BPF_MEM | size,
            )
        });
        v.push(Form {
            op: ty,
            wide,
            imm: k::BPF_LOAD_ACQ as i32,
            since: "6.15",
            ..Form::base(
                leak(format!("ldxacq{suffix}")),
                Load,
                k::BPF_STX | k::BPF_ATOMIC | size,
            )
        });
        v.push(Form {
            op: ty,
            wide,
            imm: k::BPF_STORE_REL as i32,
            since: "6.15",
            ..Form::base(
                leak(format!("stxrel{suffix}")),
                StoreReg,
                k::BPF_STX | k::BPF_ATOMIC | size,
            )
        });
    }
    for (wide, size, suffix) in [(true, k::BPF_DW, ""), (false, k::BPF_W, "32")] {
        let code = k::BPF_STX | k::BPF_ATOMIC | size;
        for &(name, op, sym) in ATOMIC_OPS {
            let since = if op == k::BPF_ADD { "3.18" } else { "5.12" };
            v.push(Form {
                imm: op as i32,
                op: sym,
                wide,
                since,
                ..Form::base(leak(format!("lock {name}{suffix}")), StoreReg, code)
            });
            v.push(Form {
                imm: (op | k::BPF_FETCH) as i32,
                op: leak(format!("atomic_fetch_{name}")),
                wide,
                since: "5.12",
                ..Form::base(leak(format!("lock fetch {name}{suffix}")), StoreReg, code)
            });
        }
        for (name, imm) in [("xchg", k::BPF_XCHG), ("cmpxchg", k::BPF_CMPXCHG)] {
            v.push(Form {
                imm: imm as i32,
                op: name,
                wide,
                since: "5.12",
                ..Form::base(leak(format!("lock {name}{suffix}")), StoreReg, code)
            });
        }
    }
    v.push(Form::base("ja", Ja, k::BPF_JMP | k::BPF_JA | k::BPF_K));
    v.push(Form {
        cpu: 4,
        since: "6.6",
        ..Form::base("ja32", Ja32, k::BPF_JMP32 | k::BPF_JA | k::BPF_K)
    });
    v.push(Form {
        src: k::BPF_MAY_GOTO as u8,
        since: "6.9",
        ..Form::base("may_goto", Ja, k::BPF_JMP | k::BPF_JCOND | k::BPF_K)
    });
    for &(name, op, sym, cpu) in JMP_OPS {
        for (wide, class) in [(true, k::BPF_JMP), (false, k::BPF_JMP32)] {
            let (name, cpu, since) = if wide {
                (name, cpu, if cpu == 2 { "4.14" } else { "3.18" })
            } else {
                (leak(format!("{name}32")), 3, "5.1")
            };
            let f = Form {
                op: sym,
                wide,
                cpu,
                since,
                rule: if wide { ImmRule::Sext } else { ImmRule::Bits32 },
                ..Form::base(name, JmpK, class | op | k::BPF_K)
            };
            v.push(f);
            v.push(Form {
                shape: JmpX,
                code: (class | op | k::BPF_X) as u8,
                ..f
            });
        }
    }
    let call = k::BPF_JMP | k::BPF_CALL | k::BPF_K;
    v.push(Form::base("call", Call, call));
    v.push(Form {
        src: k::BPF_PSEUDO_CALL as u8,
        since: "4.16",
        ..Form::base("call local", CallLocal, call)
    });
    v.push(Form {
        src: k::BPF_PSEUDO_KFUNC_CALL as u8,
        since: "5.13",
        ..Form::base("call kfunc", CallKfunc, call)
    });
    v.push(Form::base(
        "exit",
        Exit,
        k::BPF_JMP | k::BPF_EXIT | k::BPF_K,
    ));
    v.push(Form::base("raw", Raw, 0));
    v
}

/// Table strings are built once per process; leaking them keeps `Form`
/// `Copy` and `'static` without a second hand-written table.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The table, built on first use.
pub fn isa() -> &'static Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    ISA.get_or_init(|| {
        let forms = build();
        let mut by_name = NameMap::default();
        let mut by_code = vec![Vec::new(); 256];
        for (i, f) in forms.iter().enumerate() {
            by_name.entry(f.name).or_default().push(i);
            if f.shape != Shape::Raw {
                by_code[usize::from(f.code)].push(i);
            }
        }
        for &(alias, canonical) in ALIASES {
            if let Some(ix) = by_name.get(canonical).cloned() {
                by_name.insert(alias, ix);
            }
        }
        // `add64` for `add` and so on: every 64-bit ALU and jump form.
        let sixty_four: Vec<(&'static str, Vec<usize>)> = by_name
            .iter()
            .filter(|(n, ix)| {
                ix.iter().all(|&i| {
                    let f = &forms[i];
                    f.wide
                        && matches!(f.shape, Shape::AluK | Shape::AluX | Shape::Unary)
                        && !n.starts_with("bswap")
                        && !n.starts_with("le")
                        && !n.starts_with("be")
                        && !n.starts_with("movsx")
                        && !n.ends_with("64")
                }) || n.starts_with("lock ") && !n.ends_with("32")
            })
            .filter(|(n, _)| !by_name.contains_key(format!("{n}64").as_str()))
            .map(|(n, ix)| (leak(format!("{n}64")), ix.clone()))
            .collect();
        by_name.extend(sixty_four);
        Isa {
            forms,
            by_name,
            by_code,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_from_the_header() {
        let isa = isa();
        let code = |name: &str, shape: Shape| {
            isa.by_name(name)
                .unwrap()
                .iter()
                .map(|&i| isa.forms[i])
                .find(|f| f.shape == shape)
                .unwrap()
                .code
        };
        assert_eq!(code("add", Shape::AluK), 0x07);
        assert_eq!(code("add64", Shape::AluX), 0x0f);
        assert_eq!(code("mov32", Shape::AluK), 0xb4);
        assert_eq!(code("jsle32", Shape::JmpX), 0xde);
        assert_eq!(code("ldxsb", Shape::Load), 0x91);
        assert_eq!(code("lock fetch add32", Shape::StoreReg), 0xc3);
        assert_eq!(code("lock add64", Shape::StoreReg), 0xdb);
        assert_eq!(code("may_goto", Shape::Ja), 0xe5);
        assert_eq!(code("gotol", Shape::Ja32), 0x06);
        assert_eq!(code("stxreldw", Shape::StoreReg), 0xdb);
        assert_eq!(code("ldabsh", Shape::LdAbs), 0x28);
    }

    #[test]
    fn no_two_forms_share_an_encoding_key() {
        let isa = isa();
        let mut seen = std::collections::HashSet::new();
        for f in &isa.forms {
            if f.shape == Shape::Raw {
                continue;
            }
            assert!(
                seen.insert((f.code, f.src, f.off, f.imm, f.pseudo, f.shape)),
                "duplicate {f:?}"
            );
        }
    }
}
