//! The kernel-agreement corpus: hand-written programs, each with what the
//! kernel (as root) does with it. `tests/kernel_corpus.rs` holds the checks
//! to it: no program the kernel loads may be rejected, every program marked
//! caught must be rejected, and the share caught is reported by check.

pub(crate) mod arith;
pub(crate) mod basics;
pub(crate) mod helpers;
pub(crate) mod limits;
pub(crate) mod packets;
pub(crate) mod pointers;
pub(crate) mod progtypes;
pub(crate) mod refs;
pub(crate) mod walked;

/// What the kernel does with a program, and what the checks must say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The kernel loads it: the checks must pass it.
    Loads,
    /// The kernel refuses it (its log containing `kernel`), and the checks
    /// reject it (a message containing `says`).
    Caught {
        says: &'static str,
        kernel: &'static str,
    },
    /// The kernel refuses it (its log containing `kernel`); the checks do
    /// not see why, and stay quiet.
    Missed { kernel: &'static str },
}

/// One program of the corpus.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) src: String,
    pub(crate) expect: Expect,
}

impl Case {
    /// A program both refuse (`refused`) or both accept.
    pub(crate) fn agree(src: impl Into<String>, refused: bool) -> Case {
        let expect = if refused {
            Expect::Caught {
                says: "",
                kernel: "",
            }
        } else {
            Expect::Loads
        };
        Case {
            src: src.into(),
            expect,
        }
    }

    /// A program the kernel refuses saying `kernel`; the checks say `says`,
    /// or nothing when it is empty.
    pub(crate) fn refused(
        src: impl Into<String>,
        says: &'static str,
        kernel: &'static str,
    ) -> Case {
        let expect = if says.is_empty() {
            Expect::Missed { kernel }
        } else {
            Expect::Caught { says, kernel }
        };
        Case {
            src: src.into(),
            expect,
        }
    }

    /// A program both refuse, the kernel saying `kernel`.
    pub(crate) fn caught(src: impl Into<String>, kernel: &'static str) -> Case {
        Case {
            src: src.into(),
            expect: Expect::Caught { says: "", kernel },
        }
    }

    /// A program the kernel loads.
    pub(crate) fn loads(src: impl Into<String>) -> Case {
        Case {
            src: src.into(),
            expect: Expect::Loads,
        }
    }
}
