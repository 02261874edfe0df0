//! Socket filters against the running kernel: load programs written with
//! `bpf_prog!`, attach them to an `AF_PACKET` socket on `lo` and to plain UDP
//! sockets, send real datagrams over loopback and check exactly which arrive.
//!
//! Needs root or `CAP_BPF` + `CAP_NET_RAW` (see `common`). Tests run in
//! parallel and other processes may use `lo`, so every datagram carries a
//! unique marker and every test uses ports of its own.

mod common;

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bpf_loader::{
    Error, Insn, LoadedProgram, PacketSocket, PacketType, Program, ProgramLoader, SourceLine,
    Syscall, attach_filter, bpf_prog, detach_filter,
};
use common::{contains, marker, patch_imm, port_of, require_privilege, udp_socket, udp4};

/// The line of `ldxw` in [`BAD_LOAD`].
const BAD_LOAD_LINE: u32 = line!() + 7;
/// Assembles with the pointer check turned off, but the verifier refuses
/// the load through a number.
const BAD_LOAD: Program = bpf_prog! {
    #![allow(pointer_access)]
    call get_prandom_u32;
    mov r3, r0;
    ldxw r0, [r3 + 0];
    exit
};

/// Keeps every packet.
const ACCEPT_ALL: Program = bpf_prog! { mov64 r0, -1; exit };

/// Drops every packet.
const ACCEPT_NONE: Program = bpf_prog! { mov64 r0, 0; exit };

/// Keeps the first 42 bytes (Ethernet + IPv4 + UDP headers) of every packet.
const HEADERS_ONLY: Program = bpf_prog! { mov64 r0, 42; exit };

/// A value no 16-bit load can produce; the tests replace it with a port
/// chosen at run time ([`common::patch_imm`]).
const PORT: i32 = 0x1_0000;

/// Keeps IPv4 UDP datagrams to port [`PORT`], with data starting at the
/// Ethernet header (a live packet socket). The legacy loads need the
/// context in r6; `ldindh r7, 16` reads at 14 + IHL + 2.
const UDP_PORT: Program = bpf_prog! {
    mov64 r6, r1;
    ldabsh 12;                  // ethertype
    jne r0, 0x0800, drop;
    ldabsb 23;                  // IPv4 protocol
    jne r0, 17, drop;
    ldabsh 20;                  // flags and fragment offset
    jset r0, 0x1fff, drop;      // a later fragment has no UDP header
    ldabsb 14;                  // version and IHL
    and64 r0, 0xf;
    lsh64 r0, 2;
    mov64 r7, r0;
    ldindh r7, 16;              // UDP destination port
    jne r0, { PORT }, drop;
    mov64 r0, -1;
    exit;
drop:
    mov64 r0, 0;
    exit
};

/// Keeps datagrams to port [`PORT`] on a UDP socket, where the data starts
/// at the UDP header.
const UDP_SOCKET_PORT: Program = bpf_prog! {
    mov64 r6, r1;
    ldabsh 2;                   // UDP destination port
    jne r0, { PORT }, drop;
    mov64 r0, -1;
    exit;
drop:
    mov64 r0, 0;
    exit
};

fn load(name: &str, program: &Program) -> LoadedProgram {
    ProgramLoader::new(program)
        .name(name)
        .load()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn port_filter(name: &str, program: &Program, port: u16) -> LoadedProgram {
    load(name, &patch_imm(program, PORT, i32::from(port)))
}

/// A packet socket on `lo` that sees each loopback packet once.
fn lo_socket(prog: &LoadedProgram) -> PacketSocket {
    PacketSocket::builder()
        .ignore_outgoing(true)
        .filter(prog)
        .bind("lo")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Sends each marker from `from` to `to` on 127.0.0.1.
fn send_all(from: &UdpSocket, to: &UdpSocket, markers: &[Vec<u8>]) {
    let dest = to.local_addr().expect("local_addr");
    for m in markers {
        from.send_to(m, dest).expect("send_to");
    }
}

/// A packet seen by a packet socket, when it is one of our IPv4 UDP
/// datagrams.
#[derive(Debug)]
struct Seen {
    marker: usize,
    dst_port: u16,
    packet_type: PacketType,
}

/// Receives on `sock` until every marker was seen `copies` times or `limit`
/// passed, then for `linger` more, and returns what matched a marker. Other
/// packets are passed to `other`.
fn collect(
    sock: &PacketSocket,
    markers: &[Vec<u8>],
    copies: usize,
    limit: Duration,
    linger: Duration,
    mut other: impl FnMut(&[u8]),
) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 65_550];
    let start = Instant::now();
    let mut deadline = start + limit;
    let mut lingering = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(meta) = sock
            .recv(&mut buf, Some(left))
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return seen;
        };
        let frame = &buf[..meta.captured];
        assert_eq!(meta.ifindex, sock.ifindex());
        match udp4(frame).and_then(|(_, dst, payload)| {
            let i = markers.iter().position(|m| payload == m.as_slice())?;
            Some((i, dst))
        }) {
            Some((marker, dst_port)) => {
                assert_eq!(meta.protocol, 0x0800);
                assert_eq!(meta.len, frame.len());
                assert!(!meta.is_truncated());
                seen.push(Seen {
                    marker,
                    dst_port,
                    packet_type: meta.packet_type,
                });
            }
            None => other(frame),
        }
        let done =
            (0..markers.len()).all(|i| seen.iter().filter(|s| s.marker == i).count() >= copies);
        if done && !lingering {
            lingering = true;
            deadline = Instant::now() + linger;
        }
    }
}

fn count(seen: &[Seen], marker: usize) -> usize {
    seen.iter().filter(|s| s.marker == marker).count()
}

#[test]
fn accept_all_sees_every_datagram_once_then_twice_with_outgoing() {
    require_privilege!();
    let prog = load("t_accept_all", &ACCEPT_ALL);
    let sock = lo_socket(&prog);
    let (tx, rx) = (udp_socket(), udp_socket());

    let markers: Vec<_> = (0..5).map(|_| marker("accept_all")).collect();
    send_all(&tx, &rx, &markers);
    let seen = collect(
        &sock,
        &markers,
        1,
        Duration::from_secs(3),
        Duration::from_millis(100),
        |_| {},
    );
    for i in 0..markers.len() {
        assert_eq!(count(&seen, i), 1, "marker {i}: {seen:?}");
    }
    assert!(
        seen.iter()
            .all(|s| s.packet_type == PacketType::Host && s.dst_port == port_of(&rx))
    );

    // Without PACKET_IGNORE_OUTGOING each loopback packet shows up twice.
    sock.set_ignore_outgoing(false).unwrap();
    let markers: Vec<_> = (0..3).map(|_| marker("accept_all_both")).collect();
    send_all(&tx, &rx, &markers);
    let seen = collect(
        &sock,
        &markers,
        2,
        Duration::from_secs(3),
        Duration::from_millis(100),
        |_| {},
    );
    for i in 0..markers.len() {
        let types: Vec<_> = seen
            .iter()
            .filter(|s| s.marker == i)
            .map(|s| s.packet_type)
            .collect();
        assert_eq!(types.len(), 2, "marker {i}: {seen:?}");
        assert!(types.contains(&PacketType::Outgoing) && types.contains(&PacketType::Host));
    }
}

#[test]
fn accept_none_sees_nothing() {
    require_privilege!();
    let prog = load("t_accept_none", &ACCEPT_NONE);
    let sock = lo_socket(&prog);
    let (tx, rx) = (udp_socket(), udp_socket());
    let markers: Vec<_> = (0..5).map(|_| marker("accept_none")).collect();
    send_all(&tx, &rx, &markers);

    // The datagrams did cross lo: the UDP socket gets them.
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 256];
    for m in &markers {
        let n = rx
            .recv(&mut buf)
            .expect("the UDP receiver gets every datagram");
        assert_eq!(&buf[..n], m.as_slice());
    }
    // The packet socket gets nothing at all: not ours, not anyone's.
    let start = Instant::now();
    let got = sock
        .recv(&mut buf, Some(Duration::from_millis(300)))
        .unwrap();
    assert_eq!(got, None);
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "timeout honoured"
    );
}

#[test]
fn port_filter_keeps_only_its_port() {
    require_privilege!();
    let (tx, wanted, unwanted) = (udp_socket(), udp_socket(), udp_socket());
    let port = port_of(&wanted);
    let prog = port_filter("t_udp_port", &UDP_PORT, port);
    let sock = lo_socket(&prog);

    let to_wanted: Vec<_> = (0..4).map(|_| marker("port_yes")).collect();
    let to_unwanted: Vec<_> = (0..4).map(|_| marker("port_no")).collect();
    for (yes, no) in to_wanted.iter().zip(&to_unwanted) {
        send_all(&tx, &unwanted, std::slice::from_ref(no));
        send_all(&tx, &wanted, std::slice::from_ref(yes));
    }
    let mut others = 0;
    let seen = collect(
        &sock,
        &to_wanted,
        1,
        Duration::from_secs(3),
        Duration::from_millis(150),
        |frame| {
            // Anything else that passed must still be UDP to our port.
            let (_, dst, payload) = udp4(frame).expect("only IPv4 UDP passes the filter");
            assert_eq!(dst, port, "only our port passes the filter");
            assert!(!to_unwanted.iter().any(|m| contains(payload, m)));
            others += 1;
        },
    );
    for i in 0..to_wanted.len() {
        assert_eq!(count(&seen, i), 1, "wanted marker {i}: {seen:?}");
    }
    assert!(seen.iter().all(|s| s.dst_port == port));
    assert_eq!(others, 0, "nobody else sends to our port");
}

#[test]
fn filter_truncates_to_its_return_value() {
    require_privilege!();
    let prog = load("t_headers", &HEADERS_ONLY);
    let sock = lo_socket(&prog);
    let (tx, rx) = (udp_socket(), udp_socket());
    let payload = marker("headers_only");
    send_all(&tx, &rx, std::slice::from_ref(&payload));
    let mut buf = vec![0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let meta = sock
            .recv(&mut buf, Some(left))
            .unwrap()
            .expect("our datagram, cut to its headers");
        assert_eq!((meta.snap_len, meta.captured), (42, 42));
        let Some((src, dst, _)) = udp4(&buf[..42]) else {
            continue;
        };
        if (src, dst) == (port_of(&tx), port_of(&rx)) {
            assert_eq!(meta.len, 42 + payload.len());
            assert!(meta.is_truncated());
            break;
        }
    }
}

#[test]
fn filters_on_a_udp_socket_and_detach() {
    require_privilege!();
    let (tx, rx) = (udp_socket(), udp_socket());
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 256];
    let mut roundtrip = |m: &[u8]| -> bool {
        send_all(&tx, &rx, &[m.to_vec()]);
        match rx.recv(&mut buf) {
            Ok(n) => {
                assert_eq!(&buf[..n], m);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(e) => panic!("recv: {e}"),
        }
    };

    let none = load("t_udp_none", &ACCEPT_NONE);
    let all = load("t_udp_all", &ACCEPT_ALL);
    let detach_err = detach_filter(&rx).unwrap_err();
    assert_eq!(
        detach_err.raw_os_error(),
        Some(libc::ENOENT),
        "{detach_err}"
    );
    assert!(detach_err.to_string().contains("no filter is attached"));

    attach_filter(&rx, &none).unwrap();
    assert!(!roundtrip(&marker("udp_none")), "accept-none drops");
    attach_filter(&rx, &all).unwrap();
    assert!(roundtrip(&marker("udp_all")), "accept-all keeps");
    attach_filter(&rx, &none).unwrap();
    assert!(!roundtrip(&marker("udp_none2")), "accept-none again");
    detach_filter(&rx).unwrap();
    assert!(
        roundtrip(&marker("udp_detached")),
        "detach restores delivery"
    );

    // On a UDP socket the data starts at the UDP header: port at offset 2.
    let own = port_filter("t_udp_own", &UDP_SOCKET_PORT, port_of(&rx));
    attach_filter(&rx, &own).unwrap();
    assert!(roundtrip(&marker("udp_own_port")), "its own port passes");
    let other = port_filter("t_udp_other", &UDP_SOCKET_PORT, port_of(&rx) ^ 1);
    attach_filter(&rx, &other).unwrap();
    assert!(
        !roundtrip(&marker("udp_other_port")),
        "another port does not"
    );
}

#[test]
fn unknown_interface_is_a_typed_error() {
    require_privilege!();
    let e = PacketSocket::bind("nosuchif0").unwrap_err();
    assert!(
        matches!(&e, Error::UnknownInterface { interface, .. } if interface == "nosuchif0"),
        "{e}"
    );
    assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    assert!(
        e.to_string()
            .contains("no network interface named `nosuchif0`"),
        "{e}"
    );
}

/// A load through a number (a helper's result) with the pointer check
/// turned off: this compiles and the kernel refuses it.
const LOADS_FROM_ZERO: Program = bpf_prog! {
    #![allow(pointer_access)]
    call get_prandom_u32;
    ldxw r2, [r0 + 0];
    exit
};

#[test]
fn verifier_errors_name_the_file_and_line() {
    require_privilege!();
    let e = ProgramLoader::new(&LOADS_FROM_ZERO)
        .name("t_from_zero")
        .load()
        .unwrap_err();
    let line = LOADS_FROM_ZERO.source()[1].line;
    let text = e.to_string();
    let at = format!("at tests/kernel_socket_filter.rs:{line}: `ldxw r2, [r0 + 0]`");
    assert!(text.contains(&at), "{text}");

    // The runtime assembler's text, named.
    let prog = bpf_loader::asm::Assembler::new()
        .flow_checks(false)
        .source_name("filter.s")
        .assemble("mov64 r0, 0\nmov64 r0, r5\nexit")
        .unwrap();
    let e = ProgramLoader::new(&prog)
        .name("t_named")
        .load()
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("at filter.s:2: `mov64 r0, r5`"), "{text}");
    assert!(text.contains("// filter.s:2: mov64 r0, r5"), "{text}");
}

#[test]
fn verifier_rejection_names_the_source_line() {
    require_privilege!();
    // What `bpf_prog!` would emit for these lines, but it refuses to
    // assemble a read of an unset register, so build the program by hand.
    let prog = Program::new(
        vec![
            Insn::new(0xb7, 0, 0, 0, 0), // mov64 r0, 0
            Insn::new(0xbf, 0, 5, 0, 0), // mov64 r0, r5
            Insn::new(0x95, 0, 0, 0, 0), // exit
        ],
        vec![],
        vec![
            SourceLine::new(0, 20, "mov64 r0, 0"),
            SourceLine::new(1, 21, "mov64 r0, r5"),
            SourceLine::new(2, 22, "exit"),
        ],
    );
    let e = ProgramLoader::new(&prog)
        .name("t_uninit")
        .load()
        .unwrap_err();
    let v = e
        .verifier()
        .unwrap_or_else(|| panic!("not a verifier error: {e}"));
    assert_eq!(v.message(), "R5 !read_ok");
    assert_eq!(v.failing_slot(), Some(1));
    let src = v.failing_source_line().expect("mapped to a source line");
    assert_eq!((src.line, &*src.text), (21, "mov64 r0, r5"));
    assert!(v.log().contains("1: (bf) r0 = r5"), "{}", v.log());
    let text = e.to_string();
    assert!(text.contains("program `t_uninit`"), "{text}");
    assert!(text.contains("at line 21: `mov64 r0, r5`"), "{text}");
    assert!(
        text.contains("\n    1: (bf) r0 = r5    // line 21: mov64 r0, r5\n"),
        "{text}"
    );
    assert_eq!(e.failed_call(), Some(Syscall::ProgLoad));
    assert!(!e.is_permission_denied());

    // From `bpf_prog!`: the source line is where the instruction is written.
    let e = ProgramLoader::new(&BAD_LOAD)
        .name("t_bad_load")
        .load()
        .unwrap_err();
    let v = e
        .verifier()
        .unwrap_or_else(|| panic!("not a verifier error: {e}"));
    assert_eq!(v.message(), "R3 invalid mem access 'scalar'");
    let src = v.failing_source_line().expect("mapped to a source line");
    assert_eq!((src.line, &*src.text), (BAD_LOAD_LINE, "ldxw r0, [r3 + 0]"));

    // A program without `exit` (which `bpf_prog!` also refuses).
    let no_exit = Program::from_insns(vec![Insn::new(0xb7, 0, 0, 0, 0)]);
    let e = bpf_loader::load(&no_exit).unwrap_err();
    let v = e
        .verifier()
        .unwrap_or_else(|| panic!("not a verifier error: {e}"));
    assert_eq!(v.message(), "last insn is not an exit or jmp");
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
}

#[test]
fn test_run_size_limit_is_documented() {
    require_privilege!();
    let prog = load("t_run_size", &ACCEPT_ALL);
    // What `LoadedProgram::test_run` documents: a page less the skb head-
    // and tailroom, 3712 bytes with 4 KiB pages on x86_64.
    if cfg!(target_arch = "x86_64") {
        assert_eq!(prog.test_run(&[0; 3712], 1).unwrap().retval, u32::MAX);
        let e = prog.test_run(&[0; 3713], 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        assert!(e.to_string().contains("3712 bytes"), "{e}");
    }
    let e = prog.test_run(&[0; 13], 1).unwrap_err();
    assert!(e.to_string().contains("at least 14"), "{e}");
}

#[test]
fn test_run_sees_the_frame_from_the_ip_header() {
    require_privilege!();
    assert_eq!(
        load("t_run_all", &ACCEPT_ALL)
            .test_run(&[0; 64], 1)
            .unwrap()
            .retval,
        u32::MAX
    );
    assert_eq!(
        load("t_run_none", &ACCEPT_NONE)
            .test_run(&[0; 64], 1)
            .unwrap()
            .retval,
        0
    );
    assert_eq!(
        load("t_run_hdrs", &HEADERS_ONLY)
            .test_run(&[0; 64], 1)
            .unwrap()
            .retval,
        42
    );

    let prog = port_filter("t_run_port", &UDP_PORT, 4242);
    let frame = |port: u16| {
        let mut f = vec![0u8; 14 + 20 + 8 + 4];
        f[12..14].copy_from_slice(&[0x08, 0x00]); // ethertype IPv4
        f[14] = 0x45; // IPv4, IHL 5
        f[14 + 9] = 17; // UDP
        f[34 + 2..34 + 4].copy_from_slice(&port.to_be_bytes());
        f
    };
    // A well-formed frame: the kernel strips the Ethernet header, the
    // filter (written for a live socket) reads the ethertype at 12 of the
    // IP header and drops the packet.
    assert_eq!(prog.test_run(&frame(4242), 1).unwrap().retval, 0);
    // With 14 more bytes in front, the filter sees the layout of a live
    // packet socket.
    let shifted = |port| [vec![0u8; 14], frame(port)].concat();
    assert_eq!(prog.test_run(&shifted(4242), 1).unwrap().retval, u32::MAX);
    assert_eq!(prog.test_run(&shifted(4243), 1).unwrap().retval, 0);
    // Too short for an Ethernet header.
    let e = prog.test_run(&[0; 8], 1).unwrap_err();
    assert_eq!(e.failed_call(), Some(Syscall::ProgTestRun));
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
}
