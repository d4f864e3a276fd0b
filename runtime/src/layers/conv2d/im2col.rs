//! The copies between an image and the matrices of [`Conv2d`]'s products: the zero-padded
//! image, the im2col matrix and its transpose, and col2im, the adjoint that adds a gradient
//! back onto the image. Each works on one group's channels (`C/G` of them: the slice of `x`
//! or `dx` starting at the group's first channel), with `PT` rows of padding above and `PL`
//! columns to the left; the padding below and to the right only shows as output positions
//! whose taps fall outside the image.

use super::Conv2d;
use crate::Scalar;

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    >
    Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT, BIAS>
{
    /// Copies all of `x` (every channel) into the interior of the zeroed padded image `xp`.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    pub(super) fn pad_into(x: &[T], xp: &mut [T]) {
        let x = &x[..IN];
        for (c, img) in x.chunks_exact(H * W).enumerate() {
            for (h, row) in img.chunks_exact(W).enumerate() {
                xp[(c * Self::HP + h + PT) * Self::WP + PL..][..W].copy_from_slice(row);
            }
        }
    }

    /// Writes the `P × K` im2col matrix of one group's channels `x` (column-major) into
    /// `col`.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    pub(super) fn im2col(x: &[T], col: &mut [T]) {
        let (x, col) = (&x[..Self::GROUP_IN], &mut col[..P * K]);
        let mut k = 0;
        for img in x.chunks_exact(H * W) {
            for ky in 0..KH {
                let (oh0, oh1) = valid_span(ky * DH, PT, SH, H, OH);
                for kx in 0..KW {
                    let (ow0, ow1) = valid_span(kx * DW, PL, SW, W, OW);
                    let dst = &mut col[k * P..][..P];
                    k += 1;
                    if ow0 == ow1 {
                        // This tap reads padding at every output column.
                        dst.fill(T::zero());
                        continue;
                    }
                    // Output rows whose input row lies in the padding see zeros only.
                    dst[..oh0 * OW].fill(T::zero());
                    dst[oh1 * OW..].fill(T::zero());
                    for oh in oh0..oh1 {
                        let src = &img[(oh * SH + ky * DH - PT) * W..][..W];
                        let row = &mut dst[oh * OW..][..OW];
                        let ix0 = (ow0 * SW + kx * DW).wrapping_sub(PL);
                        if SW == 1 && ow0 == 0 && ow1 == OW {
                            // The common interior case: one copy of constant length.
                            row.copy_from_slice(&src[ix0..][..OW]);
                        } else {
                            row[..ow0].fill(T::zero());
                            row[ow1..].fill(T::zero());
                            let row = &mut row[ow0..ow1];
                            if SW == 1 {
                                row.copy_from_slice(&src[ix0..][..row.len()]);
                            } else {
                                for (d, s) in row.iter_mut().zip(src[ix0..].iter().step_by(SW)) {
                                    *d = *s;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the given columns of a block of the `P × K` matrix (column-major, the layout of
    /// [`im2col`](Self::im2col); column j of `g` is tap `first + j`) onto the values of one
    /// group's channels `dx` im2col took them from, dropping the padding: its adjoint. Each
    /// column adds whole output rows, of constant length in the interior.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    pub(super) fn col2im(g: &[T], first: usize, columns: core::ops::Range<usize>, dx: &mut [T]) {
        let dx = &mut dx[..Self::GROUP_IN];
        for j in columns {
            let (k, src) = (first + j, &g[j * P..][..P]);
            let (c, ky, kx) = (k / (KH * KW), k / KW % KH, k % KW);
            let img = &mut dx[c * H * W..][..H * W];
            let (oh0, oh1) = valid_span(ky * DH, PT, SH, H, OH);
            let (ow0, ow1) = valid_span(kx * DW, PL, SW, W, OW);
            if ow0 == ow1 {
                // This tap reads padding at every output column.
                continue;
            }
            for oh in oh0..oh1 {
                let dst = &mut img[(oh * SH + ky * DH - PT) * W..][..W];
                let row = &src[oh * OW..][..OW];
                let ix0 = (ow0 * SW + kx * DW).wrapping_sub(PL);
                if SW == 1 && ow0 == 0 && ow1 == OW {
                    for (d, &v) in dst[ix0..][..OW].iter_mut().zip(row) {
                        *d += v;
                    }
                } else if SW == 1 {
                    for (d, &v) in dst[ix0..].iter_mut().zip(&row[ow0..ow1]) {
                        *d += v;
                    }
                } else {
                    let dst = dst[ix0..].iter_mut().step_by(SW);
                    for (d, &v) in dst.zip(&row[ow0..ow1]) {
                        *d += v;
                    }
                }
            }
        }
    }

    /// Writes the transposed im2col matrix of one group's channels `x`, `K × P` column-major:
    /// column p holds the `K` taps of output position p, in (c, ky, kx) order, so each kernel
    /// row is one contiguous run.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    pub(super) fn im2col_t(x: &[T], colt: &mut [T]) {
        let (x, colt) = (&x[..Self::GROUP_IN], &mut colt[..K * P]);
        let mut taps = colt.chunks_exact_mut(KW);
        for oh in 0..OH {
            for ow in 0..OW {
                // Input column of tap kx = 0, wrapping below zero into the padding.
                let iw0 = (ow * SW).wrapping_sub(PL);
                let interior = DW == 1 && iw0 < W && iw0 + KW <= W;
                for img in x.chunks_exact(H * W) {
                    for ky in 0..KH {
                        let Some(dst) = taps.next() else { return };
                        let ih = (oh * SH + ky * DH).wrapping_sub(PT);
                        if ih >= H {
                            dst.fill(T::zero());
                            continue;
                        }
                        let src = &img[ih * W..][..W];
                        if interior {
                            dst.copy_from_slice(&src[iw0..iw0 + KW]);
                        } else {
                            for (kx, d) in dst.iter_mut().enumerate() {
                                let iw = iw0.wrapping_add(kx * DW);
                                *d = if iw < W { src[iw] } else { T::zero() };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The output positions `o ∈ lo..hi` (of `outs`) at which a tap at offset `off` inside the
/// window reads a real input value, i.e. `0 ≤ o·stride + off − pad < len`; empty as `(hi, hi)`.
/// `pad` is the leading padding (top or left): the trailing one only adds outputs, `outs`.
#[inline(always)]
fn valid_span(off: usize, pad: usize, stride: usize, len: usize, outs: usize) -> (usize, usize) {
    // o·s + off ≥ pad  ⇔  o ≥ ⌈(pad − off) / s⌉
    let lo = if pad > off {
        (pad - off).div_ceil(stride)
    } else {
        0
    };
    // o·s + off − pad ≤ len − 1  ⇔  o ≤ ⌊(len − 1 + pad − off) / s⌋
    let hi = if len + pad > off {
        ((len - 1 + pad - off) / stride + 1).min(outs)
    } else {
        0
    };
    (lo.min(hi), hi)
}
