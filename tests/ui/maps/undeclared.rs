use bpf_loader::{Program, bpf_prog};

// A program that declares maps must declare every map it names.
const P: Program = bpf_prog! {
    #![map(counts: array, key = u32, value = u64, max_entries = 256)]
    #![map(events: ringbuf, max_entries = 4096)]
    mov r2, r10;
    add r2, -4;
    stw [r10 - 4], 0;
    lddw r1, map_fd(coutns);
    call map_lookup_elem;
    lddw r1, map_fd(evnets);
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
