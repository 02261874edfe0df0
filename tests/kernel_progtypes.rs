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

/// Programs the program-type checks reject: the kernel rejects each one,
/// loaded with the checks off, as its own program type.
const REJECTED: &[&str] = &[
    "mov r2, 1\nmov r3, 0\ncall clone_redirect\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, 0\nmov r4, 0\ncall l3_csum_replace\nmov r0, 0\nexit",
    "#![prog_type = xdp]\nmov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 4\ncall skb_load_bytes\nmov r0, 2\nexit",
    "#![prog_type = cgroup_skb]\nmov r2, 0\ncall redirect\nmov r0, 1\nexit",
    "ldxw r3, [r1 + 80]\nmov r0, 0\nexit",
    "ldxw r3, [r1 + 76]\nmov r0, 0\nexit",
    "ldxdw r0, [r1 + 8]\nexit",
    "ldxw r0, [r1 + 18]\nexit",
    "ldxh r2, [r1 + 168]\nmov r0, 0\nexit",
    "mov r2, 1\nstxw [r1 + 8], r2\nmov r0, 0\nexit",
    "stw [r1 + 0], 1\nmov r0, 0\nexit",
    "mov r2, r1\nadd r2, 8\nldxw r0, [r2 + 0]\nexit",
    "ldxw r0, [r1 + 192]\nexit",
    "ldxb r0, [r1 + 181]\nexit",
    "mov r2, 0\nstxdw [r1 + 64], r2\nmov r0, 0\nexit",
    "mov r2, 1\nlock add [r1 + 48], r2\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nmov r2, 0\nstxdw [r1 + 8], r2\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nldxw r0, [r1 + 92]\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nldxh r0, [r1 + 152]\nmov r0, 0\nexit",
    "#![prog_type = xdp]\nldxh r0, [r1 + 0]\nmov r0, 2\nexit",
    "#![prog_type = xdp]\nldxw r0, [r1 + 20]\nmov r0, 2\nexit",
    "#![prog_type = xdp]\nmov r2, 0\nstxw [r1 + 16], r2\nmov r0, 2\nexit",
    "#![prog_type = cgroup_skb]\nldxw r0, [r1 + 140]\nmov r0, 1\nexit",
    "#![prog_type = cgroup_skb]\nmov r2, 0\nstxw [r1 + 40], r2\nmov r0, 1\nexit",
    "call get_prandom_u32\nmov r6, r0\nmov r0, 0\njgt r6, 5, out\nldxw r0, [r1 + 80]\nout: exit",
    // A helper's buffer reaching outside the stack at its size.
    "mov r2, 0\nmov r3, r10\nadd r3, -4\nmov r4, 8\ncall skb_load_bytes\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, r10\nadd r3, -516\nmov r4, 8\ncall skb_load_bytes\nmov r0, 0\nexit",
    "mov r6, r1\nldxw r4, [r6 + 0]\nand r4, 63\nadd r4, 1\nmov r1, r6\nmov r2, 0\nmov r3, r10\nadd r3, -8\ncall skb_load_bytes\nmov r0, 0\nexit",
];

/// Tricky programs the checks accept: each loads.
const ACCEPTED: &[&str] = &[
    "ldxb r0, [r1 + 16]\nldxb r0, [r1 + 19]\nldxh r0, [r1 + 18]\nldxw r0, [r1 + 16]\nexit",
    "mov r2, 0\nstxdw [r1 + 48], r2\nstxw [r1 + 64], r2\nstb [r1 + 51], 1\nldxdw r0, [r1 + 56]\nmov r0, 0\nexit",
    "ldxdw r2, [r1 + 168]\nldxb r3, [r1 + 0]\nmov r0, 0\nexit",
    "mov r2, r1\nadd r2, 8\nadd r2, -8\nldxw r0, [r2 + 8]\nexit",
    "mov r2, 0\njeq r2, 0, out\nldxw r0, [r1 + 80]\ncall clone_redirect\nout: mov r0, 0\nexit",
    "mov r2, r10\nadd r2, -8\nmov r3, 0\nmov r4, r2\nmov r2, 0\nmov r3, r10\nadd r3, -8\nmov r4, 8\ncall skb_load_bytes\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nldxw r2, [r1 + 76]\nldxw r3, [r1 + 80]\nldxw r4, [r1 + 140]\nldxdw r5, [r1 + 152]\nldxb r5, [r1 + 180]\nstw [r1 + 8], 7\nmov r0, 0\nexit",
    "#![prog_type = sched_cls]\nmov r2, 1\nmov r3, 0\ncall clone_redirect\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, r10\nadd r3, -16\nmov r4, 16\ncall skb_load_bytes\nmov r0, 0\nexit",
    "mov r2, 0\nmov r3, r10\nadd r3, -512\nmov r4, 512\ncall skb_load_bytes\nmov r0, 0\nexit",
    "#![prog_type = xdp]\nldxw r2, [r1 + 0]\nldxw r3, [r1 + 4]\nldxw r4, [r1 + 16]\nmov r0, 2\nexit",
    "#![prog_type = cgroup_skb]\nldxw r2, [r1 + 76]\nldxw r3, [r1 + 80]\nstw [r1 + 8], 1\nldxh r4, [r1 + 132]\nmov r0, 1\nexit",
];

#[test]
fn checked_programs_agree_with_the_kernel() {
    let mut bad = Vec::new();
    let mut rejected = Vec::new();
    for src in REJECTED {
        match bpf_asm::assemble(src) {
            Ok(_) => bad.push(format!("the checks accept:\n{src}")),
            Err(_) => rejected.push(src),
        }
    }
    let mut accepted = Vec::new();
    for src in ACCEPTED {
        match bpf_asm::assemble(src) {
            Ok(p) => accepted.push((src, p)),
            Err(e) => bad.push(format!("the checks reject:\n{src}\n{e}")),
        }
    }
    if common::kernel() {
        for src in rejected {
            let p = bpf_asm::Assembler::new()
                .flow_checks(false)
                .assemble(src)
                .unwrap_or_else(|e| panic!("{src}: {e}"));
            if ProgramLoader::new(&p).load().is_ok() {
                bad.push(format!("the checks reject, the kernel loads:\n{src}"));
            }
        }
        for (src, p) in accepted {
            if let Err(e) = ProgramLoader::new(&p).load() {
                bad.push(format!("the kernel refuses:\n{src}\n{e}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}
