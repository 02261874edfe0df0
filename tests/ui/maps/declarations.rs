use bpf_loader::{Program, bpf_prog};

// Mistakes in the declarations themselves.
const P: Program = bpf_prog! {
    #![map(a: hsah, key = u32, value = u64, max_entries = 8)]
    #![map(b: hash, key = u23, value = u64, max_entries = 8)]
    #![map(c: hash, key = u32, value = u64)]
    #![map(d: ringbuf, max_entries = 5000)]
    #![map(e: array, key = u64, value = u64, max_entries = 8)]
    #![map(f: hash, key = u32, value = u64, max_entries = 8, flags = no_prealoc)]
    #![map(g: array, key = u32, value = u64, max_entries = 8, flags = no_prealloc)]
    #![map(h: hash, kye = u32, value = u64, max_entries = 8)]
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
