//! The optimisers' element-wise updates, in copies for each instruction set chosen at run time
//! (`simd::target_copies!`), like the layers' kernels: in a user's crate, built for the x86-64
//! baseline, a plain loop would run four lanes wide where the CPU has sixteen.

use crate::simd::{self, Width};
use crate::Scalar;
use core::marker::PhantomData;

/// The updates over scalar `T`.
pub(crate) struct Update<T>(PhantomData<T>);

// The width only names the copy: the loops are plain element-wise passes that LLVM vectorises
// for whatever instruction set the copy is compiled for.
#[allow(clippy::extra_unused_type_parameters)]
impl<T: Scalar> Update<T> {
    /// SGD: `w -= lr · (g + wd · w)`.
    #[inline(always)]
    fn sgd_at<V: Width>(w: &mut [T], g: &[T], lr: T, wd: T) {
        if wd == T::zero() {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= lr * g;
            }
        } else {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= lr * (g + wd * *w);
            }
        }
    }

    simd::target_copies! {
        /// [`sgd_at`](Self::sgd_at) for AVX2 or AVX-512.
        fn sgd_avx2, sgd_avx512 = sgd_at(w: &mut [T], g: &[T], lr: T, wd: T);
    }

    #[inline]
    pub(crate) fn sgd(w: &mut [T], g: &[T], lr: T, wd: T) {
        simd::dispatch!(Self::sgd_at | sgd_avx2 | sgd_avx512(w, g, lr, wd));
    }

    /// SGD with momentum `mu`, dampening `1 − keep`, Nesterov or not; `copy` starts the buffer
    /// `b` as the gradient (PyTorch's first step).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn momentum_at<V: Width>(
        w: &mut [T],
        g: &[T],
        b: &mut [T],
        (lr, mu, keep, wd): (T, T, T, T),
        copy: bool,
        nesterov: bool,
    ) {
        for ((w, &g), b) in w.iter_mut().zip(g).zip(b.iter_mut()) {
            let g = g + wd * *w;
            *b = if copy { g } else { mu * *b + keep * g };
            let d = if nesterov { g + mu * *b } else { *b };
            *w -= lr * d;
        }
    }

    simd::target_copies! {
        /// [`momentum_at`](Self::momentum_at) for AVX2 or AVX-512.
        fn momentum_avx2, momentum_avx512 = momentum_at(
            w: &mut [T],
            g: &[T],
            b: &mut [T],
            hyper: (T, T, T, T),
            copy: bool,
            nesterov: bool,
        );
    }

    #[inline]
    pub(crate) fn momentum(
        w: &mut [T],
        g: &[T],
        b: &mut [T],
        hyper: (T, T, T, T),
        copy: bool,
        nesterov: bool,
    ) {
        simd::dispatch!(
            Self::momentum_at | momentum_avx2 | momentum_avx512(w, g, b, hyper, copy, nesterov)
        );
    }

    /// Adam's moments and step (PyTorch's arrangement; see `adam.rs`), `hyper` being
    /// `(β₁, 1 − β₁, β₂, 1 − β₂)` and `step` `(step size, √(1 − β₂ᵗ), ε, L2, shrink)`.
    #[inline(always)]
    fn adam_at<V: Width>(
        w: &mut [T],
        g: &[T],
        m: &mut [T],
        v: &mut [T],
        (beta1, one_minus_b1, beta2, one_minus_b2): (T, T, T, T),
        (step_size, bc2_sqrt, eps, l2, shrink): (T, T, T, T, T),
    ) {
        for ((w, &g), (m, v)) in w.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut())) {
            *w *= shrink;
            let g = g + l2 * *w;
            *m = beta1 * *m + one_minus_b1 * g;
            *v = beta2 * *v + one_minus_b2 * g * g;
            *w -= step_size * *m / (v.sqrt() / bc2_sqrt + eps);
        }
    }

    simd::target_copies! {
        /// [`adam_at`](Self::adam_at) for AVX2 or AVX-512.
        fn adam_avx2, adam_avx512 = adam_at(
            w: &mut [T],
            g: &[T],
            m: &mut [T],
            v: &mut [T],
            betas: (T, T, T, T),
            step: (T, T, T, T, T),
        );
    }

    #[inline]
    pub(crate) fn adam(
        w: &mut [T],
        g: &[T],
        m: &mut [T],
        v: &mut [T],
        betas: (T, T, T, T),
        step: (T, T, T, T, T),
    ) {
        simd::dispatch!(Self::adam_at | adam_avx2 | adam_avx512(w, g, m, v, betas, step));
    }

    /// Whether every value is finite, read in full rather than up to the first failure so
    /// that it vectorises: x − x is 0 for every finite x and NaN for ±∞ and NaN, and a NaN
    /// survives the lane sums.
    #[inline(always)]
    #[allow(clippy::eq_op)] // x − x is the test
    fn finite_at<V: Width>(values: &[T]) -> bool {
        const L: usize = 16;
        let (chunks, tail) = values.as_chunks::<L>();
        let mut acc = [T::zero(); L];
        for c in chunks {
            for l in 0..L {
                acc[l] += c[l] - c[l];
            }
        }
        acc.iter().all(|&a| a == T::zero()) && tail.iter().all(|v| v.is_finite())
    }

    simd::target_copies! {
        /// [`finite_at`](Self::finite_at) for AVX2 or AVX-512.
        fn finite_avx2, finite_avx512 = finite_at(values: &[T]) -> bool;
    }

    #[inline]
    pub(crate) fn all_finite(values: &[T]) -> bool {
        simd::dispatch!(Self::finite_at | finite_avx2 | finite_avx512(values))
    }
}
