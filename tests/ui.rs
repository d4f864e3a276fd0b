//! Drives the trybuild cases: `tests/ui/<kind of mistake>/*.rs` must fail to compile with
//! exactly their `.stderr`, and `tests/pass/*.rs` must compile and run.
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui`, then read every
//! changed `.stderr`: a snapshot is only as good as the message and span it records.
//!
//! The two kinds are two trybuild runs, one after the other: a run of compile-fail cases only
//! checks them all in one `cargo check --keep-going` (both cores, no codegen), where a run
//! that has pass cases too builds every case by itself, one at a time.

#[test]
fn ui() {
    {
        let t = trybuild::TestCases::new();
        t.compile_fail("tests/ui/*/*.rs");
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
}
