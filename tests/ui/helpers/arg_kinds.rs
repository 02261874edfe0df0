use bpf_loader::{Program, bpf_prog};

// Arguments of the wrong kind: a number where `skb_load_bytes` takes the
// context ("R1 type=scalar expected=ctx"), the stack where
// `map_lookup_elem` takes a map ("R1 type=fp expected=map_ptr").
const P: Program = bpf_prog! {
    #![map(m: hash, key = u32, value = u64, max_entries = 4)]
    mov r6, r1;
    call get_prandom_u32;
    mov r1, r0;
    mov r2, 0;
    mov r3, r10;
    add r3, -4;
    mov r4, 4;
    call skb_load_bytes;
    stw [r10 - 4], 0;
    mov r2, r10;
    add r2, -4;
    mov r1, r10;
    call map_lookup_elem;
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
