use bpf_loader::{Program, bpf_prog};

// When the random number is 0, the program loops forever.
const P: Program = bpf_prog! {
    call get_prandom_u32;
    jeq r0, 0, spin;
    exit;
spin:
    add r0, 1;
    ja spin
};

fn main() {
    let _ = P;
}
