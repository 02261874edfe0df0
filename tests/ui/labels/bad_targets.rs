use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    mov r0, 0;
    ja +9;
    jeq r0, 0, -4;
    jeq r0, 1, +1;
    lddw r1, 0x1122334455667788;
    ja end;
    exit;
end:
};

fn main() {
    let _ = P;
}
