use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 0;
    jeq r1, 0, done;
    mov r0, 1;
done:
    add r0, 1
};

fn main() {
    let _ = P;
}
