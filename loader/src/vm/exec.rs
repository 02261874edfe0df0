//! The run loop: each step's operation from its ISA row, with the kernel's
//! arithmetic, and memory through checked regions.

use std::rc::Rc;
use std::sync::MutexGuard;

use bpf_asm::isa::{AtomicOp, ByteOrder, JmpOp};

use super::ctx::{self, SkBuff};
use super::helpers;
use super::maps::MemMap;
use super::mem::{self, Fault, Kind, Region};
use super::{
    Arith, Code, Exec, MAX_FRAMES, MAX_TAIL_CALLS, MAY_GOTO_BUDGET, STACK, Vm, VmError, VmErrorKind,
};
use crate::map::memory::lock;

/// Why a run failed, boxed inside the interpreter: every step's `Result`
/// then fits in two registers, where a bare `VmError` (over 100 bytes) is
/// copied through memory at every return, even an `Ok` one.
pub(crate) type Failed = Box<VmError>;

/// Region indexes fixed for a run.
pub(crate) const CTX: usize = 0;
const STACK0: usize = 1;

/// A frame of `call local`.
#[derive(Clone, Copy, Debug)]
struct Frame {
    ret: usize,
    saved: [u64; 4],
    may_goto: u64,
}

/// A run in progress.
pub(crate) struct Machine<'v, 'p> {
    pub(crate) vm: &'v mut Vm,
    /// The maps, locked for the run (in `Vm::maps` order).
    pub(crate) maps: Vec<MutexGuard<'v, MemMap>>,
    pub(crate) skb: &'v SkBuff<'p>,
    pub(crate) regions: Vec<Region>,
    /// The program running (another one after a tail call).
    pub(crate) code: Rc<Code>,
    /// r0-r10, and 5 more so a 4-bit register index needs no bounds check.
    regs: [u64; 16],
    frames: Vec<Frame>,
    may_goto: u64,
    pub(crate) tail_calls: u32,
    /// Set by the tail-call helper: the program to continue with.
    pub(crate) tail: Option<Rc<Code>>,
    /// Whether the context region holds this run's `__sk_buff` yet: it is
    /// copied in at the first access (most filters never read it).
    ctx_ready: bool,
}

pub(crate) fn run(vm: &mut Vm, skb: &SkBuff<'_>) -> Result<u64, Failed> {
    let code = Rc::clone(&vm.code);
    // The regions of the last run, reset: the context rewritten (at its
    // first access), each stack frame zeroed as far down as it was written.
    let mut regions = std::mem::take(&mut vm.regions);
    if regions.is_empty() {
        regions = fresh_regions();
    }
    regions.truncate(STACK0 + MAX_FRAMES);
    if vm.stack_written {
        zero_written_stacks(vm, &mut regions);
    }
    let shared = std::mem::take(&mut vm.shared);
    let (r, regions) = {
        let maps = if shared.is_empty() {
            Vec::new()
        } else {
            lock_maps(&shared, vm.env.cpu)
        };
        let mut m = Machine {
            vm: &mut *vm,
            maps,
            skb,
            regions,
            code,
            regs: [0; 16],
            frames: Vec::new(),
            may_goto: MAY_GOTO_BUDGET,
            tail_calls: 0,
            tail: None,
            ctx_ready: false,
        };
        m.regs[1] = mem::base(CTX);
        m.regs[10] = mem::base(STACK0) + STACK as u64;
        let r = m.run();
        (r, std::mem::take(&mut m.regions))
    };
    vm.regions = regions;
    vm.shared = shared;
    r
}

// The rarer parts of a run's setup, out of line so the common one (no
// maps, nothing on the stack) stays short.

/// The context and every stack frame, for a first run.
#[cold]
#[inline(never)]
fn fresh_regions() -> Vec<Region> {
    let mut regions = vec![Region {
        kind: Kind::Ctx,
        bytes: vec![0; ctx::CTX_SIZE],
    }];
    for _ in 0..MAX_FRAMES {
        regions.push(Region {
            kind: Kind::Stack,
            bytes: vec![0; STACK],
        });
    }
    regions
}

/// Zeroes what the last run wrote of each stack frame.
#[inline(never)]
fn zero_written_stacks(vm: &mut Vm, regions: &mut [Region]) {
    vm.stack_written = false;
    for (f, low) in vm.dirty.iter_mut().enumerate() {
        if *low < STACK {
            regions[STACK0 + f].bytes[*low..].fill(0);
            *low = STACK;
        }
    }
}

/// The maps, locked for a run, each seeing `cpu`'s per-CPU values.
#[inline(never)]
fn lock_maps(shared: &[crate::map::memory::Shared], cpu: u32) -> Vec<MutexGuard<'_, MemMap>> {
    let mut maps: Vec<MutexGuard<'_, MemMap>> = shared.iter().map(|m| lock(m)).collect();
    for m in &mut maps {
        m.set_cpu(cpu as usize);
    }
    maps
}

/// `x op y` for a 64-bit ALU operation, with the kernel's rules for
/// division and shifts.
#[inline(always)]
fn alu64(op: Arith, x: u64, y: u64) -> u64 {
    match op {
        Arith::Add => x.wrapping_add(y),
        Arith::Sub => x.wrapping_sub(y),
        Arith::Mul => x.wrapping_mul(y),
        Arith::Div => x.checked_div(y).unwrap_or(0),
        Arith::SDiv => match y as i64 {
            0 => 0,
            -1 => (x as i64).wrapping_neg() as u64,
            d => ((x as i64) / d) as u64,
        },
        Arith::Mod => x.checked_rem(y).unwrap_or(x),
        Arith::SMod => match y as i64 {
            0 => x,
            -1 => 0,
            d => ((x as i64) % d) as u64,
        },
        Arith::Or => x | y,
        Arith::And => x & y,
        Arith::Lsh => x << (y & 63),
        Arith::Rsh => x >> (y & 63),
        Arith::Arsh => ((x as i64) >> (y & 63)) as u64,
        Arith::Xor => x ^ y,
        Arith::Mov => y,
    }
}

/// The same for 32-bit operations: they see and produce the low halves,
/// zero-extended.
#[inline(always)]
fn alu32(op: Arith, x: u64, y: u64) -> u64 {
    let (a, b) = (x as u32, y as u32);
    u64::from(match op {
        Arith::Add => a.wrapping_add(b),
        Arith::Sub => a.wrapping_sub(b),
        Arith::Mul => a.wrapping_mul(b),
        Arith::Div => a.checked_div(b).unwrap_or(0),
        Arith::SDiv => match b as i32 {
            0 => 0,
            -1 => (a as i32).wrapping_neg() as u32,
            d => ((a as i32) / d) as u32,
        },
        Arith::Mod => a.checked_rem(b).unwrap_or(a),
        Arith::SMod => match b as i32 {
            0 => a,
            -1 => 0,
            d => ((a as i32) % d) as u32,
        },
        Arith::Or => a | b,
        Arith::And => a & b,
        Arith::Lsh => a << (b & 31),
        Arith::Rsh => a >> (b & 31),
        Arith::Arsh => ((a as i32) >> (b & 31)) as u32,
        Arith::Xor => a ^ b,
        Arith::Mov => b,
    })
}

/// Whether `x op y` holds for a 64-bit jump.
#[inline(always)]
fn cond64(op: JmpOp, x: u64, y: u64) -> bool {
    match op {
        JmpOp::Jeq => x == y,
        JmpOp::Jne => x != y,
        JmpOp::Jgt => x > y,
        JmpOp::Jge => x >= y,
        JmpOp::Jlt => x < y,
        JmpOp::Jle => x <= y,
        JmpOp::Jset => x & y != 0,
        JmpOp::Jsgt => (x as i64) > (y as i64),
        JmpOp::Jsge => (x as i64) >= (y as i64),
        JmpOp::Jslt => (x as i64) < (y as i64),
        JmpOp::Jsle => (x as i64) <= (y as i64),
    }
}

/// The same on the low halves, for a 32-bit jump.
#[inline(always)]
fn cond32(op: JmpOp, x: u64, y: u64) -> bool {
    let (x, y) = (x as u32, y as u32);
    match op {
        JmpOp::Jeq => x == y,
        JmpOp::Jne => x != y,
        JmpOp::Jgt => x > y,
        JmpOp::Jge => x >= y,
        JmpOp::Jlt => x < y,
        JmpOp::Jle => x <= y,
        JmpOp::Jset => x & y != 0,
        JmpOp::Jsgt => (x as i32) > (y as i32),
        JmpOp::Jsge => (x as i32) >= (y as i32),
        JmpOp::Jslt => (x as i32) < (y as i32),
        JmpOp::Jsle => (x as i32) <= (y as i32),
    }
}

fn byte_order(order: ByteOrder, width: i32, x: u64) -> u64 {
    let big_endian_host = cfg!(target_endian = "big");
    let swap = match order {
        ByteOrder::Swap => true,
        ByteOrder::Le => big_endian_host,
        ByteOrder::Be => !big_endian_host,
    };
    match (width, swap) {
        (16, true) => u64::from((x as u16).swap_bytes()),
        (16, false) => u64::from(x as u16),
        (32, true) => u64::from((x as u32).swap_bytes()),
        (32, false) => u64::from(x as u32),
        (_, true) => x.swap_bytes(),
        (_, false) => x,
    }
}

fn sign_extend(x: u64, bytes: usize) -> u64 {
    let sh = 64 - 8 * bytes as u32;
    (((x << sh) as i64) >> sh) as u64
}

impl Machine<'_, '_> {
    #[cold]
    #[inline(never)]
    fn fail(&self, pc: usize, kind: VmErrorKind) -> Failed {
        Box::new(VmError {
            kind,
            slot: Some(pc),
            source_line: self.code.prog.source_of(pc).cloned(),
        })
    }

    #[cold]
    #[inline(never)]
    fn invalid(&self, pc: usize, why: &str) -> Failed {
        let insns = self.code.prog.insns();
        let text = insns
            .get(pc..)
            .map_or_else(String::new, bpf_asm::insn_to_string);
        self.fail(
            pc,
            VmErrorKind::InvalidInstruction(format!("`{text}`: {why}")),
        )
    }

    #[cold]
    #[inline(never)]
    fn fault(&self, pc: usize, f: Fault) -> Failed {
        let msg = match f {
            Fault::NotAPointer(0) => "a load or store through a null pointer (0)".to_owned(),
            Fault::NotAPointer(v) => {
                format!("a load or store through {v:#x}, which is a number, not a pointer")
            }
            Fault::OutOfBounds {
                what,
                off,
                size,
                len,
            } => format!("a {size}-byte access at offset {off} of {what}, outside its {len} bytes"),
            Fault::Ctx(why) => format!("context access refused: {why}"),
        };
        self.fail(pc, VmErrorKind::Memory(msg))
    }

    /// The bytes at `addr..addr + len`, checked.
    pub(crate) fn slice(&mut self, addr: u64, len: usize, write: bool) -> Result<&mut [u8], Fault> {
        let (i, off) = mem::split(addr).ok_or(Fault::NotAPointer(addr))?;
        let region = self.regions.get_mut(i).ok_or(Fault::NotAPointer(addr))?;
        let what = region.kind.describe();
        let oob = |rlen: usize| Fault::OutOfBounds {
            what,
            off,
            size: len,
            len: rlen,
        };
        if let Kind::Ctx = region.kind {
            ctx::check_access(off, len, write).map_err(Fault::Ctx)?;
            if !self.ctx_ready {
                region.bytes.copy_from_slice(self.skb.bytes());
                self.ctx_ready = true;
            }
        }
        let bytes: &mut [u8] = match region.kind {
            Kind::Ctx | Kind::Stack => &mut region.bytes,
            Kind::MapValue { map, slot } => self
                .maps
                .get_mut(map)
                .and_then(|m| m.value_mut(slot))
                .ok_or_else(|| oob(0))?,
            Kind::Record { map, id } => self
                .maps
                .get_mut(map)
                .and_then(|m| m.record_mut(id))
                .ok_or_else(|| oob(0))?,
            Kind::Map(_) => return Err(oob(0)),
        };
        let rlen = bytes.len();
        let start = usize::try_from(off).map_err(|_| oob(rlen))?;
        bytes.get_mut(start..start + len).ok_or_else(|| oob(rlen))
    }

    fn load(&mut self, pc: usize, addr: u64, size: usize) -> Result<u64, Failed> {
        match self.slice(addr, size, false) {
            Ok(b) => Ok(match *b {
                [a] => u64::from(a),
                [a, b] => u64::from(u16::from_le_bytes([a, b])),
                [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
                [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
                _ => 0,
            }),
            Err(f) => Err(self.fault(pc, f)),
        }
    }

    fn store(&mut self, pc: usize, addr: u64, size: usize, v: u64) -> Result<(), Failed> {
        self.mark_dirty(addr);
        match self.slice(addr, size, true) {
            Ok(b) => {
                match b.len() {
                    1 => b[0] = v as u8,
                    2 => b.copy_from_slice(&(v as u16).to_le_bytes()),
                    4 => b.copy_from_slice(&(v as u32).to_le_bytes()),
                    _ => b.copy_from_slice(&v.to_le_bytes()),
                }
                Ok(())
            }
            Err(f) => Err(self.fault(pc, f)),
        }
    }

    /// Notes how far down a stack frame a store reaches.
    pub(crate) fn mark_dirty(&mut self, addr: u64) {
        if let Some((i, off)) = mem::split(addr)
            && (STACK0..STACK0 + MAX_FRAMES).contains(&i)
            && let Ok(off) = usize::try_from(off)
        {
            let low = &mut self.vm.dirty[i - STACK0];
            *low = (*low).min(off);
            self.vm.stack_written = true;
        }
    }

    /// A region for map `map`'s value at `slot`, reused if it exists.
    pub(crate) fn value_region(&mut self, map: usize, slot: usize) -> u64 {
        let kind = Kind::MapValue { map, slot };
        let i = match self.regions.iter().position(|r| r.kind == kind) {
            Some(i) => i,
            None => {
                self.regions.push(Region {
                    kind,
                    bytes: Vec::new(),
                });
                self.regions.len() - 1
            }
        };
        mem::base(i)
    }

    /// A region standing for map `map` itself (what `map_fd(NAME)` loads).
    fn map_region(&mut self, map: usize) -> u64 {
        let kind = Kind::Map(map);
        let i = match self.regions.iter().position(|r| r.kind == kind) {
            Some(i) => i,
            None => {
                self.regions.push(Region {
                    kind,
                    bytes: Vec::new(),
                });
                self.regions.len() - 1
            }
        };
        mem::base(i)
    }

    /// The map a register points at.
    pub(crate) fn map_of(&self, ptr: u64) -> Option<usize> {
        let (i, off) = mem::split(ptr)?;
        match self.regions.get(i)?.kind {
            Kind::Map(m) if off == 0 => Some(m),
            _ => None,
        }
    }

    /// The map a relocated `lddw` names.
    fn reloc_map(&self, pc: usize) -> Result<usize, VmErrorKind> {
        let Some(r) = self.code.prog.relocs().iter().find(|r| r.slot == pc) else {
            return Err(VmErrorKind::Helper(
                "`lddw` of a numeric map fd: the interpreter knows maps by name \
                 (`map_fd(NAME)`)"
                    .to_owned(),
            ));
        };
        self.vm
            .names
            .get(r.name.as_ref())
            .copied()
            .ok_or_else(|| VmErrorKind::UnboundMap(r.name.to_string()))
    }

    fn run(&mut self) -> Result<u64, Failed> {
        let mut pc = 0usize;
        // The budget is charged on backward jumps and calls, by the slots
        // they may run again: straight-line code cannot run away.
        let mut budget = self.vm.budget;
        let data = self.skb.data();
        let frame = self.skb.frame();
        let net = self.skb.network_offset();
        let code = Rc::clone(&self.code);
        let mut steps: &[super::Step] = &code.steps;
        // Holds a tail call's code alive while `steps` borrows it.
        let mut tail_code: Rc<Code>;
        loop {
            let Some(s) = steps.get(pc) else {
                return Err(self.fail(pc.saturating_sub(1), VmErrorKind::OutOfProgram));
            };
            let (d, sr) = (usize::from(s.dst & 15), usize::from(s.src & 15));
            let at = pc;
            // The next slot, whatever the step: a constant increment keeps
            // the loads of the next step independent of this one's (`lddw`,
            // the one two-slot instruction, skips its second half itself).
            pc += 1;
            // Where the taken jump `$j` at slot `$at` goes, charging the
            // budget when it goes back.
            macro_rules! jump_of {
                ($j:expr, $at:expr) => {{
                    let (t, at) = ($j.target as usize, $at);
                    if t <= at {
                        let cost = (at - t + 1) as u64;
                        if budget < cost {
                            return Err(self.fail(at, VmErrorKind::Budget(self.vm.budget)));
                        }
                        budget -= cost;
                    }
                    pc = t;
                }};
            }
            macro_rules! jump {
                () => {
                    jump_of!(s, at)
                };
            }
            // A legacy load at `base` + the immediate into r0. r1-r5 are
            // clobbered: the verifier lets nothing read them, so they keep
            // whatever they held. Out of the packet, the program ends
            // returning 0.
            macro_rules! legacy_load {
                ($base:expr) => {
                    match packet_load(data, frame, net, ($base).wrapping_add(s.imm as i32), s.size)
                    {
                        Some(v) => self.regs[0] = v,
                        None => return Ok(0),
                    }
                };
            }
            // The `jeq`/`jne r0, imm` step after a fused load (see
            // `Code::fuse`), run in the load's dispatch.
            macro_rules! then_compare_r0 {
                () => {
                    if let Some(j) = steps.get(pc) {
                        debug_assert!(matches!(j.x, Exec::JeqImm64 | Exec::JneImm64));
                        let jat = pc;
                        pc += 1;
                        if (self.regs[0] == j.imm) == (j.x == Exec::JeqImm64) {
                            jump_of!(j, jat);
                        }
                    }
                };
            }
            // `exit`: the end of the program, or back to the caller's frame.
            macro_rules! exit {
                () => {
                    match self.frames.pop() {
                        None => return Ok(self.regs[0]),
                        Some(fr) => {
                            self.regs[6..10].copy_from_slice(&fr.saved);
                            self.may_goto = fr.may_goto;
                            let depth = self.frames.len();
                            self.regs[10] = mem::base(STACK0 + depth) + STACK as u64;
                            pc = fr.ret;
                        }
                    }
                };
            }
            match s.x {
                Exec::AddImm64 => self.regs[d] = alu64(Arith::Add, self.regs[d], s.imm),
                Exec::AddReg64 => self.regs[d] = alu64(Arith::Add, self.regs[d], self.regs[sr]),
                Exec::AddImm32 => self.regs[d] = alu32(Arith::Add, self.regs[d], s.imm),
                Exec::AddReg32 => self.regs[d] = alu32(Arith::Add, self.regs[d], self.regs[sr]),
                Exec::SubImm64 => self.regs[d] = alu64(Arith::Sub, self.regs[d], s.imm),
                Exec::SubReg64 => self.regs[d] = alu64(Arith::Sub, self.regs[d], self.regs[sr]),
                Exec::SubImm32 => self.regs[d] = alu32(Arith::Sub, self.regs[d], s.imm),
                Exec::SubReg32 => self.regs[d] = alu32(Arith::Sub, self.regs[d], self.regs[sr]),
                Exec::MulImm64 => self.regs[d] = alu64(Arith::Mul, self.regs[d], s.imm),
                Exec::MulReg64 => self.regs[d] = alu64(Arith::Mul, self.regs[d], self.regs[sr]),
                Exec::MulImm32 => self.regs[d] = alu32(Arith::Mul, self.regs[d], s.imm),
                Exec::MulReg32 => self.regs[d] = alu32(Arith::Mul, self.regs[d], self.regs[sr]),
                Exec::DivImm64 => self.regs[d] = alu64(Arith::Div, self.regs[d], s.imm),
                Exec::DivReg64 => self.regs[d] = alu64(Arith::Div, self.regs[d], self.regs[sr]),
                Exec::DivImm32 => self.regs[d] = alu32(Arith::Div, self.regs[d], s.imm),
                Exec::DivReg32 => self.regs[d] = alu32(Arith::Div, self.regs[d], self.regs[sr]),
                Exec::SDivImm64 => self.regs[d] = alu64(Arith::SDiv, self.regs[d], s.imm),
                Exec::SDivReg64 => self.regs[d] = alu64(Arith::SDiv, self.regs[d], self.regs[sr]),
                Exec::SDivImm32 => self.regs[d] = alu32(Arith::SDiv, self.regs[d], s.imm),
                Exec::SDivReg32 => self.regs[d] = alu32(Arith::SDiv, self.regs[d], self.regs[sr]),
                Exec::OrImm64 => self.regs[d] = alu64(Arith::Or, self.regs[d], s.imm),
                Exec::OrReg64 => self.regs[d] = alu64(Arith::Or, self.regs[d], self.regs[sr]),
                Exec::OrImm32 => self.regs[d] = alu32(Arith::Or, self.regs[d], s.imm),
                Exec::OrReg32 => self.regs[d] = alu32(Arith::Or, self.regs[d], self.regs[sr]),
                Exec::AndImm64 => self.regs[d] = alu64(Arith::And, self.regs[d], s.imm),
                Exec::AndReg64 => self.regs[d] = alu64(Arith::And, self.regs[d], self.regs[sr]),
                Exec::AndImm32 => self.regs[d] = alu32(Arith::And, self.regs[d], s.imm),
                Exec::AndReg32 => self.regs[d] = alu32(Arith::And, self.regs[d], self.regs[sr]),
                Exec::LshImm64 => self.regs[d] = alu64(Arith::Lsh, self.regs[d], s.imm),
                Exec::LshReg64 => self.regs[d] = alu64(Arith::Lsh, self.regs[d], self.regs[sr]),
                Exec::LshImm32 => self.regs[d] = alu32(Arith::Lsh, self.regs[d], s.imm),
                Exec::LshReg32 => self.regs[d] = alu32(Arith::Lsh, self.regs[d], self.regs[sr]),
                Exec::RshImm64 => self.regs[d] = alu64(Arith::Rsh, self.regs[d], s.imm),
                Exec::RshReg64 => self.regs[d] = alu64(Arith::Rsh, self.regs[d], self.regs[sr]),
                Exec::RshImm32 => self.regs[d] = alu32(Arith::Rsh, self.regs[d], s.imm),
                Exec::RshReg32 => self.regs[d] = alu32(Arith::Rsh, self.regs[d], self.regs[sr]),
                Exec::ModImm64 => self.regs[d] = alu64(Arith::Mod, self.regs[d], s.imm),
                Exec::ModReg64 => self.regs[d] = alu64(Arith::Mod, self.regs[d], self.regs[sr]),
                Exec::ModImm32 => self.regs[d] = alu32(Arith::Mod, self.regs[d], s.imm),
                Exec::ModReg32 => self.regs[d] = alu32(Arith::Mod, self.regs[d], self.regs[sr]),
                Exec::SModImm64 => self.regs[d] = alu64(Arith::SMod, self.regs[d], s.imm),
                Exec::SModReg64 => self.regs[d] = alu64(Arith::SMod, self.regs[d], self.regs[sr]),
                Exec::SModImm32 => self.regs[d] = alu32(Arith::SMod, self.regs[d], s.imm),
                Exec::SModReg32 => self.regs[d] = alu32(Arith::SMod, self.regs[d], self.regs[sr]),
                Exec::XorImm64 => self.regs[d] = alu64(Arith::Xor, self.regs[d], s.imm),
                Exec::XorReg64 => self.regs[d] = alu64(Arith::Xor, self.regs[d], self.regs[sr]),
                Exec::XorImm32 => self.regs[d] = alu32(Arith::Xor, self.regs[d], s.imm),
                Exec::XorReg32 => self.regs[d] = alu32(Arith::Xor, self.regs[d], self.regs[sr]),
                Exec::MovImm64 => self.regs[d] = alu64(Arith::Mov, self.regs[d], s.imm),
                Exec::MovReg64 => self.regs[d] = alu64(Arith::Mov, self.regs[d], self.regs[sr]),
                Exec::MovImm32 => self.regs[d] = alu32(Arith::Mov, self.regs[d], s.imm),
                Exec::MovReg32 => self.regs[d] = alu32(Arith::Mov, self.regs[d], self.regs[sr]),
                Exec::ArshImm64 => self.regs[d] = alu64(Arith::Arsh, self.regs[d], s.imm),
                Exec::ArshReg64 => self.regs[d] = alu64(Arith::Arsh, self.regs[d], self.regs[sr]),
                Exec::ArshImm32 => self.regs[d] = alu32(Arith::Arsh, self.regs[d], s.imm),
                Exec::ArshReg32 => self.regs[d] = alu32(Arith::Arsh, self.regs[d], self.regs[sr]),
                Exec::JeqImm64 => {
                    if cond64(JmpOp::Jeq, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JeqReg64 => {
                    if cond64(JmpOp::Jeq, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JeqImm32 => {
                    if cond32(JmpOp::Jeq, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JeqReg32 => {
                    if cond32(JmpOp::Jeq, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JgtImm64 => {
                    if cond64(JmpOp::Jgt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JgtReg64 => {
                    if cond64(JmpOp::Jgt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JgtImm32 => {
                    if cond32(JmpOp::Jgt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JgtReg32 => {
                    if cond32(JmpOp::Jgt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JgeImm64 => {
                    if cond64(JmpOp::Jge, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JgeReg64 => {
                    if cond64(JmpOp::Jge, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JgeImm32 => {
                    if cond32(JmpOp::Jge, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JgeReg32 => {
                    if cond32(JmpOp::Jge, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsetImm64 => {
                    if cond64(JmpOp::Jset, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsetReg64 => {
                    if cond64(JmpOp::Jset, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsetImm32 => {
                    if cond32(JmpOp::Jset, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsetReg32 => {
                    if cond32(JmpOp::Jset, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JneImm64 => {
                    if cond64(JmpOp::Jne, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JneReg64 => {
                    if cond64(JmpOp::Jne, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JneImm32 => {
                    if cond32(JmpOp::Jne, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JneReg32 => {
                    if cond32(JmpOp::Jne, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsgtImm64 => {
                    if cond64(JmpOp::Jsgt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsgtReg64 => {
                    if cond64(JmpOp::Jsgt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsgtImm32 => {
                    if cond32(JmpOp::Jsgt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsgtReg32 => {
                    if cond32(JmpOp::Jsgt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsgeImm64 => {
                    if cond64(JmpOp::Jsge, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsgeReg64 => {
                    if cond64(JmpOp::Jsge, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsgeImm32 => {
                    if cond32(JmpOp::Jsge, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsgeReg32 => {
                    if cond32(JmpOp::Jsge, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JltImm64 => {
                    if cond64(JmpOp::Jlt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JltReg64 => {
                    if cond64(JmpOp::Jlt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JltImm32 => {
                    if cond32(JmpOp::Jlt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JltReg32 => {
                    if cond32(JmpOp::Jlt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JleImm64 => {
                    if cond64(JmpOp::Jle, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JleReg64 => {
                    if cond64(JmpOp::Jle, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JleImm32 => {
                    if cond32(JmpOp::Jle, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JleReg32 => {
                    if cond32(JmpOp::Jle, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsltImm64 => {
                    if cond64(JmpOp::Jslt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsltReg64 => {
                    if cond64(JmpOp::Jslt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsltImm32 => {
                    if cond32(JmpOp::Jslt, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsltReg32 => {
                    if cond32(JmpOp::Jslt, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsleImm64 => {
                    if cond64(JmpOp::Jsle, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsleReg64 => {
                    if cond64(JmpOp::Jsle, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::JsleImm32 => {
                    if cond32(JmpOp::Jsle, self.regs[d], s.imm) {
                        jump!();
                    }
                }
                Exec::JsleReg32 => {
                    if cond32(JmpOp::Jsle, self.regs[d], self.regs[sr]) {
                        jump!();
                    }
                }
                Exec::LdAbs => legacy_load!(0i32),
                Exec::LdInd => legacy_load!(self.regs[sr] as i32),
                Exec::LdAbsCompare => {
                    legacy_load!(0i32);
                    then_compare_r0!();
                }
                Exec::LdAbsHeaderLen => {
                    // The `and` and `lsh` after the load, 64- or 32-bit
                    // alike on a byte.
                    legacy_load!(0i32);
                    self.regs[0] = (self.regs[0] & 0xf) << 2;
                    pc += 2;
                }
                Exec::LdIndCompare => {
                    legacy_load!(self.regs[sr] as i32);
                    then_compare_r0!();
                }
                Exec::Load { signed } => {
                    let addr = self.regs[sr].wrapping_add(i64::from(s.off) as u64);
                    let size = usize::from(s.size);
                    let v = self.load(at, addr, size)?;
                    self.regs[d] = if signed { sign_extend(v, size) } else { v };
                }
                Exec::Store { reg } => {
                    let addr = self.regs[d].wrapping_add(i64::from(s.off) as u64);
                    let v = if reg { self.regs[sr] } else { s.imm };
                    self.store(at, addr, usize::from(s.size), v)?;
                }
                Exec::Ja => jump!(),
                Exec::Exit => exit!(),
                Exec::MovExit => {
                    // The `exit` sets where control goes next.
                    self.regs[0] = s.imm;
                    exit!();
                }
                Exec::Neg { wide } => {
                    self.regs[d] = if wide {
                        self.regs[d].wrapping_neg()
                    } else {
                        u64::from((self.regs[d] as u32).wrapping_neg())
                    };
                }
                Exec::Endian { order, width } => {
                    self.regs[d] = byte_order(order, i32::from(width), self.regs[d]);
                }
                Exec::MovSx { wide, bytes } => {
                    let v = sign_extend(self.regs[sr], usize::from(bytes));
                    self.regs[d] = if wide { v } else { u64::from(v as u32) };
                }
                Exec::Lddw => {
                    self.regs[d] = s.imm;
                    pc += 1;
                }
                Exec::LddwMap { value } => {
                    pc += 1;
                    let map = self.reloc_map(at).map_err(|k| self.fail(at, k))?;
                    self.regs[d] = if value {
                        self.value_region(map, 0) + (s.imm >> 32)
                    } else {
                        self.map_region(map)
                    };
                }
                Exec::Atomic { op, fetch, wide } => {
                    let addr = self.regs[d].wrapping_add(i64::from(s.off) as u64);
                    let size = usize::from(s.size);
                    let old = self.load(at, addr, size)?;
                    let src = self.regs[sr];
                    let new = match op {
                        AtomicOp::Add => old.wrapping_add(src),
                        AtomicOp::Or => old | src,
                        AtomicOp::And => old & src,
                        AtomicOp::Xor => old ^ src,
                        AtomicOp::Xchg => src,
                        AtomicOp::Cmpxchg => {
                            let r0 = self.regs[0];
                            let equal = if wide {
                                old == r0
                            } else {
                                old as u32 == r0 as u32
                            };
                            if equal { src } else { old }
                        }
                    };
                    self.store(at, addr, size, new)?;
                    match (op, fetch) {
                        (AtomicOp::Cmpxchg, _) => self.regs[0] = old,
                        (_, true) => self.regs[sr] = old,
                        _ => {}
                    }
                }
                Exec::MayGoto => {
                    if self.may_goto == 0 {
                        jump!();
                    } else {
                        self.may_goto -= 1;
                    }
                }
                Exec::Call => {
                    let args = [
                        self.regs[1],
                        self.regs[2],
                        self.regs[3],
                        self.regs[4],
                        self.regs[5],
                    ];
                    let r0 = helpers::call(self, at, s.imm as u32, args)?;
                    if let Some(next) = self.tail.take() {
                        if !self.frames.is_empty() {
                            return Err(self.fail(
                                at,
                                VmErrorKind::Helper(
                                    "a tail call from a bpf-to-bpf function is not supported \
                                     by the interpreter"
                                        .to_owned(),
                                ),
                            ));
                        }
                        self.code = Rc::clone(&next);
                        tail_code = next;
                        steps = &tail_code.steps;
                        self.regs[1] = mem::base(CTX);
                        pc = 0;
                    } else {
                        self.regs[0] = r0;
                    }
                }
                Exec::CallLocal => {
                    if self.frames.len() + 1 >= MAX_FRAMES {
                        return Err(self.fail(at, VmErrorKind::CallDepth));
                    }
                    self.frames.push(Frame {
                        ret: pc,
                        saved: [self.regs[6], self.regs[7], self.regs[8], self.regs[9]],
                        may_goto: self.may_goto,
                    });
                    self.may_goto = MAY_GOTO_BUDGET;
                    let depth = self.frames.len();
                    self.regs[10] = mem::base(STACK0 + depth) + STACK as u64;
                    jump!();
                }
                Exec::Invalid(why) => return Err(self.invalid(at, why.text())),
            }
        }
    }
}

/// The legacy packet load of `size` bytes at `off` (`bpf_skb_load_helper`):
/// big-endian, negative offsets relative to the network (`SKF_NET_OFF`)
/// or link-layer (`SKF_LL_OFF`) header; `None` if out of the packet.
#[inline(always)]
fn packet_load(data: &[u8], frame: &[u8], net: usize, off: i32, size: u8) -> Option<u64> {
    let bytes = match usize::try_from(off) {
        Ok(at) => data.get(at..)?,
        Err(_) => header_relative(data, frame, net, off)?,
    };
    Some(match size {
        1 => u64::from(*bytes.first()?),
        2 => u64::from(u16::from_be_bytes(*bytes.first_chunk()?)),
        4 => u64::from(u32::from_be_bytes(*bytes.first_chunk()?)),
        _ => return None,
    })
}

/// The bytes from a negative legacy-load offset on: `SKF_NET_OFF` counts
/// from the network header, `SKF_LL_OFF` from the link-layer one. Kept out
/// of line: filters rarely use them.
#[cold]
#[inline(never)]
fn header_relative<'a>(data: &'a [u8], frame: &'a [u8], net: usize, off: i32) -> Option<&'a [u8]> {
    const SKF_NET_OFF: i32 = -0x10_0000;
    const SKF_LL_OFF: i32 = -0x20_0000;
    if off >= SKF_NET_OFF {
        data.get(net + (off - SKF_NET_OFF) as usize..)
    } else if off >= SKF_LL_OFF {
        frame.get((off - SKF_LL_OFF) as usize..)
    } else {
        None
    }
}

/// The decoded program at `index` of program array `map`, for a tail call.
pub(crate) fn tail_target(m: &mut Machine<'_, '_>, map: usize, index: u64) -> Option<Rc<Code>> {
    if let Some(c) = m.vm.tails.get(&(map, index)) {
        return Some(Rc::clone(c));
    }
    let prog = m.maps.get(map)?.program(index)?.clone();
    let code = Rc::new(Code::new(&prog));
    m.vm.tails.insert((map, index), Rc::clone(&code));
    Some(code)
}

impl Machine<'_, '_> {
    /// Counts a tail call; false once the kernel's limit is reached.
    pub(crate) fn count_tail_call(&mut self) -> bool {
        if self.tail_calls >= MAX_TAIL_CALLS {
            return false;
        }
        self.tail_calls += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_arithmetic() {
        assert_eq!(alu64(Arith::Div, 7, 0), 0);
        assert_eq!(alu64(Arith::Mod, 7, 0), 7);
        assert_eq!(alu32(Arith::Mod, u64::MAX, 0), 0xffff_ffff);
        assert_eq!(
            alu64(Arith::SDiv, i64::MIN as u64, u64::MAX),
            i64::MIN as u64
        );
        assert_eq!(alu64(Arith::SMod, i64::MIN as u64, u64::MAX), 0);
        assert_eq!(alu64(Arith::SMod, (-7i64) as u64, 2), (-1i64) as u64);
        assert_eq!(alu32(Arith::SDiv, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
        assert_eq!(alu64(Arith::Lsh, 1, 65), 2);
        assert_eq!(alu32(Arith::Lsh, 1, 33), 2);
        assert_eq!(alu32(Arith::Arsh, 0x8000_0000, 4), 0xf800_0000);
        assert_eq!(alu32(Arith::Add, 0xffff_ffff, 1), 0);
        assert_eq!(byte_order(ByteOrder::Be, 16, 0x1234), 0x3412);
        assert_eq!(byte_order(ByteOrder::Le, 16, 0xab_1234), 0x1234);
        assert_eq!(sign_extend(0x80, 1), 0xffff_ffff_ffff_ff80);
        assert!(cond32(JmpOp::Jslt, 0xffff_ffff, 0));
        assert!(!cond64(JmpOp::Jslt, 0xffff_ffff, 0));
    }
}
