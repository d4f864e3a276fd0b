//! The element-wise functions and the one matrix–vector product the recurrent cells need.
//!
//! The gates apply a sigmoid or tanh to every one of their `G·H` values at every step, which
//! for LSTM(128) over 28 steps is 18 000 transcendental functions per sample: through `libm`,
//! one scalar call each, they would cost more than all the matrix products together. For `f32`
//! they are computed here instead by branch-free formulas LLVM vectorises (Cephes' `expf`
//! and `tanhf`, a few ulp from the correctly rounded values); other scalars (`f64`, used for
//! gradient checks and reference comparisons) keep their own exact-to-an-ulp functions.

use crate::simd::{lanes, Width};
use crate::Scalar;
use core::any::TypeId;

/// `v` seen as `f32` when `T` is `f32`.
#[inline(always)]
fn as_f32<T: Scalar>(v: &mut [T]) -> Option<&mut [f32]> {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        bytemuck::try_cast_slice_mut(v).ok()
    } else {
        None
    }
}

/// Cephes' `expf`, branch-free: eˣ = 2ᵏ · eʳ with k = round(x / ln 2) and |r| ≤ ln 2 / 2,
/// eʳ by its degree-7 Taylor-like minimax polynomial. `x` is clamped to ±80 (e⁸⁰ ≈ 5.5·10³⁴),
/// which keeps 2ᵏ a normal number; every caller saturates long before.
// Cephes' coefficients as published (some have a digit more than f32 holds).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-80.0, 80.0);
    let k = (x * LOG2E + ROUND) - ROUND;
    // ln 2 in two parts, the first exact in a few bits, so r = x − k·ln 2 loses nothing.
    let r = x - k * 0.693_359_4 - k * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1)
        * (r * r)
        + r
        + 1.0;
    p * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

/// σ(x) = 1 / (1 + e⁻ˣ).
#[inline(always)]
fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Cephes' `tanhf`, branch-free: an odd polynomial for |x| < 0.625 (where 1 − 2/(e²ˣ + 1)
/// would lose the relative accuracy of small values), 1 − 2/(e^(2|x|) + 1) with the sign of
/// `x` elsewhere. Both are computed and one is selected, which vectorises.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    let z = x.abs();
    let s = x * x;
    let small =
        ((((-5.704_988_7e-3 * s + 2.063_908_9e-2) * s - 5.373_971_6e-2) * s + 1.333_144_2e-1) * s
            - 3.333_328_2e-1)
            * s
            * x
            + x;
    let large = (1.0 - 2.0 / (exp_f32(z + z) + 1.0)).copysign(x);
    if z < 0.625 {
        small
    } else {
        large
    }
}

/// `v ← σ(v)`.
#[inline]
pub(super) fn sigmoid<T: Scalar>(v: &mut [T]) {
    match as_f32(v) {
        Some(v) => v.iter_mut().for_each(|v| *v = sigmoid_f32(*v)),
        None => v
            .iter_mut()
            .for_each(|v| *v = T::one() / (T::one() + (-*v).exp())),
    }
}

/// `v ← tanh(v)`.
#[inline]
pub(super) fn tanh<T: Scalar>(v: &mut [T]) {
    match as_f32(v) {
        Some(v) => v.iter_mut().for_each(|v| *v = tanh_f32(*v)),
        None => v.iter_mut().for_each(|v| *v = v.tanh()),
    }
}

/// `v ← max(v, 0)`.
#[inline]
pub(super) fn relu<T: Scalar>(v: &mut [T]) {
    v.iter_mut().for_each(|v| {
        if *v < T::zero() {
            *v = T::zero()
        }
    });
}

/// `y = b + W x` for `W: O × I` row-major, `O` a multiple of 8: the recurrent product
/// `W_hh h` plus the step's input projection.
///
/// [`dense_forward`](crate::kernels::dense_forward) with eight rows at a time instead of
/// four: eight independent sums hide the latency of the additions, which bound the
/// four-row blocks on these long products.
#[inline]
pub(super) fn gemv_bias<V: Width, T: Scalar, const I: usize, const O: usize>(
    w: &[T],
    b: &[T],
    x: &[T; I],
    y: &mut [T],
) {
    // The lanes of `V` for `T`, as a constant the compiler prunes the other arms by.
    match const { lanes::<V, T>() } {
        2 => gemv_bias_l::<T, I, O, 2>(w, b, x, y),
        4 => gemv_bias_l::<T, I, O, 4>(w, b, x, y),
        8 => gemv_bias_l::<T, I, O, 8>(w, b, x, y),
        _ => gemv_bias_l::<T, I, O, 16>(w, b, x, y),
    }
}

#[inline(always)]
fn gemv_bias_l<T: Scalar, const I: usize, const O: usize, const L: usize>(
    w: &[T],
    b: &[T],
    x: &[T; I],
    y: &mut [T],
) {
    const R: usize = 8;
    let (w, b, y) = (&w[..I * O], &b[..O], &mut y[..O]);
    let (xc, xt) = x.as_chunks::<L>();
    for ((w, b), y) in w
        .chunks_exact(R * I)
        .zip(b.chunks_exact(R))
        .zip(y.chunks_exact_mut(R))
    {
        let rows: [(&[[T; L]], &[T]); R] =
            core::array::from_fn(|r| w[r * I..][..I].as_chunks::<L>());
        let mut acc = [[T::zero(); L]; R];
        for (k, xv) in xc.iter().enumerate() {
            for (acc, (wc, _)) in acc.iter_mut().zip(&rows) {
                let wv = &wc[k];
                for l in 0..L {
                    acc[l] += wv[l] * xv[l];
                }
            }
        }
        for (r, (acc, (_, wt))) in acc.into_iter().zip(&rows).enumerate() {
            let mut n = L;
            let mut v = acc;
            while n > 1 {
                n /= 2;
                for i in 0..n {
                    v[i] += v[i + n];
                }
            }
            let mut s = v[0];
            for (&w, &x) in wt.iter().zip(xt) {
                s += w * x;
            }
            y[r] = b[r] + s;
        }
    }
}

/// `y += Wᵀ d` for `W: O × I` row-major (`w[o·I + i]`): the recurrent input gradient
/// `∂L/∂h = W_hhᵀ δ`, one step at a time.
///
/// Rows four at a time: each pass adds four scaled rows to `y`, so `y` is loaded and stored
/// once per four rows while the loop over `i` streams the rows along contiguous memory.
#[inline]
pub(super) fn gemv_t_add<T: Scalar, const I: usize, const O: usize>(w: &[T], d: &[T], y: &mut [T]) {
    let (w, d, y) = (&w[..I * O], &d[..O], &mut y[..I]);
    let mut rows = w.chunks_exact(4 * I).zip(d.chunks_exact(4));
    for (w4, d4) in &mut rows {
        let (w0, rest) = w4.split_at(I);
        let (w1, rest) = rest.split_at(I);
        let (w2, w3) = rest.split_at(I);
        let (d0, d1, d2, d3) = (d4[0], d4[1], d4[2], d4[3]);
        for i in 0..I {
            y[i] += d0 * w0[i] + d1 * w1[i] + d2 * w2[i] + d3 * w3[i];
        }
    }
    let done = O / 4 * 4;
    for (wr, &dr) in w[done * I..].chunks_exact(I).zip(&d[done..]) {
        for (y, &w) in y.iter_mut().zip(wr) {
            *y += dr * w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `f32` formulas against `f64`'s functions on a fine grid over the range where they
    /// do not saturate, and at the extremes.
    #[test]
    fn f32_sigmoid_and_tanh_are_within_a_few_ulp() {
        let (mut worst_s, mut worst_t) = (0.0f64, 0.0f64);
        let mut x = -30.0f64;
        while x <= 30.0 {
            let xf = x as f32;
            let xd = xf as f64;
            let mut v = [xf];
            sigmoid(&mut v);
            let want = 1.0 / (1.0 + (-xd).exp());
            worst_s = worst_s.max((v[0] as f64 - want).abs() / want.clamp(1e-30, 1.0));
            let mut v = [xf];
            tanh(&mut v);
            let want = xd.tanh();
            // Relative near zero, absolute where |tanh| approaches 1.
            worst_t = worst_t.max((v[0] as f64 - want).abs() / want.abs().clamp(1e-30, 1.0));
            x += 1.3e-4;
        }
        assert!(worst_s < 4e-7, "sigmoid: worst relative error {worst_s:e}");
        assert!(worst_t < 4e-7, "tanh: worst relative error {worst_t:e}");
        let mut v = [-1e4f32, -100.0, 0.0, 1e-20, 100.0, 1e4];
        tanh(&mut v);
        assert_eq!(v, [-1.0, -1.0, 0.0, 1e-20, 1.0, 1.0]);
        let mut v = [-1e4f32, 0.0, 100.0, 1e4];
        sigmoid(&mut v);
        assert!(v[0] >= 0.0 && v[0] < 1e-30);
        assert_eq!(&v[1..], &[0.5, 1.0, 1.0]);
    }

    /// Row blocks of eight, with whole vectors and a tail along the rows, in both scalars.
    fn check_gemv_bias<T: Scalar>(tol: f64) {
        let w: [f64; 20 * 16] = core::array::from_fn(|k| (k as f64 * 0.37).sin());
        let x: [f64; 20] = core::array::from_fn(|k| (k as f64 * 0.71).cos());
        let b: [f64; 16] = core::array::from_fn(|k| k as f64 * 0.1 - 0.5);
        let (wt, xt, bt) = (w.map(T::of), x.map(T::of), b.map(T::of));
        let mut y = [T::of(f64::NAN); 16];
        gemv_bias::<crate::simd::Native, T, 20, 16>(&wt, &bt, &xt, &mut y);
        for (o, &y) in y.iter().enumerate() {
            let want = b[o] + (0..20).map(|i| w[o * 20 + i] * x[i]).sum::<f64>();
            assert!((y.to_f64() - want).abs() < tol, "[{o}]: {y:?} vs {want}");
        }
    }

    #[test]
    fn gemv_bias_matches_the_textbook_sum() {
        check_gemv_bias::<f64>(1e-13);
        check_gemv_bias::<f32>(1e-5);
    }

    #[test]
    fn gemv_t_add_matches_the_textbook_sum() {
        // 7 rows: one block of four and three single rows.
        let w: [f64; 21] = core::array::from_fn(|k| (k as f64 * 0.37).sin());
        let d = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 3.0];
        let mut y = [1.0, 2.0, 3.0];
        gemv_t_add::<f64, 3, 7>(&w, &d, &mut y);
        for (i, &y) in y.iter().enumerate() {
            let want = (i + 1) as f64 + (0..7).map(|o| w[o * 3 + i] * d[o]).sum::<f64>();
            assert!((y - want).abs() < 1e-14, "[{i}]: {y} vs {want}");
        }
    }
}
