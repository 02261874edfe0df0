use bpf_loader::{ProgType, Program, bpf_prog};

const PORT: u16 = 4242;
const ETH_HLEN: i32 = 14;

/// The seed program, in a const and a static.
const ACCEPT_ALL: Program = bpf_prog! { mov64 r0, -1; exit };
static ACCEPT_NONE: Program = bpf_prog! { mov64 r0, 0; exit; };

const UDP_PORT: Program = bpf_prog! {
    #![cpu = v4]
    #![prog_type = socket_filter]
    mov r6, r1;
    ldabsh 12;
    jne r0, 0x0800, drop;
    ldabsb {ETH_HLEN + 9};
    jne r0, 17, drop;
    ldabsb {ETH_HLEN};
    and r0, 0xf;
    lsh r0, 2;
    mov r7, r0;
    ldindh r7, {ETH_HLEN + 2};
    jne r0, {PORT}, drop;
    mov r0, -1;
    exit;
drop:
    mov r0, 0;
    exit
};

/// Another program type: `XDP_PASS`.
const XDP_PASS: Program = bpf_prog! {
    #![prog_type = xdp]
    mov r0, 2;
    exit
};

fn main() {
    assert_eq!(ACCEPT_ALL.prog_type(), ProgType::SocketFilter);
    assert_eq!(UDP_PORT.prog_type(), ProgType::SocketFilter);
    assert_eq!(XDP_PASS.prog_type(), ProgType::Xdp);
    assert_eq!(ACCEPT_ALL.len(), 2);
    assert_eq!(ACCEPT_NONE.insns()[0].imm(), 0);
    assert_eq!(UDP_PORT.insns()[10].imm(), 4242);
    assert_eq!(UDP_PORT.source_of(10).map(|s| s.text.as_ref()), Some("jne r0, {..}, drop"));
    let local = bpf_prog! { lddw r0, {u64::MAX - 1}; exit };
    assert_eq!(local.insns()[0].imm(), -2);
    assert_eq!(local.insns()[1].imm(), -1);
}
