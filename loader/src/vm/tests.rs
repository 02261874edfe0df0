//! The interpreter on programs from the runtime assembler: semantics,
//! helpers, maps, and the errors that replace the verifier.

use super::*;
use crate::MapType;

fn mem_map(name: &'static str, t: MapType, key: u32, value: u32, n: u32) -> crate::Map {
    crate::Map::in_memory(&crate::MapSpec::new(name, t, key, value, n, 0)).unwrap()
}

fn prog(src: &str) -> Program {
    match bpf_asm::assemble(src) {
        Ok(p) => p,
        Err(e) => panic!("{e}\n{src}"),
    }
}

fn run(src: &str) -> u64 {
    let mut vm = Vm::new(&prog(src)).unwrap();
    match vm.run(&SkBuff::live(&[0u8; 64])) {
        Ok(r) => r,
        Err(e) => panic!("{e}\n{src}"),
    }
}

/// Runs `src`, assembled without the flow checks (which reject some of
/// these programs before the interpreter could), to the error it stops at.
fn fails(src: &str) -> VmError {
    let p = bpf_asm::Assembler::new()
        .flow_checks(false)
        .assemble(src)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    let mut vm = Vm::new(&p).unwrap();
    match vm.run(&SkBuff::live(&[0u8; 64])) {
        Ok(r) => panic!("ran to r0 = {r}\n{src}"),
        Err(e) => e,
    }
}

#[test]
fn alu_semantics_of_the_kernel() {
    assert_eq!(run("mov r0, 7\nmov r1, 0\ndiv r0, r1\nexit"), 0);
    assert_eq!(run("mov r0, 7\nmov r1, 0\nmod r0, r1\nexit"), 7);
    assert_eq!(
        run("lddw r0, 0x1_0000_0007\nmov r1, 0\nmod32 r0, r1\nexit"),
        7
    );
    assert_eq!(
        run("mov r0, -1\nmov32 r0, r0\nexit"),
        0xffff_ffff,
        "32-bit results are zero-extended"
    );
    assert_eq!(
        run("mov r0, 1\nmov r1, 65\nlsh r0, r1\nexit"),
        2,
        "shift masked"
    );
    assert_eq!(
        run("lddw r0, 0x8000000000000000\nsdiv r0, -1\nexit"),
        1 << 63,
        "MIN / -1"
    );
    assert_eq!(run("lddw r0, 0x8000000000000000\nsmod r0, -1\nexit"), 0);
    assert_eq!(run("mov r0, -7\nsmod r0, 2\nexit"), (-1i64) as u64);
    assert_eq!(run("mov r1, 0x80\nmovsx8 r0, r1\nexit"), (-128i64) as u64);
    assert_eq!(run("mov r1, 0x80\nmovsx832 r0, r1\nexit"), 0xffff_ff80);
    assert_eq!(run("mov r0, 0x1234\nbe16 r0\nexit"), 0x3412);
    assert_eq!(
        run("lddw r0, 0x1122334455667788\nle32 r0\nexit"),
        0x5566_7788
    );
    assert_eq!(run("mov r0, 0x12\nbswap64 r0\nexit"), 0x1200_0000_0000_0000);
    assert_eq!(
        run("mov r0, 5\nneg32 r0\nexit"),
        u64::from(5u32.wrapping_neg())
    );
}

#[test]
fn stack_loads_stores_and_atomics() {
    assert_eq!(
        run("stdw [r10 - 8], -1\nldxsb r0, [r10 - 8]\nexit"),
        u64::MAX,
        "sign-extending load"
    );
    assert_eq!(
        run("stw [r10 - 8], -1\nldxw r0, [r10 - 8]\nexit"),
        0xffff_ffff
    );
    assert_eq!(
        run(
            "stdw [r10 - 8], 5\nmov r1, 3\nlock fetch add [r10 - 8], r1\nldxdw r0, [r10 - 8]\nadd r0, r1\nexit"
        ),
        8 + 5
    );
    assert_eq!(
        run(
            "stw [r10 - 8], 5\nmov r0, 5\nmov r1, 9\nlock cmpxchg32 [r10 - 8], r1\nldxw r2, [r10 - 8]\nlsh r0, 8\nor r0, r2\nexit"
        ),
        (5 << 8) | 9
    );
    assert_eq!(
        run(
            "stdw [r10 - 8], 5\nmov r1, 7\nlock xchg [r10 - 8], r1\nldxdw r0, [r10 - 8]\nlsh r0, 8\nor r0, r1\nexit"
        ),
        (7 << 8) | 5
    );
}

#[test]
fn jumps_calls_and_may_goto() {
    assert_eq!(
        run("mov r0, -1\njslt32 r0, 0, neg\nmov r0, 1\nexit\nneg: mov r0, 2\nexit"),
        2
    );
    assert_eq!(run("mov r0, 1\nja32 over\nback: exit\nover: ja back"), 1);
    // A bpf-to-bpf call: its own frame, r6-r9 kept.
    assert_eq!(
        run(
            "mov r6, 40\nstdw [r10 - 8], 1\nmov r1, 2\ncall local f\nadd r0, r6\nldxdw r1, [r10 - 8]\nadd r0, r1\nexit\n\
             f: stdw [r10 - 8], 99\nmov r6, 0\nmov r0, r1\nexit"
        ),
        2 + 40 + 1
    );
    // may_goto: taken once the budget is spent.
    let mut vm = Vm::new(&prog(
        "mov r0, 0\nloop: may_goto out\nadd r0, 1\nja loop\nout: exit",
    ))
    .unwrap();
    vm.budget(1 << 30);
    assert_eq!(vm.run(&SkBuff::live(&[0; 14])).unwrap(), MAY_GOTO_BUDGET);
}

#[test]
fn legacy_packet_loads() {
    let mut frame = [0u8; 34];
    frame[12] = 0x08;
    frame[23] = 17;
    let p = prog("mov r6, r1\nldabsb 23\nmov r7, r0\nldabsh 12\nlsh r0, 8\nor r0, r7\nexit");
    let mut vm = Vm::new(&p).unwrap();
    assert_eq!(vm.run(&SkBuff::live(&frame)).unwrap(), (0x0800 << 8) | 17);
    // In a test run the data starts at the IP header.
    let p = prog("mov r6, r1\nldabsb 9\nexit");
    assert_eq!(
        Vm::new(&p).unwrap().run(&SkBuff::test_run(&frame)).unwrap(),
        17
    );
    // Out of the packet: the program ends with 0.
    let p = prog("mov r6, r1\nmov r0, 5\nldabsw 40\nmov r0, 9\nexit");
    assert_eq!(Vm::new(&p).unwrap().run(&SkBuff::live(&frame)).unwrap(), 0);
    // SKF_NET_OFF: relative to the network header, in both modes.
    let p = prog("mov r6, r1\nldabsb -1048567\nexit");
    assert_eq!(Vm::new(&p).unwrap().run(&SkBuff::live(&frame)).unwrap(), 17);
    assert_eq!(
        Vm::new(&p).unwrap().run(&SkBuff::test_run(&frame)).unwrap(),
        17
    );
}

/// The fused pairs (`Code::fuse`) run as the two steps would, also when a
/// jump lands on the second step.
#[test]
fn fused_pairs_keep_the_steps_semantics() {
    let mut frame = [0u8; 34];
    frame[12] = 0x08;
    frame[23] = 17;
    frame[14] = 0x45;
    // Without the flow checks, which refuse the dead code some of these
    // have.
    let unchecked = |src: &str| {
        bpf_asm::Assembler::new()
            .flow_checks(false)
            .assemble(src)
            .unwrap_or_else(|e| panic!("{e}\n{src}"))
    };
    let live = |src: &str| {
        Vm::new(&unchecked(src))
            .unwrap()
            .run(&SkBuff::live(&frame))
            .unwrap()
    };
    // Load and compare, both outcomes, absolute and indirect.
    let udp = "mov r6, r1\nldabsb 23\njne r0, 17, drop\nmov r0, 1\nexit\ndrop: mov r0, 2\nexit";
    let fused: Vec<Exec> = Code::new(&prog(udp)).steps.iter().map(|s| s.x).collect();
    assert_eq!(fused[1], Exec::LdAbsCompare);
    assert_eq!(fused[3], Exec::MovExit);
    assert_eq!(live(udp), 1);
    assert_eq!(live(&udp.replace("17, drop", "6, drop")), 2);
    let ind = "mov r6, r1\nmov r7, 3\nldindb r7, 20\njeq r0, 17, yes\nmov r0, 2\nexit\n\
               yes: mov r0, 1\nexit";
    assert_eq!(live(ind), 1);
    // The header length idiom, 64- and 32-bit, and a jump onto its `lsh`.
    let ihl = "mov r6, r1\nldabsb 14\nand r0, 0xf\nlsh r0, 2\nexit";
    assert_eq!(Code::new(&prog(ihl)).steps[1].x, Exec::LdAbsHeaderLen);
    assert_eq!(live(ihl), 20);
    assert_eq!(
        live(
            &ihl.replace("and r0", "and32 r0")
                .replace("lsh r0", "lsh32 r0")
        ),
        20
    );
    let onto = "mov r6, r1\nmov r0, 3\nja l\nldabsb 14\nand r0, 0xf\nl: lsh r0, 2\nexit";
    assert_eq!(live(onto), 12);
    // Out of the packet the program ends with 0 before the compare.
    assert_eq!(
        live("mov r6, r1\nldabsw 40\njne r0, 0, x\nx: mov r0, 9\nexit"),
        0
    );
    // A jump onto the compare of a fused pair runs the compare alone.
    let onto = "mov r6, r1\nmov r0, 17\nja cmp\nldabsh 12\ncmp: jeq r0, 17, yes\n\
                mov r0, 2\nexit\nyes: mov r0, 1\nexit";
    assert_eq!(live(onto), 1);
    // `mov r0, imm; exit`, 64- and 32-bit, and a jump onto the `exit`.
    assert_eq!(live("mov r0, -1\nexit"), u64::MAX);
    assert_eq!(live("mov32 r0, -1\nexit"), 0xffff_ffff);
    assert_eq!(live("mov r0, 5\nja out\nmov r0, 7\nout: exit"), 5);
    // Returning from a function through the fused pair.
    assert_eq!(
        live("call local f\nadd r0, 1\nexit\nf: mov r0, 41\nexit"),
        42
    );
    // A backward compare still charges the budget.
    let mut vm = Vm::new(&unchecked("mov r6, r1\nl: ldabsb 23\njeq r0, 17, l\nexit")).unwrap();
    vm.budget(1000);
    let e = vm.run(&SkBuff::live(&frame)).unwrap_err();
    assert_eq!(e.kind, VmErrorKind::Budget(1000));
    assert_eq!(e.slot, Some(2));
}

#[test]
fn context_fields_and_rules() {
    let frame = [0u8; 60];
    let p = prog("ldxw r0, [r1 + 8]\nexit");
    let mut vm = Vm::new(&p).unwrap();
    assert_eq!(vm.run(&SkBuff::live(&frame).mark(77)).unwrap(), 77);
    let p = prog("ldxw r0, [r1 + 0]\nexit");
    assert_eq!(
        Vm::new(&p).unwrap().run(&SkBuff::test_run(&frame)).unwrap(),
        46
    );
    let p = prog("stw [r1 + 48], 3\nldxw r0, [r1 + 48]\nexit");
    assert_eq!(Vm::new(&p).unwrap().run(&SkBuff::live(&frame)).unwrap(), 3);
    let e = fails("ldxw r0, [r1 + 80]\nexit");
    assert!(e.to_string().contains("may not read `data_end`"), "{e}");
    let e = fails("stw [r1 + 8], 1\nmov r0, 0\nexit");
    assert!(e.to_string().contains("only `cb[0..5]`"), "{e}");
}

#[test]
fn memory_errors_name_the_line() {
    let e = fails("mov r2, r10\nadd r2, -520\nstdw [r2 + 0], 1\nmov r0, 0\nexit");
    assert_eq!(e.slot, Some(2));
    assert_eq!(e.source_line.as_ref().map(|s| s.line), Some(3));
    assert!(
        e.to_string().starts_with(
            "at line 3: `stdw [r2 + 0], 1`: a 8-byte access at offset -8 of the stack"
        ),
        "{e}"
    );
    let e = fails("mov r2, 42\nldxw r0, [r2 + 0]\nexit");
    assert!(e.to_string().contains("a number, not a pointer"), "{e}");
    // A loop the kernel would refuse, run to test the budget.
    let mut vm = Vm::new(&prog("#![allow(endless_loop)]\nmov r0, 0\nl: ja l")).unwrap();
    vm.budget(1000);
    let e = vm.run(&SkBuff::live(&[0; 14])).unwrap_err();
    assert_eq!(e.kind, VmErrorKind::Budget(1000));
    let e = fails("call clone_redirect\nexit");
    assert_eq!(
        e.kind,
        VmErrorKind::UnknownHelper("clone_redirect".to_owned())
    );
}

#[test]
fn map_helpers_on_memory_maps() {
    let p = prog(
        "mov r6, r1
         ldabsb 23
         stxw [r10 - 4], r0
         lddw r1, map_fd(counts)
         mov r2, r10
         add r2, -4
         call map_lookup_elem
         jeq r0, 0, out
         ldxw r1, [r6 + 0]
         lock add [r0 + 0], r1
         out: mov r0, 0
         exit",
    );
    // The same typed handle as for a kernel map.
    let counts =
        crate::Array::<u64>::try_from(mem_map("counts", MapType::Array, 4, 8, 256)).unwrap();
    counts.set(6, &1000).unwrap();
    let mut vm = Vm::new(&p).unwrap().map("counts", counts.map()).unwrap();
    let mut frame = [0u8; 60];
    frame[23] = 17;
    for _ in 0..3 {
        vm.run(&SkBuff::live(&frame)).unwrap();
    }
    assert_eq!(counts.get(17).unwrap(), Some(3 * 60));
    assert_eq!(counts.get(6).unwrap(), Some(1000));

    // A hash: update, lookup, delete; errors as negative errnos.
    let p = prog(
        "stw [r10 - 4], 7
         stdw [r10 - 16], 99
         lddw r1, map_fd(h)
         mov r2, r10
         add r2, -4
         mov r3, r10
         add r3, -16
         mov r4, 1
         call map_update_elem
         mov r6, r0
         lddw r1, map_fd(h)
         mov r2, r10
         add r2, -4
         mov r3, r10
         add r3, -16
         mov r4, 1
         call map_update_elem
         mov r0, r6
         lsh r0, 32
         or r0, r0
         exit",
    );
    let h = crate::HashMap::<u32, u64>::try_from(mem_map("h", MapType::Hash, 4, 8, 16)).unwrap();
    let mut vm = Vm::new(&p).unwrap().map("h", h.map()).unwrap();
    let r = vm.run(&SkBuff::live(&[0; 14])).unwrap();
    assert_eq!(r >> 32, 0, "first insert with BPF_NOEXIST succeeds");
    assert_eq!(h.get(&7).unwrap(), Some(99));
    let keys: Vec<u32> = h.keys().collect::<crate::Result<_>>().unwrap();
    assert_eq!(keys, [7]);
    let e = Vm::new(&p)
        .unwrap()
        .run(&SkBuff::live(&[0; 14]))
        .unwrap_err();
    assert_eq!(e.kind, VmErrorKind::UnboundMap("h".to_owned()));
}

#[test]
fn ring_buffer_trace_and_settable_helpers() {
    let p = prog(
        "lddw r1, map_fd(events)
         mov r2, 8
         mov r3, 0
         call ringbuf_reserve
         jeq r0, 0, out
         stdw [r0 + 0], 42
         mov r1, r0
         mov r2, 0
         call ringbuf_submit
         out: stw [r10 - 8], 0x6425
         stw [r10 - 4], 0
         mov r1, r10
         add r1, -8
         mov r2, 8
         mov r3, 9
         call trace_printk
         call get_smp_processor_id
         mov r6, r0
         call ktime_get_ns
         add r0, r6
         exit",
    );
    let events = mem_map("events", MapType::Ringbuf, 0, 0, 4096);
    let mut vm = Vm::new(&p).unwrap().map("events", &events).unwrap();
    vm.set_cpu(3);
    vm.set_ktime_ns(1000);
    assert_eq!(vm.run(&SkBuff::live(&[0; 14])).unwrap(), 1003);
    assert_eq!(vm.trace(), ["%d".replace("%d", "9")]);
    assert_eq!(vm.ring_records("events"), [42u64.to_ne_bytes().to_vec()]);
}

#[test]
fn tail_calls_and_user_helpers() {
    let target = prog("mov r0, 77\nexit");
    let p = prog(
        "mov r6, r1
         lddw r2, map_fd(jumps)
         mov r3, 1
         call tail_call
         mov r0, 5
         exit",
    );
    let jumps = mem_map("jumps", MapType::ProgArray, 4, 4, 4);
    let mut vm = Vm::new(&p).unwrap().map("jumps", &jumps).unwrap();
    vm.tail_program("jumps", 1, target).unwrap();
    assert_eq!(vm.run(&SkBuff::live(&[0; 14])).unwrap(), 77);
    // An empty slot: the call falls through.
    let p = prog("lddw r2, map_fd(jumps)\nmov r3, 2\ncall tail_call\nmov r0, 5\nexit");
    let mut vm = Vm::new(&p).unwrap().map("jumps", &jumps).unwrap();
    assert_eq!(vm.run(&SkBuff::live(&[0; 14])).unwrap(), 5);

    let p = prog("mov r1, 20\ncall get_current_pid_tgid\nexit");
    let mut vm = Vm::new(&p)
        .unwrap()
        .helper("get_current_pid_tgid", |c| Ok(c.args[0] + 1))
        .unwrap();
    assert_eq!(vm.run(&SkBuff::live(&[0; 14])).unwrap(), 21);
}

#[test]
fn prandom_is_deterministic() {
    let p = prog("call get_prandom_u32\nexit");
    let mut a = Vm::new(&p).unwrap();
    let mut b = Vm::new(&p).unwrap();
    a.set_prandom_seed(9);
    b.set_prandom_seed(9);
    let skb = SkBuff::live(&[0; 14]);
    assert_eq!(a.run(&skb).unwrap(), b.run(&skb).unwrap());
}

#[test]
fn declared_and_per_cpu_maps() {
    // A declared map: the interpreter creates it; a handle reads it back.
    let p = prog(
        "#![map(counts: percpu_array, key = u32, value = u64, max_entries = 4)]
         stw [r10 - 4], 2
         lddw r1, map_fd(counts)
         mov r2, r10
         add r2, -4
         call map_lookup_elem
         jeq r0, 0, out
         mov r1, 5
         lock add [r0 + 0], r1
         out: mov r0, 0
         exit",
    );
    let mut vm = Vm::new(&p).unwrap();
    let cpus = crate::possible_cpus().unwrap();
    let cpu = (cpus - 1).min(1);
    vm.set_cpu(cpu as u32);
    vm.run(&SkBuff::live(&[0; 14])).unwrap();
    vm.run(&SkBuff::live(&[0; 14])).unwrap();
    let counts = crate::PerCpuArray::<u64>::try_from(vm.map_handle("counts").unwrap()).unwrap();
    let values = counts.get(2).unwrap().unwrap();
    assert_eq!(values.len(), cpus);
    assert_eq!(values[cpu], 10, "the running CPU's value");
    assert!(values.iter().enumerate().all(|(c, &v)| c == cpu || v == 0));
}

#[test]
fn huge_declared_maps_are_an_error_not_an_abort() {
    let p = prog(
        "#![map(big: array, key = u32, value = u64, max_entries = 4294967295)]\nmov r0, 0\nexit",
    );
    let e = Vm::new(&p).unwrap_err();
    assert!(e.to_string().contains("preallocates"), "{e}");
}

#[test]
fn steps_stay_small() {
    // Half a cache line: the run loop reads one per instruction.
    assert!(std::mem::size_of::<super::Step>() <= 24);
}
