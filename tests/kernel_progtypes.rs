//! The program-type tables (`bpf_asm::progtype`) against the running
//! kernel: for each table, one probe load per helper id of the header and
//! per context offset × size × access (load, register store, immediate
//! store). Any disagreement fails the test, all of them printed: this is
//! how the tables stay right on a newer kernel. Helper ids the header lacks
//! are not probed.
//!
//! Needs root (or CAP_BPF); see `common::require_privilege`.

mod common;

use bpf_asm::progtype::{TABLES, Table};
use bpf_loader::{Error, Insn, Program, ProgramLoader};
use common::require_privilege;

const MOV_R0_0: Insn = Insn::new(0xb7, 0, 0, 0, 0);
const EXIT: Insn = Insn::new(0x95, 0, 0, 0, 0);

/// Whether the kernel loads `insns` as a program of the table's type; the
/// verifier log when it does not.
fn load(t: &Table, insns: Vec<Insn>) -> Result<(), String> {
    let p = Program::from_insns(insns).with_prog_type(t.prog_type);
    match ProgramLoader::new(&p).load() {
        Ok(_) => Ok(()),
        Err(Error::Verifier(v)) => Err(v.log().to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether the type may call helper `id`: the probe sets r2–r5 to 0 (r1 is
/// the context) and calls it. A refusal says so before any argument is
/// looked at (`program of this type cannot use helper`, `unknown func` on
/// older kernels, or a helper the type's checks forbid); anything else (an
/// argument the verifier does not like) means the type may call it.
fn may_call(t: &Table, id: u32) -> Result<bool, String> {
    let mut insns: Vec<Insn> = (2..=5).map(|r| Insn::new(0xb7, r, 0, 0, 0)).collect();
    insns.extend([Insn::new(0x85, 0, 0, 0, id as i32), MOV_R0_0, EXIT]);
    match load(t, insns) {
        Ok(()) => Ok(true),
        Err(log) => {
            let refused = [
                "program of this type cannot use helper",
                "unknown func",
                "helper call is not allowed",
                "might sleep in a non-sleepable prog",
            ];
            if refused.iter().any(|m| log.contains(m)) {
                Ok(false)
            } else if log.contains(&format!("#{id}")) || log.contains("R1") || log.contains("R2") {
                Ok(true)
            } else {
                Err(log)
            }
        }
    }
}

const LDX: [(u8, u8); 4] = [(1, 0x71), (2, 0x69), (4, 0x61), (8, 0x79)];
const STX: [(u8, u8); 4] = [(1, 0x73), (2, 0x6b), (4, 0x63), (8, 0x7b)];
const ST: [(u8, u8); 4] = [(1, 0x72), (2, 0x6a), (4, 0x62), (8, 0x7a)];

#[test]
fn helpers_agree_with_the_kernel() {
    require_privilege!();
    let mut bad = Vec::new();
    for t in &TABLES {
        let mut kernel = Vec::new();
        for &(name, id) in bpf_sys::HELPERS {
            if id == 0 {
                continue;
            }
            match may_call(t, id) {
                Ok(true) => kernel.push(name),
                Ok(false) => {}
                Err(log) => bad.push(format!(
                    "{}: `call {name}` (#{id}): unclassified refusal:\n{log}",
                    t.name()
                )),
            }
            let ours = t.may_call(name);
            if ours != kernel.last().is_some_and(|&n| n == name) {
                bad.push(format!(
                    "{}: the table says `{name}` (#{id}) is {}allowed, the kernel {}",
                    t.name(),
                    if ours { "" } else { "not " },
                    if ours { "refuses it" } else { "accepts it" }
                ));
            }
        }
        for name in t.helpers {
            if bpf_sys::helper_id(name).is_none() {
                bad.push(format!("{}: `{name}` is not in the header", t.name()));
            }
        }
        if kernel.as_slice() != t.helpers {
            eprintln!("{}: the kernel's helpers:\n{kernel:?}", t.name());
        }
    }
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn context_accesses_agree_with_the_kernel() {
    require_privilege!();
    let mut bad = Vec::new();
    let mut probes = 0;
    for t in &TABLES {
        for off in -8..i64::from(t.ctx_size) + 8 {
            let o = off as i16;
            for i in 0..4 {
                let size = LDX[i].0;
                // A load, and whether what it gives is a pointer (`mul`
                // on a pointer is refused, on a number it is not).
                let read = load(t, vec![Insn::new(LDX[i].1, 0, 1, o, 0), MOV_R0_0, EXIT]);
                let ptr = read.is_ok()
                    && load(
                        t,
                        vec![
                            Insn::new(LDX[i].1, 2, 1, o, 0),
                            Insn::new(0x27, 2, 0, 0, 2),
                            MOV_R0_0,
                            EXIT,
                        ],
                    )
                    .is_err();
                let stx = load(
                    t,
                    vec![
                        Insn::new(0xb7, 2, 0, 0, 0),
                        Insn::new(STX[i].1, 1, 2, o, 0),
                        MOV_R0_0,
                        EXIT,
                    ],
                );
                let st = load(t, vec![Insn::new(ST[i].1, 1, 0, o, 0), MOV_R0_0, EXIT]);
                probes += 5;
                let ours_read = t.access(off, size, false);
                let ours_write = t.access(off, size, true);
                let what = |ok: bool| if ok { "accepts" } else { "refuses" };
                let mut check = |kind: &str, kernel: bool, ours: bool| {
                    if kernel != ours {
                        let field = t.field_at(off).map_or("-", |f| f.name);
                        bad.push(format!(
                            "{}: {kind} of {size} bytes at {off} ({field}): the kernel {}, the \
                             table {}",
                            t.name(),
                            what(kernel),
                            what(ours)
                        ));
                    }
                };
                check("load", read.is_ok(), ours_read.is_ok());
                check("stx", stx.is_ok(), ours_write.is_ok());
                check("st", st.is_ok(), ours_write.is_ok());
                if read.is_ok() {
                    check("pointer load", ptr, ours_read.is_ok_and(|f| f.ptr));
                }
            }
        }
    }
    eprintln!("{probes} context probes");
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
