//! Two cfgs for the runtime, from what cargo says about this build:
//! - `stacknet_unoptimized` when cargo builds the runtime at opt-level 0 (the dev profile's
//!   default), so that training can say once why it is slow (`hint.rs`);
//! - `stacknet_dispatch` when the kernels choose their instruction set at run time (`simd.rs`):
//!   the `dispatch` feature, on x86-64, in a build that does not already target AVX2.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(stacknet_unoptimized, stacknet_dispatch)");
    println!("cargo::rerun-if-changed=build.rs");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("OPT_LEVEL") == "0" {
        println!("cargo::rustc-cfg=stacknet_unoptimized");
    }
    let avx2 = env("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "avx2");
    if std::env::var_os("CARGO_FEATURE_DISPATCH").is_some()
        && env("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && !avx2
    {
        println!("cargo::rustc-cfg=stacknet_dispatch");
    }
}
