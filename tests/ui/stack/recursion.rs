use bpf_loader::{Program, bpf_prog};

// A function that calls itself: the kernel follows every `call local`
// and refuses the chain ("the call stack of 9 frames is too deep").
const P: Program = bpf_prog! {
    mov r0, 0;
    call local count;
    exit;
count:
    add r0, 1;
    jgt r0, 3, done;
    call local count;
done:
    exit
};

fn main() {
    let _ = P;
}
