use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    call bpf_map_lookup_elme;
    call 999999;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
