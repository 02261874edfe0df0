use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 0;
    jeq r1, 0, dorp;
    exit;
drop:
    exit
};

fn main() {
    let _ = P;
}
