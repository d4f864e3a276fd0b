//! The register block of [`crate::kernels`]' matrix products in `f32`, written with x86-64's
//! vector intrinsics where the width's instructions are known to be there.
//!
//! Two things the portable loops cannot get from LLVM: stable Rust never fuses `acc += a · b`
//! into one FMA (the rounding would differ), so every step costs a multiply and an add; and
//! LLVM vectorises loops at the CPU's *preferred* width, which for the server parts of the
//! last years (Ice Lake, Sapphire and Emerald Rapids) is 256 bits, so a native build there
//! compiles the 512-bit blocks with twice the registers it has and spills the accumulators
//! (ResNet-8's 3×3 convolutions ran at a quarter of the speed of the same code with 512-bit
//! vectors). Intrinsics have their width and fuse: measured, the stride-1 convolutions of
//! ResNet-8 went from 12–16 to ~100 GFLOP/s.

#![allow(unsafe_code)]

use super::Width;
use core::any::TypeId;
use core::arch::x86_64::*;

/// Lanes of the explicit kernel code blocked for `V` may use here: 16 where AVX-512F is
/// certain (the build targets it, or `V` is the run-time level [`super::Avx512`] and the CPU
/// reported it), 8 for AVX2 with FMA, 0 where the portable loops must run. Decided by the
/// width's type, never by a trait constant a caller could set.
#[inline(always)]
pub(crate) fn lanes<V: Width>() -> usize {
    let id = TypeId::of::<V>();
    #[cfg(stacknet_dispatch)]
    {
        use super::Level;
        if id == TypeId::of::<super::Avx512>() {
            return if super::best_level() >= Level::Avx512 {
                16
            } else {
                0
            };
        }
        if id == TypeId::of::<super::Avx2>() {
            return if super::best_level() >= Level::Avx2 {
                8
            } else {
                0
            };
        }
    }
    if id == TypeId::of::<super::V512>() && cfg!(target_feature = "avx512f") {
        16
    } else if id == TypeId::of::<super::V256>()
        && cfg!(all(target_feature = "avx2", target_feature = "fma"))
    {
        8
    } else {
        0
    }
}

/// `acc[c·MR + i] += Σ_{r < rows} a[acol(r) + i] · b(r)[c]` for `i < MR`, `c < NR`, with the
/// width's FMA instructions, when [`lanes`] has them for `V` and `MR` is whole vectors of
/// them; whether it ran (the caller runs its portable loops otherwise).
#[inline(always)]
pub(crate) fn block<'b, V: Width, const MR: usize, const NR: usize>(
    rows: usize,
    a: &[f32],
    acol: &impl Fn(usize) -> usize,
    b: &impl Fn(usize) -> &'b [f32; NR],
    acc: &mut [f32],
) -> bool {
    let lanes = lanes::<V>();
    // One call per panel height the blocks use, each under a constant condition.
    macro_rules! by_vectors {
        ($kernel:ident, $lanes:literal, $($nv:literal)*) => {
            $(if const { MR == $lanes * $nv } {
                // SAFETY: `lanes` is `$lanes` only where the CPU has the kernel's
                // instructions.
                unsafe { $kernel::<$nv, NR>(rows, a, acol, b, acc) };
                return true;
            })*
        };
    }
    if lanes == 16 && V::BYTES == 64 {
        by_vectors!(block16, 16, 1 2 4 8 16);
    } else if lanes == 8 && V::BYTES == 32 {
        by_vectors!(block8, 8, 1 2 4 8 16);
    }
    false
}

/// Defines one width's block: `acc[c·LANES·NV + i] += Σ_{r < rows} a[acol(r) + i] · b(r)[c]`
/// for `i < LANES·NV`, `c < NR`, `NV` vectors of `A`'s rows times `NR` broadcast entries of
/// `B` per step. One body for both widths: they differ only in their intrinsics.
macro_rules! fused_block {
    ($(#[$doc:meta])* $name:ident, $lanes:literal, $features:literal, $zero:ident, $load:ident,
     $splat:ident, $fma:ident, $store:ident) => {
        $(#[$doc])*
        #[target_feature(enable = $features)]
        #[inline]
        pub(crate) unsafe fn $name<'b, const NV: usize, const NR: usize>(
            rows: usize,
            a: &[f32],
            acol: &impl Fn(usize) -> usize,
            b: &impl Fn(usize) -> &'b [f32; NR],
            acc: &mut [f32],
        ) {
            let mr = $lanes * NV;
            let acc = &mut acc[..NR * mr];
            let mut v = [[$zero(); NV]; NR];
            for (c, vc) in v.iter_mut().enumerate() {
                for (j, v) in vc.iter_mut().enumerate() {
                    let src = &acc[c * mr + $lanes * j..][..$lanes];
                    // SAFETY: `src` holds the values read.
                    *v = unsafe { $load(src.as_ptr()) };
                }
            }
            for r in 0..rows {
                let ar = &a[acol(r)..][..mr];
                let mut av = [$zero(); NV];
                for (j, av) in av.iter_mut().enumerate() {
                    // SAFETY: `ar` holds `LANES·NV` values, so `LANES` from `LANES·j`.
                    *av = unsafe { $load(ar[$lanes * j..][..$lanes].as_ptr()) };
                }
                let br = b(r);
                for (vc, &bv) in v.iter_mut().zip(br) {
                    let bc = $splat(bv);
                    for (v, &av) in vc.iter_mut().zip(&av) {
                        *v = $fma(av, bc, *v);
                    }
                }
            }
            for (c, vc) in v.iter().enumerate() {
                for (j, v) in vc.iter().enumerate() {
                    let dst = &mut acc[c * mr + $lanes * j..][..$lanes];
                    // SAFETY: `dst` has room for the values written.
                    unsafe { $store(dst.as_mut_ptr(), *v) };
                }
            }
        }
    };
}

fused_block!(
    /// The block with 16 lanes.
    ///
    /// # Safety
    ///
    /// The CPU has AVX-512F ([`lanes`] returned 16).
    block16, 16, "avx512f", _mm512_setzero_ps, _mm512_loadu_ps, _mm512_set1_ps,
    _mm512_fmadd_ps, _mm512_storeu_ps
);

fused_block!(
    /// The block with 8 lanes.
    ///
    /// # Safety
    ///
    /// The CPU has AVX2 and FMA ([`lanes`] returned 8 or more).
    block8, 8, "avx2,fma", _mm256_setzero_ps, _mm256_loadu_ps, _mm256_set1_ps,
    _mm256_fmadd_ps, _mm256_storeu_ps
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{V128, V256, V512};
    use std::vec::Vec;

    /// `block` against the same sums in f64, for every panel height it takes at each width
    /// this CPU has; and it declines what it must not take.
    #[test]
    fn fused_blocks_match_the_sums() {
        fn check<V: Width, const MR: usize, const NR: usize>(expect_run: bool) {
            let rows = 37;
            let a: Vec<f32> = (0..rows * MR + 5)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let bs: Vec<[f32; NR]> = (0..rows)
                .map(|r| core::array::from_fn(|c| ((r * 13 + c * 7) % 17) as f32 / 8.0 - 1.0))
                .collect();
            let start: Vec<f32> = (0..NR * MR).map(|i| i as f32 / 64.0).collect();
            let mut acc = start.clone();
            // Column r of `A` starts at 3 + r·MR: unaligned.
            let ran = block::<V, MR, NR>(rows, &a, &|r| 3 + r * MR, &|r| &bs[r], &mut acc);
            assert_eq!(ran, expect_run, "{} MR {MR} NR {NR}", V::NAME);
            if !ran {
                assert_eq!(acc, start);
                return;
            }
            for c in 0..NR {
                for i in 0..MR {
                    let want = start[c * MR + i] as f64
                        + (0..rows)
                            .map(|r| a[3 + r * MR + i] as f64 * bs[r][c] as f64)
                            .sum::<f64>();
                    let got = acc[c * MR + i] as f64;
                    assert!(
                        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "{got} vs {want}"
                    );
                }
            }
        }
        let avx512 = cfg!(target_feature = "avx512f");
        let avx2 = cfg!(all(target_feature = "avx2", target_feature = "fma"));
        assert_eq!(lanes::<V512>(), if avx512 { 16 } else { 0 });
        assert_eq!(lanes::<V256>(), if avx2 { 8 } else { 0 });
        assert_eq!(lanes::<V128>(), 0);
        check::<V512, 16, 8>(avx512);
        check::<V512, 32, 8>(avx512);
        check::<V512, 64, 6>(avx512);
        check::<V512, 256, 1>(avx512);
        check::<V512, 8, 4>(false); // half a vector: the portable loops
        check::<V256, 8, 8>(avx2);
        check::<V256, 16, 4>(avx2);
        check::<V256, 128, 2>(avx2);
        check::<V256, 4, 8>(false);
        check::<V128, 16, 8>(false);
        #[cfg(stacknet_dispatch)]
        {
            let best = crate::simd::best_level();
            check::<crate::simd::Avx512, 32, 8>(best >= crate::simd::Level::Avx512);
            check::<crate::simd::Avx2, 16, 4>(best >= crate::simd::Level::Avx2);
        }
    }
}
