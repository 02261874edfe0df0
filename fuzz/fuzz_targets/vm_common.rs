//! What the two interpreter targets share: the maps bound by name, the
//! settings read from the input, and the run with its properties. Also
//! included (`#[path]`) by the root package's `tests/vm_no_panic.rs`, the
//! bounded property test that runs in CI.

#![allow(dead_code, unreachable_pub)]

use bpf_asm::Program;
use bpf_loader::vm::{SkBuff, Vm};
use bpf_loader::{Map, MapSpec, MapType};

/// Instructions a run may execute: small, so that no input hangs.
pub const BUDGET: u64 = 100_000;

/// The settings at the front of an input.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Run with `SkBuff::test_run` (data from the IP header) rather than
    /// `SkBuff::live` (from the Ethernet header).
    pub test_run: bool,
    /// `skb->mark`.
    pub mark: u32,
    /// Put the program itself at index 0 of the program array `progs`
    /// (tail calls into itself, up to the kernel's 33).
    pub self_tail: bool,
    /// Bind the maps below over the ones the program declares too.
    pub rebind: bool,
}

/// Bytes [`Settings::read`] consumes.
pub const SETTINGS: usize = 5;

impl Settings {
    /// The settings in the first 5 bytes (zeros past the end).
    pub fn read(data: &[u8]) -> Settings {
        let b = |i: usize| data.get(i).copied().unwrap_or(0);
        Settings {
            test_run: b(0) & 1 != 0,
            self_tail: b(0) & 2 != 0,
            rebind: b(0) & 4 != 0,
            mark: u32::from_le_bytes([b(1), b(2), b(3), b(4)]),
        }
    }
}

/// The maps bound by name: a program from random slots has no relocations
/// (its map loads fail with an error), an assembled one may name these.
fn maps() -> Vec<(&'static str, Map)> {
    let list: [(&'static str, MapType, u32, u32, u32); 10] = [
        ("array", MapType::Array, 4, 8, 16),
        ("m", MapType::Array, 4, 64, 1),
        ("counters", MapType::Array, 4, 8, 256),
        ("hash", MapType::Hash, 8, 16, 8),
        ("lru", MapType::LruHash, 4, 4, 2),
        ("percpu", MapType::PercpuArray, 4, 8, 4),
        ("percpu_hash", MapType::PercpuHash, 4, 8, 4),
        ("ring", MapType::Ringbuf, 0, 0, 4096),
        ("events", MapType::Ringbuf, 0, 0, 4096),
        ("progs", MapType::ProgArray, 4, 4, 4),
    ];
    list.into_iter()
        .filter_map(|(name, t, k, v, n)| {
            let map = Map::in_memory(&MapSpec::new(name, t, k, v, n, 0)).ok()?;
            Some((name, map))
        })
        .collect()
}

/// Whether a program can change state that a second run would see: a
/// helper call (maps, the random generator, tail calls) or a map pointer
/// loaded by relocation (stores into a map value).
fn stateful(prog: &Program) -> bool {
    !prog.relocs().is_empty() || prog.insns().iter().any(|i| i.code() == 0x85)
}

/// Runs `prog` on `packet` with the settings: it must return (any result),
/// never panic and never run past the budget; a program without helper
/// calls or map relocations must give the same result when run again on
/// the same `Vm` (the reused stack and regions are reset between runs).
pub fn run(prog: &Program, packet: &[u8], s: &Settings) {
    run_with_budget(prog, packet, s, BUDGET);
}

/// [`run`] with another instruction budget.
pub fn run_with_budget(prog: &Program, packet: &[u8], s: &Settings, budget: u64) {
    let Ok(mut vm) = Vm::new(prog) else {
        return;
    };
    let declared: Vec<&str> = prog.maps().iter().map(|m| m.name.as_ref()).collect();
    for (name, map) in maps() {
        if s.rebind || !declared.contains(&name) {
            match vm.map(name, &map) {
                Ok(v) => vm = v,
                Err(_) => return,
            }
        }
    }
    let exit_1 = Program::from_insns(vec![
        bpf_asm::Insn::new(0xb7, 0, 0, 0, 1),
        bpf_asm::Insn::new(0x95, 0, 0, 0, 0),
    ]);
    let _ = vm.tail_program("progs", 1, exit_1);
    if s.self_tail {
        let _ = vm.tail_program("progs", 0, prog.clone());
    }
    vm.budget(budget);
    vm.set_cpu(s.mark & 1);
    let skb = if s.test_run {
        SkBuff::test_run(packet)
    } else {
        SkBuff::live(packet)
    }
    .mark(s.mark);
    let first = vm.run(&skb);
    // Another packet in between, to dirty the stack differently.
    let _ = vm.run(&SkBuff::live(&packet[packet.len() / 2..]));
    let second = vm.run(&skb);
    if !stateful(prog) {
        assert_eq!(first, second, "a second run on the same Vm differs");
    }
}
