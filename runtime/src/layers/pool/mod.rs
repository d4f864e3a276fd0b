//! Windowed 2-D pooling over each channel: max pooling (backward through the argmax) and
//! average pooling (PyTorch's `count_include_pad=True`).
//!
//! Shapes: x ∈ ℝ^(C×H×W) → y ∈ ℝ^(C×OH×OW), flat in (channel, row, column) order, with
//! `OH = ⌊(H + 2·PH − KH) / SH⌋ + 1` (OW likewise). Output (i, j) pools the window of padded
//! rows `i·SH .. i·SH + KH` and columns `j·SW .. j·SW + KW`; the padding is PH rows above and
//! below, PW columns left and right.
//!
//! - Max: `y = max` over the window's real inputs: padding counts as −∞, so it never wins.
//!   Training records the flat input index of each maximum (the first one on ties; a NaN
//!   wins, the last one if several, as in PyTorch); backward sends `δ[i, j]` to that input, adding up where windows overlap.
//! - Average: `y = (Σ window's real inputs) / (KH·KW)`: padding counts as zeros *in the
//!   divisor too*, PyTorch's default; backward spreads `δ[i, j] / (KH·KW)` over the window's
//!   real inputs.
//!
//! Padding is at most half the window (`PH ≤ KH/2`, `PW ≤ KW/2`), as PyTorch requires, which
//! guarantees every window holds at least one real input.

use crate::{Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// Checks a pooling layer's dimensions; both kinds share the rules.
#[allow(clippy::too_many_arguments)]
const fn check_dims(
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
    inp: usize,
    out: usize,
) {
    assert!(
        c > 0 && h > 0 && w > 0,
        "pooling: channels and sizes must be positive"
    );
    assert!(kh > 0 && kw > 0, "pooling: window sizes must be positive");
    assert!(sh > 0 && sw > 0, "pooling: strides must be positive");
    assert!(
        ph <= kh / 2 && pw <= kw / 2,
        "pooling: padding must be at most half the window"
    );
    assert!(
        kh <= h + 2 * ph,
        "pooling: window height `KH` exceeds the padded input height"
    );
    assert!(
        kw <= w + 2 * pw,
        "pooling: window width `KW` exceeds the padded input width"
    );
    assert!(
        oh == (h + 2 * ph - kh) / sh + 1,
        "pooling: `OH` must be `(H + 2·PH − KH) / SH + 1`"
    );
    assert!(
        ow == (w + 2 * pw - kw) / sw + 1,
        "pooling: `OW` must be `(W + 2·PW − KW) / SW + 1`"
    );
    assert!(inp == c * h * w, "pooling: `IN` must be `C·H·W`");
    assert!(out == c * oh * ow, "pooling: `OUT` must be `C·OH·OW`");
    assert!(
        inp <= u32::MAX as usize,
        "pooling: the input must have fewer than 2³² values"
    );
}

/// The real input rows (or columns) `lo..hi` of the window of output `o`: padded positions
/// `o·s .. o·s + k`, shifted by the padding and clipped to `0..n`.
#[inline(always)]
fn window(o: usize, s: usize, k: usize, pad: usize, n: usize) -> (usize, usize) {
    let start = o * s;
    if pad == 0 {
        // The dimension check guarantees the window fits: a constant trip count.
        (start, start + k)
    } else {
        (start.max(pad) - pad, (start + k).min(n + pad) - pad)
    }
}

/// Whether `v` replaces `m` as a window's maximum: when strictly greater (so the first maximum
/// wins ties), or when NaN (so a NaN wins, the last one if several: PyTorch's rule).
#[inline(always)]
fn wins<T: Scalar>(v: T, m: T) -> bool {
    #[allow(clippy::eq_op)]
    let nan = v != v;
    v > m || nan
}

/// Max pooling with a `KH × KW` window; see the module docs. A unit value: `MaxPool2d`.
///
/// ```
/// use stacknet_runtime::layers::MaxPool2d;
/// use stacknet_runtime::nalgebra::SVector;
/// use stacknet_runtime::Layer;
///
/// // LeNet's first pooling: 6×28×28 → 6×14×14, 2×2 windows at stride 2.
/// // C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT
/// type Pool = MaxPool2d<6, 28, 28, 2, 2, 2, 2, 0, 0, 14, 14, 4704, 1176>;
/// let x = SVector::<f32, 4704>::from_fn(|i, _| i as f32);
/// let mut y = SVector::zeros();
/// Pool::default().forward(&x, &mut y);
/// assert_eq!(y[0], 29.0); // max of x[0], x[1], x[28], x[29]
/// ```
///
/// The dimension check also runs when the layer is used as a bare unit value (here `OH`
/// should be 2):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::MaxPool2d;
/// # use stacknet_runtime::nalgebra::SVector;
/// # use stacknet_runtime::Layer;
/// let pool = MaxPool2d::<1, 4, 4, 2, 2, 2, 2, 0, 0, 3, 2, 16, 6>;
/// let mut y = SVector::<f32, 6>::zeros();
/// pool.forward(&SVector::zeros(), &mut y);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
>;

/// Average pooling with a `KH × KW` window, padding counted in the divisor; see the module
/// docs. A unit value: `AvgPool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
>;

crate::no_params!(MaxPool2d<; const C: usize; const H: usize; const W: usize; const KH: usize;
    const KW: usize; const SH: usize; const SW: usize; const PH: usize; const PW: usize;
    const OH: usize; const OW: usize; const IN: usize; const OUT: usize>);
crate::no_params!(AvgPool2d<; const C: usize; const H: usize; const W: usize; const KH: usize;
    const KW: usize; const SH: usize; const SW: usize; const PH: usize; const PW: usize;
    const OH: usize; const OW: usize; const IN: usize; const OUT: usize>);

/// The shared impls of both pooling kinds: dimension check, `Zeros`, `Default`.
macro_rules! pool_common {
    ($ty:ident) => {
        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PH: usize,
                const PW: usize,
                const OH: usize,
                const OW: usize,
                const IN: usize,
                const OUT: usize,
            > $ty<C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT>
        {
            const VALID: () = check_dims(C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT);

            /// Calls `f(o, lo_row..hi_row, lo_col..hi_col, plane)` for every output `o`, with
            /// the real input window of `o` and the offset of its channel's plane in `x`.
            #[inline(always)]
            fn for_each_window(mut f: impl FnMut(usize, (usize, usize), (usize, usize), usize)) {
                #[allow(clippy::let_unit_value)]
                let () = Self::VALID;
                let mut o = 0;
                for c in 0..C {
                    for oh in 0..OH {
                        let rows = window(oh, SH, KH, PH, H);
                        for ow in 0..OW {
                            f(o, rows, window(ow, SW, KW, PW, W), c * H * W);
                            o += 1;
                        }
                    }
                }
            }
        }

        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PH: usize,
                const PW: usize,
                const OH: usize,
                const OW: usize,
                const IN: usize,
                const OUT: usize,
            > Zeros for $ty<C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT>
        {
            fn zeros() -> Self {
                #[allow(clippy::let_unit_value)]
                let () = Self::VALID;
                $ty
            }
        }

        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PH: usize,
                const PW: usize,
                const OH: usize,
                const OW: usize,
                const IN: usize,
                const OUT: usize,
            > Default for $ty<C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT>
        {
            fn default() -> Self {
                Self::zeros()
            }
        }
    };
}

pool_common!(MaxPool2d);
pool_common!(AvgPool2d);

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
    > MaxPool2d<C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT>
{
    /// Whether the windows tile the input exactly: no padding, no overlap, no gap, rows a whole
    /// number of windows wide (LeNet's 2×2 pools at stride 2 and most others).
    const TILED: bool = PH == 0 && PW == 0 && SH == KH && SW == KW && W == OW * KW;

    /// Forward, recording the argmax indices when `arg` is given.
    #[inline(always)]
    fn run<T: Scalar>(x: &[T], y: &mut [T], arg: Option<&mut [u32; OUT]>) {
        match arg {
            _ if !Self::TILED => Self::run_windows(x, y, arg),
            Some(arg) => Self::run_tiled_argmax(x, y, arg),
            None => Self::run_tiled(x, y),
        }
    }

    /// Forward of tiled windows ([`TILED`](Self::TILED)) in two passes, each one long loop over
    /// contiguous memory that vectorises: the maximum of every `KW` consecutive inputs, then of
    /// those `KH` rows apart. (Looping over output rows instead, the loop along a row is short
    /// enough that LLVM unrolls it and vectorises across rows, with gathers and scatters.)
    /// Same choices as [`run_windows`](Self::run_windows): the first maximum in row-major window
    /// order wins ties, and a NaN wins, the last one if several.
    ///
    /// The first pass keeps `KH` rows per output row, `KH·OUT` values: the first `OH·KH` rows
    /// of each channel (rows past the last window are never read).
    #[inline(always)]
    fn run_tiled<T: Scalar>(x: &[T], y: &mut [T]) {
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
    fn run_tiled_argmax<T: Scalar>(x: &[T], y: &mut [T], arg: &mut [u32; OUT]) {
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

    /// [`run`](Self::run) for any windows: one output at a time, each window clipped to the
    /// image.
    #[inline(always)]
    fn run_windows<T: Scalar>(x: &[T], y: &mut [T], mut arg: Option<&mut [u32; OUT]>) {
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        Self::for_each_window(|o, (h0, h1), (w0, w1), plane| {
            let img = &x[plane..][..H * W];
            let mut best = h0 * W + w0;
            let mut m = img[best];
            let mut nan = false;
            for ih in h0..h1 {
                for (iw, &v) in img[ih * W..][w0..w1].iter().enumerate() {
                    if v > m {
                        m = v;
                        best = ih * W + w0 + iw;
                    }
                    // Tested apart from the comparison above, which then stays a cheap
                    // select: folding `v != v` into it made the loop three times slower.
                    #[allow(clippy::eq_op)]
                    let is_nan = v != v;
                    nan |= is_nan;
                }
            }
            if nan {
                // PyTorch's rule: a NaN replaces any maximum, so the last NaN wins.
                for ih in h0..h1 {
                    for (iw, &v) in img[ih * W..][w0..w1].iter().enumerate() {
                        #[allow(clippy::eq_op)]
                        if v != v {
                            (m, best) = (v, ih * W + w0 + iw);
                        }
                    }
                }
            }
            y[o] = m;
            if let Some(arg) = arg.as_deref_mut() {
                arg[o] = (plane + best) as u32;
            }
        });
    }
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
    > Layer<T> for MaxPool2d<C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    /// The flat input index of each output's maximum.
    type Record = [u32; OUT];
    type Grad = NoParams;
    const KIND: &'static str = "max_pool2d";
    const MACS: usize = 0;
    /// The first pass of tiled windows: `KH` values per output.
    const SCRATCH_BYTES: usize = if Self::TILED { KH * OUT * T::BYTES } else { 0 };

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        Self::run(x.as_slice(), y.as_mut_slice(), None);
    }

    #[inline]
    fn forward_train(&mut self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>, rec: &mut [u32; OUT]) {
        Self::run(x.as_slice(), y.as_mut_slice(), Some(rec));
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, OUT>,
        rec: &[u32; OUT],
        dy: &SVector<T, OUT>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        if let Some(dx) = dx {
            let dx = dx.as_mut_slice();
            dx.fill(T::zero());
            for (&i, &d) in rec.iter().zip(dy.as_slice()) {
                dx[i as usize] += d;
            }
        }
    }
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
    > Layer<T> for AvgPool2d<C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "avg_pool2d";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        let (x, y) = (x.as_slice(), y.as_mut_slice());
        // Divide (rather than multiply by a reciprocal) to round exactly as PyTorch does.
        let count = T::of((KH * KW) as f64);
        Self::for_each_window(|o, (h0, h1), (w0, w1), plane| {
            let mut s = T::zero();
            for ih in h0..h1 {
                for &v in &x[plane + ih * W..][w0..w1] {
                    s += v;
                }
            }
            y[o] = s / count;
        });
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, OUT>,
        _rec: &NoRecord,
        dy: &SVector<T, OUT>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let dx = dx.as_mut_slice();
            dx.fill(T::zero());
            let count = T::of((KH * KW) as f64);
            Self::for_each_window(|o, (h0, h1), (w0, w1), plane| {
                let g = dy[o] / count;
                for ih in h0..h1 {
                    for v in &mut dx[plane + ih * W..][w0..w1] {
                        *v += g;
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::rng::SplitMix64;
    use crate::Params;
    use rand_core::RngCore;

    /// OH = (H + 2·PH − KH) / SH + 1, written out independently of the layer.
    const fn out(i: usize, k: usize, s: usize, p: usize) -> usize {
        (i + 2 * p - k) / s + 1
    }

    /// The pool type for a (C, H, W) input, window (KH, KW), stride, padding.
    macro_rules! pool {
        ($kind:ident; $c:literal, $h:literal, $w:literal; k($kh:literal, $kw:literal)
         s($sh:literal, $sw:literal) p($ph:literal, $pw:literal)) => {
            $kind<
                $c,
                $h,
                $w,
                $kh,
                $kw,
                $sh,
                $sw,
                $ph,
                $pw,
                { out($h, $kh, $sh, $ph) },
                { out($w, $kw, $sw, $pw) },
                { $c * $h * $w },
                { $c * out($h, $kh, $sh, $ph) * out($w, $kw, $sw, $pw) },
            >
        };
    }

    fn vec<const N: usize>(v: [f64; N]) -> SVector<f64, N> {
        SVector::from(v)
    }

    #[test]
    fn max_pool_by_hand() {
        // Two 4×4 channels, 2×2 windows at stride 2.
        #[rustfmt::skip]
        let x = vec([
            1.0, 3.0, 2.0, 0.0,
            4.0, 2.0, 1.0, 5.0,
            0.0, 0.0, 9.0, 8.0,
            7.0, 6.0, 1.0, 1.0,
            // channel 1
            -1.0, -2.0, -3.0, -4.0,
            -5.0, -6.0, -7.0, -0.5,
            -9.0, -8.0, -7.0, -6.0,
            -5.0, -4.0, -3.0, -2.0,
        ]);
        let mut pool = <pool!(MaxPool2d; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0))>::default();
        let mut y = SVector::zeros();
        let mut arg = [0u32; 8];
        Layer::<f64>::forward_train(&mut pool, &x, &mut y, &mut arg);
        assert_eq!(y, vec([4.0, 5.0, 7.0, 9.0, -1.0, -0.5, -4.0, -2.0]));
        assert_eq!(arg, [4, 7, 12, 10, 16, 23, 29, 31]);
        let mut y2 = SVector::zeros();
        pool.forward(&x, &mut y2);
        assert_eq!(y2, y);

        let dy = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let mut dx = SVector::repeat(f64::NAN);
        pool.backward(&x, &y, &arg, &dy, Some(&mut dx), &mut NoParams);
        let mut want = [0.0; 32];
        for (i, d) in [
            (4, 1.0),
            (7, 2.0),
            (12, 3.0),
            (10, 4.0),
            (16, 5.0),
            (23, 6.0),
            (29, 7.0),
            (31, 8.0),
        ] {
            want[i] = d;
        }
        assert_eq!(dx, vec(want));
    }

    #[test]
    fn max_pool_overlapping_windows_accumulate() {
        // 2×2 windows at stride 1 over a 3×3 image: the centre 9 wins all four windows.
        let x = vec([1.0, 2.0, 3.0, 4.0, 9.0, 5.0, 6.0, 7.0, 8.0]);
        let mut pool = <pool!(MaxPool2d; 1, 3, 3; k(2, 2) s(1, 1) p(0, 0))>::default();
        let (mut y, mut arg) = (SVector::zeros(), [0u32; 4]);
        Layer::<f64>::forward_train(&mut pool, &x, &mut y, &mut arg);
        assert_eq!(y, vec([9.0; 4]));
        assert_eq!(arg, [4; 4]);
        let mut dx = SVector::zeros();
        pool.backward(
            &x,
            &y,
            &arg,
            &vec([1.0, 2.0, 3.0, 4.0]),
            Some(&mut dx),
            &mut NoParams,
        );
        assert_eq!(dx, vec([0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0]));
    }

    #[test]
    fn max_pool_padding_never_wins() {
        // 3×3 windows, stride 2, padding 1 over an all-negative 3×3 image: zero padding would
        // give 0 everywhere; −∞ padding gives the largest real value of each window.
        let x = vec([-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0]);
        let mut pool = <pool!(MaxPool2d; 1, 3, 3; k(3, 3) s(2, 2) p(1, 1))>::default();
        let (mut y, mut arg) = (SVector::zeros(), [0u32; 4]);
        Layer::<f64>::forward_train(&mut pool, &x, &mut y, &mut arg);
        // Windows: rows/cols {0,1}×{0,1}, {0,1}×{1,2}, {1,2}×{0,1}, {1,2}×{1,2}.
        assert_eq!(y, vec([-1.0, -2.0, -4.0, -5.0]));
        assert_eq!(arg, [0, 1, 3, 4]);
    }

    /// The textbook max pooling, one window at a time in row-major order: the first maximum
    /// wins, a NaN beats everything and the last NaN wins; padding is skipped.
    #[allow(clippy::too_many_arguments)]
    fn reference_max(
        x: &[f64],
        (c, h, w): (usize, usize, usize),
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (ph, pw): (usize, usize),
    ) -> (std::vec::Vec<f64>, std::vec::Vec<u32>) {
        let (oh, ow) = (out(h, kh, sh, ph), out(w, kw, sw, pw));
        let (mut y, mut arg) = (std::vec::Vec::new(), std::vec::Vec::new());
        for ch in 0..c {
            for i in 0..oh {
                for j in 0..ow {
                    let mut best: Option<(f64, usize)> = None;
                    for u in 0..kh {
                        for v in 0..kw {
                            let (r, q) = (
                                (i * sh + u) as isize - ph as isize,
                                (j * sw + v) as isize - pw as isize,
                            );
                            if r < 0 || q < 0 || r >= h as isize || q >= w as isize {
                                continue;
                            }
                            let at = (ch * h + r as usize) * w + q as usize;
                            let val = x[at];
                            let take = match best {
                                None => true,
                                Some((m, _)) => val.is_nan() || (!m.is_nan() && val > m),
                            };
                            if take {
                                best = Some((val, at));
                            }
                        }
                    }
                    let (m, at) = best.unwrap();
                    y.push(m);
                    arg.push(at as u32);
                }
            }
        }
        (y, arg)
    }

    /// Forward (with and without the record) against [`reference_max`] on inputs drawn from a
    /// few values, so that windows hold ties, and some NaNs.
    macro_rules! max_case {
        ($rng:expr; $c:literal, $h:literal, $w:literal; k($kh:literal, $kw:literal)
         s($sh:literal, $sw:literal) p($ph:literal, $pw:literal)) => {{
    type L = pool!(MaxPool2d; $c, $h, $w; k($kh, $kw) s($sh, $sw) p($ph, $pw));
            for round in 0..20 {
                let x = SVector::<f64, { $c * $h * $w }>::from_fn(|_, _| {
                    let r = $rng.next_u64();
                    if round % 2 == 1 && r % 13 == 0 {
                        f64::NAN
                    } else {
                        (r % 4) as f64 - 1.0
                    }
                });
                let (want, want_arg) = reference_max(
                    x.as_slice(),
                    ($c, $h, $w),
                    ($kh, $kw),
                    ($sh, $sw),
                    ($ph, $pw),
                );
                let mut pool = L::default();
                let (mut y, mut y2, mut arg) = (SVector::zeros(), SVector::zeros(), [0u32; _]);
                pool.forward_train(&x, &mut y, &mut arg);
                pool.forward(&x, &mut y2);
                let same = |a: &[f64], b: &[f64]| {
                    a.iter()
                        .zip(b)
                        .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
                };
                assert!(same(y.as_slice(), &want), "{y:?} vs {want:?}");
                assert!(same(y2.as_slice(), &want));
                assert_eq!(&arg[..], &want_arg[..]);
            }
        }};
    }

    #[test]
    fn max_pool_matches_the_textbook_on_ties_and_nans() {
        let rng = &mut SplitMix64::new(41);
        // Tiled windows (the two-pass path), square and rectangular, with a leftover row.
        max_case!(rng; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0));
        max_case!(rng; 3, 6, 6; k(3, 3) s(3, 3) p(0, 0));
        max_case!(rng; 2, 4, 6; k(2, 3) s(2, 3) p(0, 0));
        max_case!(rng; 2, 5, 4; k(2, 2) s(2, 2) p(0, 0));
        max_case!(rng; 1, 3, 4; k(1, 4) s(1, 4) p(0, 0));
        max_case!(rng; 6, 28, 28; k(2, 2) s(2, 2) p(0, 0));
        max_case!(rng; 16, 10, 10; k(2, 2) s(2, 2) p(0, 0));
        // Window by window: overlap, gaps, leftover columns, padding.
        max_case!(rng; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1));
        max_case!(rng; 2, 5, 5; k(2, 2) s(2, 2) p(0, 0));
        max_case!(rng; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1));
        max_case!(rng; 2, 7, 7; k(2, 2) s(3, 3) p(0, 0));
    }

    #[test]
    fn max_pool_propagates_nan() {
        // A NaN beats every number, and a later NaN beats an earlier one (PyTorch's rule).
        let x = vec([f64::NAN, 3.0, f64::NAN, 2.0, 1.0, 2.0, 4.0, f64::NAN]);
        let (mut y, mut arg) = (SVector::<f64, 2>::zeros(), [0u32; 2]);
        let mut pool = <pool!(MaxPool2d; 2, 2, 2; k(2, 2) s(2, 2) p(0, 0))>::default();
        pool.forward_train(&x, &mut y, &mut arg);
        assert!(y[0].is_nan() && y[1].is_nan());
        assert_eq!(arg, [2, 7]);
    }

    #[test]
    fn avg_pool_counts_padding_in_the_divisor() {
        // 2×2 windows, stride 2, padding 1 over x = 1..9 (3×3): the windows hold the real
        // inputs {x00}, {x01, x02}, {x10, x20}, {x11, x12, x21, x22}, each divided by 4.
        let x = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        let pool = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(2, 2) p(1, 1))>::default();
        let mut y = SVector::zeros();
        Layer::<f64>::forward(&pool, &x, &mut y);
        assert_eq!(y, vec([0.25, 1.25, 2.75, 7.0]));
        let mut dx = SVector::zeros();
        let dy = vec([4.0, 8.0, 12.0, 16.0]);
        pool.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        assert_eq!(dx, vec([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 3.0, 4.0, 4.0]));
    }

    #[test]
    fn avg_pool_by_hand_with_rectangular_windows() {
        // One channel 2×4 and a second one; 1×2 windows at stride (1, 2): pairwise means.
        let x = vec([
            1.0, 3.0, 5.0, 9.0, 2.0, 2.0, -4.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0, 3.0, 8.0, 6.0,
        ]);
        let pool = <pool!(AvgPool2d; 2, 2, 4; k(1, 2) s(1, 2) p(0, 0))>::default();
        let mut y = SVector::zeros();
        Layer::<f64>::forward(&pool, &x, &mut y);
        assert_eq!(y, vec([2.0, 7.0, 2.0, -2.0, 0.5, 1.0, 3.0, 7.0]));
    }

    #[test]
    fn no_parameters() {
        type Max = pool!(MaxPool2d; 1, 4, 4; k(2, 2) s(2, 2) p(0, 0));
        assert_eq!(<Max as Params<f32>>::TENSORS, 0);
        assert_eq!(<Max as Layer<f32>>::MACS, 0);
        assert_eq!(core::mem::size_of::<<Max as Layer<f32>>::Record>(), 4 * 4);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(17);
        check_layer(
            &<pool!(MaxPool2d; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(MaxPool2d; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(MaxPool2d; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(MaxPool2d; 3, 4, 5; k(3, 2) s(1, 1) p(0, 1))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(AvgPool2d; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(AvgPool2d; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(AvgPool2d; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1))>::default(),
            &mut rng,
        );
        check_layer(
            &<pool!(AvgPool2d; 3, 4, 5; k(3, 2) s(1, 1) p(0, 1))>::default(),
            &mut rng,
        );
    }
}
