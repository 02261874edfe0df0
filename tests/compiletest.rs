//! trybuild UI tests: one file per error class under `tests/ui/<theme>/`,
//! with the compiler's output in the `.stderr` beside it (regenerate with
//! `TRYBUILD=overwrite cargo test --test compiletest` and review the diff).
//! Programs that must compile live in `tests/ui/pass/`. The first pattern
//! skips every folder starting with `p`, so `progtypes/`, `pointers/` and `packets/`
//! are listed on their own.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/[!p]*/*.rs");
    t.compile_fail("tests/ui/progtypes/*.rs");
    t.compile_fail("tests/ui/pointers/*.rs");
    t.compile_fail("tests/ui/packets/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
