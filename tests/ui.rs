//! Drives the trybuild cases: `tests/ui/<kind of mistake>/*.rs` must fail to compile with
//! exactly their `.stderr`, and `tests/pass/*.rs` must compile and run.
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui`, then read every
//! changed `.stderr`: a snapshot is only as good as the message and span it records.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
    t.pass("tests/pass/*.rs");
}
