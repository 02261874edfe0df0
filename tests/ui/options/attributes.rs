use bpf_loader::{Program, bpf_prog};

const P: Program = bpf_prog! {
    #![cpu = v5]
    #![prog_type = socket_filtr]
    #![unprivilegd]
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
