//! The two-pass max pooling kernels for windows that tile the input exactly, the common case
//! (LeNet's 2×2 pools at stride 2): kept apart because their speed comes from the loop shapes.

use super::{wins, MaxPool2d};
use crate::Scalar;

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
    > MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>
{
    /// Whether the windows tile the input exactly: no padding, no overlap, no gap, rows a whole
    /// number of windows wide, and no ceil-mode window running past the last row (which the
    /// first pass would read beyond the plane).
    pub(super) const TILED: bool = PT == 0
        && PB == 0
        && PL == 0
        && PR == 0
        && SH == KH
        && SW == KW
        && W == OW * KW
        && OH * KH <= H;

    /// Forward of tiled windows ([`TILED`](Self::TILED)) in two passes, each one long loop over
    /// contiguous memory that vectorises: the maximum of every `KW` consecutive inputs, then of
    /// those `KH` rows apart. (Looping over output rows instead, the loop along a row is short
    /// enough that LLVM unrolls it and vectorises across rows, with gathers and scatters.)
    /// Same choices as the window-by-window path: the first maximum in row-major window order
    /// wins ties, and a NaN wins, the last one if several.
    ///
    /// The first pass keeps `KH` rows per output row, `KH·OUT` values: the first `OH·KH` rows
    /// of each channel (rows past the last window are never read).
    #[inline(always)]
    pub(super) fn run_tiled<T: Scalar>(x: &[T], y: &mut [T]) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        // h[(c·OH·KH + r)·OW + j]: the maximum of row r's window columns j·KW .. j·KW + KW.
        let mut buf = [[T::zero(); OUT]; KH];
        let h = buf.as_flattened_mut();
        for (plane, h) in x.chunks_exact(H * W).zip(h.chunks_exact_mut(OH * KH * OW)) {
            let (taps, _) = plane[..OH * KH * W].as_chunks::<KW>();
            for (h, t) in h.iter_mut().zip(taps) {
                let mut m = t[0];
                for &v in &t[1..] {
                    if wins(v, m) {
                        m = v;
                    }
                }
                *h = m;
            }
        }
        // Then h[k] ← the maximum of h[k + ky·OW] over ky < KH: at the first row of each
        // window row, the window's maximum. In place: h[k] is read no later than it is written.
        for k in 0..(OH * KH * C - (KH - 1)) * OW {
            let mut m = h[k];
            for ky in 1..KH {
                let v = h[k + ky * OW];
                if wins(v, m) {
                    m = v;
                }
            }
            h[k] = m;
        }
        for (r, y) in y.chunks_exact_mut(OW).enumerate() {
            y.copy_from_slice(&h[r * KH * OW..][..OW]);
        }
    }

    /// [`run_tiled`](Self::run_tiled), also recording each maximum's flat input index.
    #[inline(always)]
    pub(super) fn run_tiled_argmax<T: Scalar>(x: &[T], y: &mut [T], arg: &mut [u32; OUT]) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        let (mut hbuf, mut ibuf) = ([[T::zero(); OUT]; KH], [[0u32; OUT]; KH]);
        let (h, hi) = (hbuf.as_flattened_mut(), ibuf.as_flattened_mut());
        let used = OH * KH * OW;
        let rows = h.chunks_exact_mut(used).zip(hi.chunks_exact_mut(used));
        for (c, (plane, (h, hi))) in x.chunks_exact(H * W).zip(rows).enumerate() {
            let (taps, _) = plane[..OH * KH * W].as_chunks::<KW>();
            // 32-bit index arithmetic (the check in `VALID` bounds IN), so that it
            // vectorises as wide as the values.
            let mut first = (c * H * W) as u32;
            for ((h, hi), t) in h.iter_mut().zip(hi.iter_mut()).zip(taps) {
                let (mut m, mut at) = (t[0], first);
                for (kx, &v) in (1u32..).zip(&t[1..]) {
                    if wins(v, m) {
                        (m, at) = (v, first + kx);
                    }
                }
                (*h, *hi) = (m, at);
                first += KW as u32;
            }
        }
        for k in 0..(OH * KH * C - (KH - 1)) * OW {
            let (mut m, mut at) = (h[k], hi[k]);
            for ky in 1..KH {
                // Both loaded unconditionally: a load under the condition became a gather.
                let (v, vi) = (h[k + ky * OW], hi[k + ky * OW]);
                if wins(v, m) {
                    (m, at) = (v, vi);
                }
            }
            (h[k], hi[k]) = (m, at);
        }
        let (ys, args) = (y.chunks_exact_mut(OW), arg.chunks_exact_mut(OW));
        for (r, (y, arg)) in ys.zip(args).enumerate() {
            y.copy_from_slice(&h[r * KH * OW..][..OW]);
            arg.copy_from_slice(&hi[r * KH * OW..][..OW]);
        }
    }
}
