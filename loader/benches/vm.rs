//! Nanoseconds per packet of the interpreter (`bpf_loader::vm`) against
//! rbpf's interpreter (`rbpf::EbpfVmRaw`) on the same bytecode, and the
//! kernel's own per-run cost under `BPF_PROG_TEST_RUN` (with privileges).
//!
//! Two socket filters: the UDP port filter (legacy loads, compares) and a
//! 100-instruction filter whose loop walks the packet (about 300
//! instructions executed per packet). rbpf reads legacy loads in host order
//! (the kernel and ours read them big-endian), so results may differ; the
//! instructions executed are the same.
//!
//! `cargo bench -p bpf-loader --bench vm` runs criterion, then prints a
//! summary of interleaved medians with the ratio "ours is N.Nx faster than
//! rbpf". Under `cargo test --benches` each benchmark runs once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bpf_loader::vm::{SkBuff, Vm};
use bpf_loader::{Program, bpf_prog};
use criterion::Criterion;

/// The UDP-port filter of the examples (live-socket offsets).
const UDP_PORT: Program = bpf_prog! {
    mov r6, r1;
    ldabsh 12;
    jne r0, 0x0800, drop;
    ldabsb 23;
    jne r0, 17, drop;
    ldabsb 14;
    and r0, 0xf;
    lsh r0, 2;
    mov r7, r0;
    ldindh r7, 16;
    jne r0, 4242, drop;
    mov r0, -1;
    exit;
drop:
    mov r0, 0;
    exit
};

/// About 100 instructions: a loop over 24 packet bytes (legacy loads) and a
/// hash mix, then a long straight-line tail.
fn loop_filter() -> Program {
    let mut src = String::from(
        "mov r6, r1\nmov r7, 0\nmov r8, 0x1234\nloop: ldindb r7, 14\nxor r8, r0\nmul r8, 31\n\
         rsh r8, 1\nadd r7, 1\njlt r7, 24, loop\n",
    );
    for i in 0..45 {
        src.push_str(&format!("add r8, {i}\nxor r8, 0x5a5a\n"));
    }
    src.push_str("mov r0, r8\nand r0, 1\nexit\n");
    match bpf_loader::asm::assemble(&src) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// A UDP packet to port 4242 on a live socket (Ethernet header first).
fn packet() -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 32];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[14 + 9] = 17;
    f[36..38].copy_from_slice(&4242u16.to_be_bytes());
    f
}

fn rbpf_vm(prog: &Program) -> rbpf::EbpfVmRaw<'static> {
    let bytes: &'static [u8] = Box::leak(prog.as_bytes().to_vec().into_boxed_slice());
    match rbpf::EbpfVmRaw::new(Some(bytes)) {
        Ok(vm) => vm,
        Err(e) => panic!("rbpf: {e}"),
    }
}

fn ours(prog: &Program) -> Vm {
    match Vm::new(prog) {
        Ok(vm) => vm,
        Err(e) => panic!("{e}"),
    }
}

/// Median ns per run of `f` over `rounds` batches of `n` runs.
fn median_ns(rounds: usize, n: u32, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..rounds)
        .map(|_| {
            let s = Instant::now();
            for _ in 0..n {
                f();
            }
            s.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// The kernel's per-run cost (`BPF_PROG_TEST_RUN` with `repeat`), if
/// privileged. The test run sees the data from the IP header, so the frame
/// gets 14 extra bytes in front to keep the live-socket offsets.
fn kernel_ns(prog: &Program, frame: &[u8]) -> Option<f64> {
    let loaded = bpf_loader::load(prog).ok()?;
    let shifted = [vec![0u8; 14], frame.to_vec()].concat();
    let run = loaded.test_run(&shifted, 100_000).ok()?;
    Some(run.duration.as_nanos() as f64)
}

fn main() {
    let frame = packet();
    let lp = loop_filter();
    let progs: [(&str, Program); 2] = [("udp_port", UDP_PORT), ("loop_100", lp)];

    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    for (name, prog) in &progs {
        let mut vm = ours(prog);
        let skb = SkBuff::live(&frame);
        c.bench_function(&format!("vm/{name}/ours"), |b| {
            b.iter(|| black_box(vm.run(black_box(&skb))))
        });
        let r = rbpf_vm(prog);
        let mut mem = frame.clone();
        c.bench_function(&format!("vm/{name}/rbpf"), |b| {
            b.iter(|| black_box(r.execute_program(black_box(&mut mem))))
        });
    }
    c.final_summary();
    if std::env::args().any(|a| a == "--test" || a == "--profile-time") {
        return;
    }

    println!("summary: ns per packet, medians of 15 interleaved rounds");
    for (name, prog) in &progs {
        let mut vm = ours(prog);
        let r = rbpf_vm(prog);
        let skb = SkBuff::live(&frame);
        let mut mem = frame.clone();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            a.push(median_ns(3, 20_000, || {
                let _ = black_box(vm.run(black_box(&skb)));
            }));
            b.push(median_ns(3, 20_000, || {
                let _ = black_box(r.execute_program(black_box(&mut mem)));
            }));
        }
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (ours_ns, rbpf_ns) = (a[7], b[7]);
        let kernel = kernel_ns(prog, &frame)
            .map_or_else(|| "n/a (unprivileged)".to_owned(), |k| format!("{k:.0} ns"));
        println!(
            "  {name:9} ours {ours_ns:7.0} ns  rbpf {rbpf_ns:7.0} ns  kernel test_run {kernel}  \
             ours is {:.1}x faster than rbpf",
            rbpf_ns / ours_ns
        );
    }
}
