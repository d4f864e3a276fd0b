//! Two cfgs for the runtime, from what cargo says about this build:
//! - `stacknet_unoptimized` when cargo builds the runtime at opt-level 0 (the dev profile's
//!   default), so that training can say once why it is slow (`hint.rs`);
//! - `stacknet_dispatch` when the kernels choose their instruction set at run time (`simd.rs`):
//!   the `dispatch` feature, on x86-64, in a build that does not already target AVX2;
//! - `stacknet_dsp` on Armv7E-M (Cortex-M4 and M7, `thumbv7em-*`), which has the DSP
//!   extension's dual 16-bit multiply-accumulate (`quant::dsp`). Stable Rust does not expose
//!   the `dsp` target feature as a cfg, but the architecture guarantees it.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(stacknet_unoptimized, stacknet_dispatch, stacknet_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("TARGET").starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=stacknet_dsp");
    }
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
