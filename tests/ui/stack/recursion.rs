use bpf_loader::{Program, bpf_prog};

// A function that calls itself: the kernel follows every `call local`
// and refuses the chain ("the call stack of 9 frames is too deep").
const P: Program = bpf_prog! {
    mov r1, 0;
    call local count;
    exit;
count:
    add r1, 1;
    jgt r1, 3, done;
    call local count;
done:
    mov r0, 0;
    exit
};

fn main() {
    let _ = P;
}
