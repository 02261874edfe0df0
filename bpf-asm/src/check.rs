//! The named checks: each error the checks report (as opposed to syntax and
//! encoding errors, which every program must pass) belongs to one, and
//! `#![allow(name, ...)]` or [`Assembler::allow`](crate::Assembler::allow)
//! turns it off for a program that does something deliberate. A check
//! turned off leaves the others running.

macro_rules! checks {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// A check the assembler runs after encoding; its
        /// [`name`](Check::name) is what `#![allow(...)]` takes. The list
        /// with one line each is in `docs/SYNTAX.md`.
        ///
        /// ```
        /// use bpf_asm::{Assembler, Check};
        ///
        /// let src = "mov r0, 1\nexit\nmov r0, 2\nexit";
        /// assert!(bpf_asm::assemble(src).is_err());
        /// let p = Assembler::new().allow(Check::Unreachable).assemble(src);
        /// assert!(p.is_ok());
        /// assert_eq!(Check::from_name("unreachable"), Some(Check::Unreachable));
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Check {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Check {
            /// Every check, in the order `docs/SYNTAX.md` lists them.
            pub const ALL: &'static [Check] = &[$(Check::$variant,)*];

            /// The stable name `#![allow(...)]` takes.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Check::$variant => $name,)*
                }
            }
        }
    };
}

checks! {
    /// A jump or call target outside the program, into the second slot of
    /// an `lddw`, or into another function.
    JumpTarget = "jump_target",
    /// An instruction no path reaches.
    Unreachable = "unreachable",
    /// A path that falls off the end of the program.
    FallOffEnd = "fall_off_end",
    /// An instruction that falls through into a function's first one.
    FallIntoFunction = "fall_into_function",
    /// A loop, under `#![unprivileged]`.
    UnprivilegedLoop = "unprivileged_loop",
    /// A `call local`, `func(...)` or kfunc call, under `#![unprivileged]`.
    NeedsCapBpf = "needs_cap_bpf",
    /// A loop with no way out, on a path the kernel walks.
    EndlessLoop = "endless_loop",
    /// A read of a register no path (or not every path) has written.
    UnsetRegister = "unset_register",
    /// An `exit` with r0 unset.
    ExitR0 = "exit_r0",
    /// A write to r10, the read-only frame pointer.
    R10Write = "r10_write",
    /// Division or modulo by the constant 0.
    Divisor = "divisor",
    /// A constant shift amount not below the operand's width.
    ShiftAmount = "shift_amount",
    /// A stack access outside the frame or misaligned for its size.
    StackBounds = "stack_bounds",
    /// A read of stack bytes never written, under `#![unprivileged]`.
    UninitStack = "uninit_stack",
    /// A pointer returned or stored where user space can read it, under
    /// `#![unprivileged]`.
    PointerLeak = "pointer_leak",
    /// A helper the program type may not call.
    HelperAllowed = "helper_allowed",
    /// A context access the program type does not allow (field, size,
    /// alignment, writes, atomics).
    CtxAccess = "ctx_access",
    /// A map helper's key or value reaching outside the stack, or not
    /// written (unprivileged).
    MapArgs = "map_args",
    /// A load or store through a number, a maybe-null pointer, a modified
    /// context pointer, or outside a map value.
    PointerAccess = "pointer_access",
    /// Pointer arithmetic the kernel refuses.
    PointerArith = "pointer_arith",
    /// A chain of `call local`s whose frames add up to more than 512 bytes
    /// of stack, or more than 8 frames, recursion, or a legacy packet load
    /// inside a function.
    CallFrames = "call_frames",
    /// A helper's stack buffer that reaches outside the stack at the size
    /// passed with it.
    HelperMem = "helper_mem",
    /// A helper argument of a kind its prototype refuses: a number or
    /// another pointer where it takes the context or a map, a moved
    /// context pointer, a reference that may be null.
    HelperArgs = "helper_args",
    /// An `exit` that still holds a socket or ring buffer record a helper
    /// returned, not released.
    ReferenceLeak = "reference_leak",
}

impl Check {
    /// The check named `name`.
    pub fn from_name(name: &str) -> Option<Check> {
        Check::ALL.iter().copied().find(|c| c.name() == name)
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// A set of checks (turned off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CheckSet(u32);

impl CheckSet {
    pub(crate) fn insert(&mut self, c: Check) {
        self.0 |= c.bit();
    }

    pub(crate) fn contains(self, c: Check) -> bool {
        self.0 & c.bit() != 0
    }

    pub(crate) fn union(self, o: CheckSet) -> CheckSet {
        CheckSet(self.0 | o.0)
    }
}
