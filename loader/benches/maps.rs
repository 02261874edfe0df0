//! Map benchmarks, ratios measured in the same run (`cargo bench -p
//! bpf-loader`; needs root, skipped otherwise):
//!
//! 1. one lookup and one update through the typed [`HashMap`] handle
//!    against the raw `bpf(2)` calls on the same map (goal: at most 1.05x);
//! 2. reading 100,000 hash entries with `BPF_MAP_LOOKUP_BATCH` against
//!    key-by-key iteration (`BPF_MAP_GET_NEXT_KEY` + lookup);
//! 3. ring buffer records drained per second by [`RingBuf::drain`] against
//!    a minimal C consumer on libbpf's `ring_buffer__poll`
//!    (`benches/ringbuf_consumer.c`, built here with `cc -lbpf`; Debian
//!    `libbpf-dev`), from the same producer: a program run with
//!    `BPF_PROG_TEST_RUN` that writes one 8-byte record per run (goal: at
//!    least 1.0x).
//!
//! Criterion reports each measurement; the summary at the end gives the
//! ratios from interleaved medians.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpf_loader::{HashMap, Program, ProgramLoader, RingBuf, UpdateFlag, bpf_prog};
use criterion::Criterion;

const ENTRIES: u32 = 100_000;
const RECORDS: u32 = 100_000;
const ROUNDS: usize = 15;

/// One 8-byte record per run.
const PRODUCER: Program = bpf_prog! {
    #![map(events: ringbuf, max_entries = 4194304)]
    stdw [r10 - 8], 7;
    lddw r1, map_fd(events);
    mov r2, r10;
    add r2, -8;
    mov r3, 8;
    mov r4, 0;
    call ringbuf_output;
    mov r0, 0;
    exit
};

/// `bpf(cmd)` on an element, as a minimal raw caller writes it.
fn raw_elem(cmd: u32, fd: i32, key: &u32, value: *mut u64, flags: u64) -> i64 {
    let mut attr = bpf_loader::bpf_sys::bpf_attr::default();
    // SAFETY: all zeroes is a valid value of this union member.
    let elem = unsafe { &mut attr.__bindgen_anon_2 };
    elem.map_fd = fd as u32;
    elem.key = std::ptr::from_ref(key) as u64;
    elem.__bindgen_anon_1.value = value as u64;
    elem.flags = flags;
    // SAFETY: key and value point at live 4- and 8-byte buffers, the map's
    // sizes, for the call.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            i64::from(cmd),
            std::ptr::from_mut(&mut attr),
            size_of::<bpf_loader::bpf_sys::bpf_attr>() as u32,
        )
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

struct Setup {
    small: HashMap<u32, u64>,
    big: HashMap<u32, u64>,
    rb: RingBuf,
    producer: bpf_loader::LoadedProgram,
    consumer: Option<(std::process::Child, BufReader<std::process::ChildStdout>)>,
}

fn setup() -> Option<Setup> {
    let small = match HashMap::<u32, u64>::create("bench_small", 16) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipped: the map benchmarks need root or CAP_BPF ({e})");
            return None;
        }
    };
    small.insert(&1, &1, UpdateFlag::Any).unwrap();
    let big = HashMap::<u32, u64>::create("bench_big", ENTRIES).unwrap();
    let entries: Vec<(u32, u64)> = (0..ENTRIES).map(|i| (i, u64::from(i))).collect();
    big.insert_batch(&entries, UpdateFlag::Any).unwrap();
    let mut producer = ProgramLoader::new(&PRODUCER)
        .name("bench_prod")
        .load()
        .unwrap();
    let rb: RingBuf = producer.take_map("events").unwrap();
    let consumer = c_consumer(rb.map().id().unwrap());
    Some(Setup {
        small,
        big,
        rb,
        producer,
        consumer,
    })
}

/// Builds and starts the libbpf consumer, if `cc` and libbpf are there.
fn c_consumer(map_id: u32) -> Option<(std::process::Child, BufReader<std::process::ChildStdout>)> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/ringbuf_consumer.c");
    let exe = std::env::temp_dir().join(format!("bpf_ringbuf_consumer_{}", std::process::id()));
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(src)
        .arg("-lbpf")
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("the C consumer did not build (is libbpf-dev installed? scripts/setup.sh)");
        return None;
    }
    let mut child = Command::new(&exe)
        .arg(map_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let out = BufReader::new(child.stdout.take()?);
    Some((child, out))
}

/// Fills the ring with `RECORDS` records.
fn produce(s: &Setup) {
    s.producer.test_run(&[0u8; 64], RECORDS).unwrap();
}

fn ours_drain(s: &mut Setup) -> Duration {
    produce(s);
    let t = Instant::now();
    let mut n = 0;
    while n < RECORDS as usize {
        n += s.rb.drain(|r| {
            black_box(r);
        });
    }
    t.elapsed()
}

fn c_drain(s: &mut Setup) -> Option<Duration> {
    produce(s);
    let (child, out) = s.consumer.as_mut()?;
    writeln!(child.stdin.as_mut()?, "{RECORDS}").ok()?;
    let mut line = String::new();
    out.read_line(&mut line).ok()?;
    Some(Duration::from_nanos(line.trim().parse().ok()?))
}

fn typed_ops(s: &Setup) {
    black_box(s.small.get(black_box(&1)).unwrap());
    s.small.insert(black_box(&1), &2, UpdateFlag::Any).unwrap();
}

fn raw_ops(fd: i32) {
    let mut v = 0u64;
    black_box(raw_elem(
        bpf_loader::bpf_sys::BPF_MAP_LOOKUP_ELEM,
        fd,
        &1,
        &mut v,
        0,
    ));
    let mut two = 2u64;
    black_box(raw_elem(
        bpf_loader::bpf_sys::BPF_MAP_UPDATE_ELEM,
        fd,
        &1,
        &mut two,
        0,
    ));
}

fn main() {
    let Some(mut s) = setup() else { return };
    let fd = std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&s.small));
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("lookup+update, typed HashMap", |b| b.iter(|| typed_ops(&s)));
    c.bench_function("lookup+update, raw bpf(2)", |b| b.iter(|| raw_ops(fd)));
    let mut g = c.benchmark_group("100k hash entries");
    g.sample_size(10);
    g.bench_function("batch", |b| {
        b.iter(|| s.big.entries_batch(4096).unwrap().len())
    });
    g.bench_function("key by key", |b| b.iter(|| s.big.iter().count()));
    g.finish();

    // The summary: interleaved medians.
    const OPS: u32 = 20_000;
    let (mut typed, mut raw, mut batch, mut keys, mut ours, mut theirs) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        typed.push(time(|| (0..OPS).for_each(|_| typed_ops(&s))));
        raw.push(time(|| (0..OPS).for_each(|_| raw_ops(fd))));
        batch.push(time(|| {
            assert_eq!(s.big.entries_batch(4096).unwrap().len(), ENTRIES as usize)
        }));
        keys.push(time(|| assert_eq!(s.big.iter().count(), ENTRIES as usize)));
        ours.push(ours_drain(&mut s));
        if let Some(t) = c_drain(&mut s) {
            theirs.push(t);
        }
    }
    let per = |d: Duration| d / OPS;
    let (typed, raw) = (median(typed), median(raw));
    let (batch, keys) = (median(batch), median(keys));
    let ours = median(ours);
    println!();
    println!("summary: medians of {ROUNDS} interleaved rounds");
    println!(
        "  lookup+update: typed {:?}, raw bpf(2) {:?} per pair: typed/raw = {:.3}x (goal <= 1.05x)",
        per(typed),
        per(raw),
        typed.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "  {ENTRIES} hash entries: batch {batch:?}, key by key {keys:?}: batch is {:.1}x faster",
        keys.as_secs_f64() / batch.as_secs_f64()
    );
    let rate = |d: Duration| f64::from(RECORDS) / d.as_secs_f64() / 1e6;
    if theirs.is_empty() {
        println!(
            "  ring buffer: ours {:.1} M records/s; libbpf consumer not measured",
            rate(ours)
        );
    } else {
        let theirs = median(theirs);
        println!(
            "  ring buffer, {RECORDS} records: ours {:.1} M records/s, libbpf ring_buffer__poll \
             {:.1} M records/s: ours/libbpf = {:.2}x (goal >= 1.0x)",
            rate(ours),
            rate(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
    if let Some((mut child, _)) = s.consumer.take() {
        drop(child.stdin.take());
        let _ = child.wait();
    }
}
