use bpf_loader::{Program, bpf_prog};

macro_rules! far {
    ($($t:tt)*) => {
        bpf_prog! {
            mov r0, 0;
            jeq r1, 0, out;
            ja out;
            $($t)*
        out:
            exit
        }
    };
}

macro_rules! x16 { ($($t:tt)*) => { far!($($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)*) }; }
macro_rules! x256 { ($($t:tt)*) => { x16!($($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)*) }; }
macro_rules! x4096 { ($($t:tt)*) => { x256!($($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)* $($t)*) }; }

// 4096 * 8 = 32768 instructions between the jumps and `out`.
const P: Program = x4096! { mov r0, 1; mov r0, 2; mov r0, 3; mov r0, 4; mov r0, 5; mov r0, 6; mov r0, 7; mov r0, 8; };

fn main() {
    let _ = P;
}
