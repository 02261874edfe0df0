//! Random text through the runtime assembler (flow checks off), and what
//! assembles through the interpreter: more structured programs than random
//! slots (labels, map relocations and declarations, helper calls, `call
//! local`, tail calls through the bound program array `progs`).
//!
//! The input: text, then optionally a NUL byte followed by 5 bytes of
//! settings ([`vm_common::Settings`]) and the packet. Without a NUL the
//! packet is a fixed Ethernet/IPv4/UDP frame, run live. Non-UTF-8 text is
//! skipped. Properties: as the `vm` target (no panic, no hang, a program
//! without helper calls or map relocations deterministic across runs).

#![no_main]

#[path = "vm_common.rs"]
mod vm_common;

use bpf_asm::Assembler;
use libfuzzer_sys::fuzz_target;

/// Ethernet (IPv4) + IPv4 (UDP, 127.0.0.1 to 127.0.0.1) + UDP (port 53).
const UDP_FRAME: [u8; 46] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, // Ethernet
    0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, // IPv4
    0x30, 0x39, 0, 53, 0, 12, 0, 0, // UDP
    b'p', b'i', b'n', b'g', // payload
];

fuzz_target!(|data: &[u8]| {
    let (text, tail) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(prog) = Assembler::new().flow_checks(false).assemble(text) else {
        return;
    };
    let (settings, packet) = match tail {
        Some(t) => (
            vm_common::Settings::read(t),
            t.get(vm_common::SETTINGS..).unwrap_or(&[]),
        ),
        None => (vm_common::Settings::read(&[]), &UDP_FRAME[..]),
    };
    vm_common::run(&prog, packet, &settings);
});
