use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 0;
    ja out;
out:
    mov r0, 1;
out:
    exit
};

fn main() {
    let _ = P;
}
