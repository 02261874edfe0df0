use bpf_loader::{Program, bpf_prog};

// A legacy packet load inside a function: the kernel says "LD_ABS is not
// allowed in subprogs without BTF".
const P: Program = bpf_prog! {
    mov r6, r1;
    call local proto;
    exit;
proto:
    mov r6, r1;
    ldabsb 23;
    exit
};

fn main() {
    let _ = P;
}
