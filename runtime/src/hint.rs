//! A one-time note on stderr when training starts in an unoptimised build.
//!
//! A dependent crate's `cargo run` builds stacknet at `opt-level = 0` unless its Cargo.toml
//! says otherwise, and training then runs 10–100 times slower than with `--release`, with
//! nothing to say why. The build script sets `stacknet_unoptimized` when cargo builds the
//! runtime at opt-level 0; with `std`, the first trainer made in such a build prints how to
//! fix it, once per process. `STACKNET_NO_DEBUG_HINT` (any value) silences it.

/// What the note says.
pub const UNOPTIMIZED: &str = "stacknet: this build is not optimised, and training runs 10-100x \
slower than with `cargo run --release`. For fast debug builds, add to your Cargo.toml:

    [profile.dev]
    opt-level = 1
    [profile.dev.package.\"*\"]
    opt-level = 3

(set STACKNET_NO_DEBUG_HINT=1 to silence this note)";

/// Whether cargo built the runtime without optimisation.
pub const IS_UNOPTIMIZED: bool = cfg!(stacknet_unoptimized);

/// Prints [`UNOPTIMIZED`] once per process in an unoptimised `std` build, unless
/// `STACKNET_NO_DEBUG_HINT` is set; does nothing otherwise.
#[inline]
pub fn unoptimized_build() {
    #[cfg(all(feature = "std", stacknet_unoptimized))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("STACKNET_NO_DEBUG_HINT").is_none() {
                std::eprintln!("{UNOPTIMIZED}");
            }
        });
    }
}
