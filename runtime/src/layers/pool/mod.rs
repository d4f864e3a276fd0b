//! Windowed 2-D pooling over each channel: max pooling (backward through the argmax) and
//! average pooling, with PyTorch's `ceil_mode`, `count_include_pad` and a padding of its own
//! on each side.
//!
//! Shapes: x ∈ ℝ^(C×H×W) → y ∈ ℝ^(C×OH×OW), flat in (channel, row, column) order. The input
//! is padded with PT rows on top, PB at the bottom, PL columns on the left and PR on the
//! right; output (i, j) pools the window of padded rows `i·SH .. i·SH + KH` and columns
//! `j·SW .. j·SW + KW`. Along each axis (rows shown, columns alike) the output size is one of
//! PyTorch's two:
//!
//! - floor mode (`ceil_mode=False`): `OH = ⌊(H + PT + PB − KH) / SH⌋ + 1`;
//! - ceil mode (`ceil_mode=True`): `OH = ⌈(H + PT + PB − KH) / SH⌉ + 1`, less one if the last
//!   window would start past the input and its top padding (`(OH − 1)·SH ≥ H + PT`), so that
//!   every window starts inside the input or the top padding.
//!
//! The types carry no ceil flag: `OH` and `OW` say which mode each axis is in. In ceil mode the
//! last window may run past the bottom (right) padding; it is clipped there.
//!
//! - Max: `y = max` over the window's positions inside the real input: padding counts as −∞,
//!   so it never wins. Training records the flat input index of each maximum (the first one on
//!   ties; a NaN wins, the last one if several, as in PyTorch); backward sends `δ[i, j]` to
//!   that input, adding up where windows overlap.
//! - Average: `y = (Σ window's real inputs) / d`, with PyTorch's divisor d (its CPU kernel
//!   `cpu_avg_pool` in `AvgPoolKernel.cpp` counts the window before clipping it to the input):
//!   - `COUNT_PAD = true` (`count_include_pad=True`, the default): d counts the window's
//!     positions inside the *padded* input,
//!     `d = (min(i·SH + KH, H + PT + PB) − i·SH) · (min(j·SW + KW, W + PL + PR) − j·SW)`:
//!     padding counts as zeros, positions past the padding (a ceil-mode overhang) do not count;
//!   - `COUNT_PAD = false`: d counts the window's real inputs only.
//!
//!   Backward spreads `δ[i, j] / d` over the window's real inputs.
//!
//! Each padding is at most half its window (`PT, PB ≤ KH/2`, `PL, PR ≤ KW/2`), as PyTorch
//! requires; with the ceil-mode rule this guarantees every window holds at least one real
//! input, so a maximum exists and d > 0.
//!
//! Non-overlapping windows that tile the input exactly (no padding, stride = window, no
//! ceil-mode overhang: LeNet's 2×2 pools) take the two-pass max kernels of `tiled.rs`.

mod tiled;

/// `MaxPool` (padding never wins: ONNX pads max pooling with −∞, as the runtime does).
impl<
        T,
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
    > crate::onnx::ToOnnx<T>
    for MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        pool2d(
            g,
            site,
            "MaxPool",
            [KH, KW, SH, SW, PT, PB, PL, PR, H, W, OH, OW],
            None,
        );
    }
}

/// `AveragePool`, with `count_include_pad` as the layer's.
impl<
        T,
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
        const COUNT_PAD: bool,
    > crate::onnx::ToOnnx<T>
    for AvgPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT, COUNT_PAD>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let count = Some(COUNT_PAD as i64);
        pool2d(
            g,
            site,
            "AveragePool",
            [KH, KW, SH, SW, PT, PB, PL, PR, H, W, OH, OW],
            count,
        );
    }
}

/// A 2-D pooling node from the window, strides, pads and sizes (ceil mode when the output
/// has the extra window).
fn pool2d<T>(
    g: &mut dyn crate::onnx::Graph<T>,
    site: &crate::onnx::Site<'_>,
    op: &str,
    [kh, kw, sh, sw, pt, pb, pl, pr, h, w, oh, ow]: [usize; 12],
    count_include_pad: Option<i64>,
) {
    use crate::onnx::{ceil_mode, Attr};
    let i = |v: usize| v as i64;
    let ceil = ceil_mode(h, pt + pb, kh, sh, oh) || ceil_mode(w, pl + pr, kw, sw, ow);
    let (kernel, strides, pads) = ([i(kh), i(kw)], [i(sh), i(sw)], [i(pt), i(pl), i(pb), i(pr)]);
    let mut attrs = [
        Attr::Ints("kernel_shape", &kernel),
        Attr::Ints("strides", &strides),
        Attr::Ints("pads", &pads),
        Attr::Int("ceil_mode", ceil as i64),
        Attr::Int("count_include_pad", 0),
    ];
    let n = match count_include_pad {
        Some(count) => {
            attrs[4] = Attr::Int("count_include_pad", count);
            5
        }
        None => 4,
    };
    g.node(op, &[site.input], &[site.output], &attrs[..n]);
}

#[cfg(test)]
mod tests;

use crate::{Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// PyTorch's output sizes along one axis of `n` inputs padded by `lo` and `hi`, window `k`,
/// stride `s`: `(floor mode, ceil mode)`. Needs `k ≤ n + lo + hi` and `s > 0`.
const fn out_sizes(n: usize, k: usize, s: usize, lo: usize, hi: usize) -> (usize, usize) {
    let span = n + lo + hi - k;
    let floor = span / s + 1;
    let ceil = span.div_ceil(s) + 1;
    // The last window must start inside the input or the low padding (PyTorch's
    // `pooling_output_shape`): a window of padding alone would have nothing to pool.
    let ceil = if (ceil - 1) * s >= n + lo {
        ceil - 1
    } else {
        ceil
    };
    (floor, ceil)
}

/// Checks a pooling layer's dimensions; both kinds share the rules.
#[allow(clippy::too_many_arguments)]
const fn check_dims(
    c: usize,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (pt, pb, pl, pr): (usize, usize, usize, usize),
    (oh, ow): (usize, usize),
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
        pt <= kh / 2 && pb <= kh / 2 && pl <= kw / 2 && pr <= kw / 2,
        "pooling: padding must be at most half the window (`PT, PB ≤ KH/2`, `PL, PR ≤ KW/2`)"
    );
    assert!(
        kh <= h + pt + pb,
        "pooling: window height `KH` exceeds the padded input height `H + PT + PB`"
    );
    assert!(
        kw <= w + pl + pr,
        "pooling: window width `KW` exceeds the padded input width `W + PL + PR`"
    );
    let (floor_h, ceil_h) = out_sizes(h, kh, sh, pt, pb);
    assert!(
        oh == floor_h || oh == ceil_h,
        "pooling: `OH` must be `⌊(H + PT + PB − KH) / SH⌋ + 1` (floor mode) or \
         `⌈(H + PT + PB − KH) / SH⌉ + 1`, less one if `(OH − 1)·SH ≥ H + PT` (ceil mode)"
    );
    let (floor_w, ceil_w) = out_sizes(w, kw, sw, pl, pr);
    assert!(
        ow == floor_w || ow == ceil_w,
        "pooling: `OW` must be `⌊(W + PL + PR − KW) / SW⌋ + 1` (floor mode) or \
         `⌈(W + PL + PR − KW) / SW⌉ + 1`, less one if `(OW − 1)·SW ≥ W + PL` (ceil mode)"
    );
    assert!(inp == c * h * w, "pooling: `IN` must be `C·H·W`");
    assert!(out == c * oh * ow, "pooling: `OUT` must be `C·OH·OW`");
    assert!(
        inp <= u32::MAX as usize,
        "pooling: the input must have fewer than 2³² values"
    );
}

/// One window along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// The real inputs `lo..hi` it covers.
    pub(crate) lo: usize,
    pub(crate) hi: usize,
    /// How many of its positions lie inside the padded input (the `count_include_pad` count).
    padded: usize,
}

impl Span {
    /// The window of output `o` among `outs` along an axis of `n` inputs padded by `pad_lo`
    /// and `pad_hi`, window `k`, stride `s`: padded positions `o·s .. o·s + k`, clipped to the
    /// padded input for `padded` and to the real input for `lo..hi`.
    #[inline(always)]
    fn of(
        o: usize,
        outs: usize,
        s: usize,
        k: usize,
        pad_lo: usize,
        pad_hi: usize,
        n: usize,
    ) -> Span {
        let start = o * s;
        if pad_lo == 0 && (outs - 1) * s + k <= n {
            // Every window lies inside the input (all arguments but `o` are constants, so
            // this folds away): a constant trip count, and a constant divisor.
            Span {
                lo: start,
                hi: start + k,
                padded: k,
            }
        } else {
            let end = start + k;
            Span {
                lo: start.max(pad_lo) - pad_lo,
                hi: end.min(n + pad_lo) - pad_lo,
                padded: end.min(n + pad_lo + pad_hi) - start,
            }
        }
    }

    /// The number of real inputs.
    #[inline(always)]
    fn len(self) -> usize {
        self.hi - self.lo
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
/// // C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT
/// type Pool = MaxPool2d<6, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, 14, 14, 4704, 1176>;
/// let x = SVector::<f32, 4704>::from_fn(|i, _| i as f32);
/// let mut y = SVector::zeros();
/// Pool::default().forward(&x, &mut y);
/// assert_eq!(y[0], 29.0); // max of x[0], x[1], x[28], x[29]
///
/// // Ceil mode: 5×5 → 3×3 (floor mode would give 2×2); the last row and column of windows
/// // hold one input row (column) each.
/// type Ceil = MaxPool2d<1, 5, 5, 2, 2, 2, 2, 0, 0, 0, 0, 3, 3, 25, 9>;
/// let x = SVector::<f32, 25>::from_fn(|i, _| i as f32);
/// let mut y = SVector::zeros();
/// Ceil::default().forward(&x, &mut y);
/// assert_eq!(y.as_slice(), [6.0, 8.0, 9.0, 16.0, 18.0, 19.0, 21.0, 23.0, 24.0]);
/// ```
///
/// The dimension check also runs when the layer is used as a bare unit value (here `OH`
/// should be 2):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::MaxPool2d;
/// # use stacknet_runtime::nalgebra::SVector;
/// # use stacknet_runtime::Layer;
/// let pool = MaxPool2d::<1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 3, 2, 16, 6>;
/// let mut y = SVector::<f32, 6>::zeros();
/// pool.forward(&SVector::zeros(), &mut y);
/// ```
///
/// Ceil mode drops a last window that would start in the bottom padding: 3 rows padded by 1,
/// windows of 2 at stride 2 give `⌈(3 + 2 − 2) / 2⌉ + 1 = 3` rows, less one since
/// `(3 − 1)·2 ≥ 3 + 1`, so 2 in both modes and 3 is refused:
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::MaxPool2d;
/// # use stacknet_runtime::nalgebra::SVector;
/// # use stacknet_runtime::Layer;
/// let pool = MaxPool2d::<1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 3, 3, 9, 9>;
/// let mut y = SVector::<f32, 9>::zeros();
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
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
>;

/// Average pooling with a `KH × KW` window; `COUNT_PAD` is PyTorch's `count_include_pad`
/// (whether padding counts in the divisor); see the module docs. A unit value: `AvgPool2d`.
///
/// ```
/// use stacknet_runtime::layers::AvgPool2d;
/// use stacknet_runtime::nalgebra::SVector;
/// use stacknet_runtime::Layer;
///
/// // 3×3 windows at stride 2 over a 4×4 image of ones padded by 1, ceil mode: 3×3 outputs.
/// // The corner window holds 4 ones among 9 padded positions; the last one runs a row and a
/// // column past the padding, which do not count: 1 one among 2·2 positions.
/// type Pad = AvgPool2d<1, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3, 16, 9>;
/// type NoPad = AvgPool2d<1, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3, 16, 9, false>;
/// let x = SVector::<f64, 16>::repeat(1.0);
/// let mut y = SVector::zeros();
/// Pad::default().forward(&x, &mut y);
/// assert_eq!((y[0], y[1], y[8]), (4.0 / 9.0, 6.0 / 9.0, 1.0 / 4.0));
/// NoPad::default().forward(&x, &mut y);
/// assert_eq!(y, SVector::<f64, 9>::repeat(1.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d<
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
    const COUNT_PAD: bool = true,
>;

crate::no_params!(MaxPool2d<; const C: usize; const H: usize; const W: usize; const KH: usize;
    const KW: usize; const SH: usize; const SW: usize; const PT: usize; const PB: usize;
    const PL: usize; const PR: usize; const OH: usize; const OW: usize; const IN: usize;
    const OUT: usize>);
crate::no_params!(AvgPool2d<; const C: usize; const H: usize; const W: usize; const KH: usize;
    const KW: usize; const SH: usize; const SW: usize; const PT: usize; const PB: usize;
    const PL: usize; const PR: usize; const OH: usize; const OW: usize; const IN: usize;
    const OUT: usize; const COUNT_PAD: bool>);

/// The shared impls of both pooling kinds: dimension check, window walk, `Zeros`, `Default`.
/// `$flag` is average pooling's trailing `COUNT_PAD`.
macro_rules! pool_common {
    ($ty:ident $(, $flag:ident)?) => {
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
                $(const $flag: bool,)?
            > $ty<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT $(, $flag)?>
        {
            const VALID: () = check_dims(
                C,
                (H, W),
                (KH, KW),
                (SH, SW),
                (PT, PB, PL, PR),
                (OH, OW),
                IN,
                OUT,
            );

            /// Calls `f(o, rows, cols, plane)` for every output `o`, with the row and column
            /// spans of its window and the offset of its channel's plane in `x`.
            #[inline(always)]
            pub(crate) fn for_each_window(mut f: impl FnMut(usize, Span, Span, usize)) {
                #[allow(clippy::let_unit_value)]
                let () = Self::VALID;
                let mut o = 0;
                for c in 0..C {
                    for oh in 0..OH {
                        let rows = Span::of(oh, OH, SH, KH, PT, PB, H);
                        for ow in 0..OW {
                            f(o, rows, Span::of(ow, OW, SW, KW, PL, PR, W), c * H * W);
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
                const PT: usize,
                const PB: usize,
                const PL: usize,
                const PR: usize,
                const OH: usize,
                const OW: usize,
                const IN: usize,
                const OUT: usize,
                $(const $flag: bool,)?
            > Zeros for $ty<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT $(, $flag)?>
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
                const PT: usize,
                const PB: usize,
                const PL: usize,
                const PR: usize,
                const OH: usize,
                const OW: usize,
                const IN: usize,
                const OUT: usize,
                $(const $flag: bool,)?
            > Default for $ty<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT $(, $flag)?>
        {
            fn default() -> Self {
                Self::zeros()
            }
        }
    };
}

pool_common!(MaxPool2d);
pool_common!(AvgPool2d, COUNT_PAD);

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
    /// Forward, recording the argmax indices when `arg` is given.
    #[inline(always)]
    fn run<T: Scalar>(x: &[T], y: &mut [T], arg: Option<&mut [u32; OUT]>) {
        match arg {
            _ if !Self::TILED => Self::run_windows(x, y, arg),
            Some(arg) => Self::run_tiled_argmax(x, y, arg),
            None => Self::run_tiled(x, y),
        }
    }

    /// [`run`](Self::run) for any windows: one output at a time, each window clipped to the
    /// image.
    #[inline(always)]
    fn run_windows<T: Scalar>(x: &[T], y: &mut [T], mut arg: Option<&mut [u32; OUT]>) {
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        Self::for_each_window(|o, rows, cols, plane| {
            let img = &x[plane..][..H * W];
            let (w0, w1) = (cols.lo, cols.hi);
            let mut best = rows.lo * W + w0;
            let mut m = img[best];
            let mut nan = false;
            for ih in rows.lo..rows.hi {
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
                for ih in rows.lo..rows.hi {
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
    > Layer<T> for MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>
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
            // Inputs that win no window get zero: the buffer may hold anything on entry.
            dx.fill(T::zero());
            for (&i, &d) in rec.iter().zip(dy.as_slice()) {
                dx[i as usize] += d;
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
        const COUNT_PAD: bool,
    > AvgPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT, COUNT_PAD>
{
    /// The divisor of a window (see the module docs). It is a constant `KH·KW` when every
    /// window lies inside the input, as [`Span::of`] then folds.
    #[inline(always)]
    fn divisor<T: Scalar>(rows: Span, cols: Span) -> T {
        let d = if COUNT_PAD {
            rows.padded * cols.padded
        } else {
            rows.len() * cols.len()
        };
        T::of(d as f64)
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
        const COUNT_PAD: bool,
    > Layer<T> for AvgPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT, COUNT_PAD>
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
        Self::for_each_window(|o, rows, cols, plane| {
            let mut s = T::zero();
            for ih in rows.lo..rows.hi {
                for &v in &x[plane + ih * W..][cols.lo..cols.hi] {
                    s += v;
                }
            }
            // Divide (rather than multiply by a reciprocal) to round exactly as PyTorch does.
            y[o] = s / Self::divisor::<T>(rows, cols);
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
            // Windows overlap or leave gaps, so accumulate from zero: the buffer may hold
            // anything on entry.
            dx.fill(T::zero());
            Self::for_each_window(|o, rows, cols, plane| {
                let g = dy[o] / Self::divisor::<T>(rows, cols);
                for ih in rows.lo..rows.hi {
                    for v in &mut dx[plane + ih * W..][cols.lo..cols.hi] {
                        *v += g;
                    }
                }
            });
        }
    }
}
