use bpf_loader::{Program, bpf_prog};

// The checks know the declared key size: an 8-byte key at r10 - 4 reaches
// past the frame pointer, which the kernel refuses.
const P: Program = bpf_prog! {
    #![map(flows: hash, key = u64, value = u64, max_entries = 16)]
    mov r2, r10;
    add r2, -4;
    stw [r10 - 4], 0;
    lddw r1, map_fd(flows);
    call map_lookup_elem;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
