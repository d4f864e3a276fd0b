//! Windowed pooling over time, per feature, on a step-major sequence `[L, F]` (element
//! `[t·F + f]` is feature f of step t): `max_pool1d` and `avg_pool1d`, PyTorch's
//! `nn.MaxPool1d` and `nn.AvgPool1d` with the activation transposed.
//!
//! The input is padded with P steps on both sides; output step t pools padded steps
//! `t·S .. t·S + K`. The output length is one of PyTorch's two:
//!
//! - floor mode (`ceil_mode=False`): `OL = ⌊(L + 2P − K) / S⌋ + 1`;
//! - ceil mode (`ceil_mode=True`): `OL = ⌈(L + 2P − K) / S⌉ + 1`, less one if the last window
//!   would start past the input and its left padding (`(OL − 1)·S ≥ L + P`).
//!
//! The types carry no ceil flag: `OL` says which mode. In ceil mode the last window may run
//! past the right padding; it is clipped there.
//!
//! - Max: `y[t, f] = max` over the window's real steps (padding is −∞, never wins). Training
//!   records the flat input index of each maximum (the first on ties; a NaN wins, the last one
//!   if several, as in PyTorch); backward sends `δ[t, f]` there, adding up where windows
//!   overlap.
//! - Average: `y[t, f] = Σ window's real steps / d`, with PyTorch's divisor: `COUNT_PAD =
//!   true` (`count_include_pad=True`, the default) counts the window's positions inside the
//!   padded input, `min(t·S + K, L + 2P) − t·S`; `COUNT_PAD = false` counts its real steps.
//!   Backward spreads `δ[t, f] / d` over the window's real steps.
//!
//! The padding is at most half the window (`P ≤ K/2`), as PyTorch requires, so every window
//! holds a real step. A step's features are contiguous, so every loop runs along a whole row
//! of `F` features at a time.

use crate::{Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// Checks a 1-D pooling layer's dimensions; both kinds share the rules.
#[allow(clippy::too_many_arguments)]
const fn check_dims(
    l: usize,
    f: usize,
    k: usize,
    s: usize,
    p: usize,
    ol: usize,
    inp: usize,
    out: usize,
) {
    assert!(
        l > 0 && f > 0,
        "pool1d: steps and features must be positive"
    );
    assert!(k > 0, "pool1d: the window must be positive");
    assert!(s > 0, "pool1d: the stride must be positive");
    assert!(
        p <= k / 2,
        "pool1d: padding must be at most half the window (`P ≤ K/2`)"
    );
    assert!(
        k <= l + 2 * p,
        "pool1d: window `K` exceeds the padded input `L + 2P`"
    );
    let span = l + 2 * p - k;
    let floor = span / s + 1;
    let ceil = span.div_ceil(s) + 1;
    let ceil = if (ceil - 1) * s >= l + p {
        ceil - 1
    } else {
        ceil
    };
    assert!(
        ol == floor || ol == ceil,
        "pool1d: `OL` must be `⌊(L + 2P − K) / S⌋ + 1` (floor mode) or `⌈(L + 2P − K) / S⌉ + 1`, \
         less one if `(OL − 1)·S ≥ L + P` (ceil mode)"
    );
    assert!(inp == l * f, "pool1d: `IN` must be `L·F`");
    assert!(out == ol * f, "pool1d: `OUT` must be `OL·F`");
    assert!(
        inp <= u32::MAX as usize,
        "pool1d: the input must have fewer than 2³² values"
    );
}

/// The window of output step `t`: real steps `lo..hi`, and its positions inside the padded
/// input (the `count_include_pad` divisor).
#[inline(always)]
const fn window(t: usize, l: usize, k: usize, s: usize, p: usize) -> (usize, usize, usize) {
    let start = t * s;
    let end = start + k;
    let lo = start.saturating_sub(p);
    let hi = if end < l + p { end - p } else { l };
    let padded = if end < l + 2 * p {
        k
    } else {
        l + 2 * p - start
    };
    (lo, hi, padded)
}

/// Max pooling over time with a window of `K` steps; see the module docs. A unit value.
///
/// Parameters: steps `L`, features `F`, window `K`, stride `S`, padding `P` (both sides),
/// then the derived `OL` (floor or ceil mode), `IN = L·F`, `OUT = OL·F`.
///
/// ```
/// use stacknet_runtime::layers::MaxPool1d;
/// use stacknet_runtime::nalgebra::SVector;
/// use stacknet_runtime::Layer;
///
/// // L, F, K, S, P, OL, IN, OUT: 4 steps of 2 features, windows of 2 at stride 2.
/// let pool = MaxPool1d::<4, 2, 2, 2, 0, 2, 8, 4>;
/// let mut y = SVector::zeros();
/// pool.forward(&SVector::<f32, 8>::from([1., 8., 3., 2., 5., 4., 7., 6.]), &mut y);
/// assert_eq!(y.as_slice(), &[3., 8., 7., 6.]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool1d<
    const L: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OL: usize,
    const IN: usize,
    const OUT: usize,
>;

/// Average pooling over time with a window of `K` steps; `COUNT_PAD` is PyTorch's
/// `count_include_pad`. See the module docs. A unit value.
///
/// Parameters as [`MaxPool1d`]'s, then `COUNT_PAD` (default `true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool1d<
    const L: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OL: usize,
    const IN: usize,
    const OUT: usize,
    const COUNT_PAD: bool = true,
>;

crate::no_params!(MaxPool1d<; const L: usize; const F: usize; const K: usize; const S: usize;
    const P: usize; const OL: usize; const IN: usize; const OUT: usize>);
crate::no_params!(AvgPool1d<; const L: usize; const F: usize; const K: usize; const S: usize;
    const P: usize; const OL: usize; const IN: usize; const OUT: usize; const COUNT_PAD: bool>);

/// The shared impls of both kinds: dimension check, `Zeros`, `Default`.
macro_rules! pool1d_common {
    ($ty:ident $(, $flag:ident)?) => {
        impl<
                const L: usize,
                const F: usize,
                const K: usize,
                const S: usize,
                const P: usize,
                const OL: usize,
                const IN: usize,
                const OUT: usize,
                $(const $flag: bool,)?
            > $ty<L, F, K, S, P, OL, IN, OUT $(, $flag)?>
        {
            const VALID: () = check_dims(L, F, K, S, P, OL, IN, OUT);
        }

        impl<
                const L: usize,
                const F: usize,
                const K: usize,
                const S: usize,
                const P: usize,
                const OL: usize,
                const IN: usize,
                const OUT: usize,
                $(const $flag: bool,)?
            > Zeros for $ty<L, F, K, S, P, OL, IN, OUT $(, $flag)?>
        {
            fn zeros() -> Self {
                #[allow(clippy::let_unit_value)]
                let () = Self::VALID;
                $ty
            }
        }

        impl<
                const L: usize,
                const F: usize,
                const K: usize,
                const S: usize,
                const P: usize,
                const OL: usize,
                const IN: usize,
                const OUT: usize,
                $(const $flag: bool,)?
            > Default for $ty<L, F, K, S, P, OL, IN, OUT $(, $flag)?>
        {
            fn default() -> Self {
                Self::zeros()
            }
        }
    };
}

pool1d_common!(MaxPool1d);
pool1d_common!(AvgPool1d, COUNT_PAD);

impl<
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OL: usize,
        const IN: usize,
        const OUT: usize,
    > MaxPool1d<L, F, K, S, P, OL, IN, OUT>
{
    /// Forward, recording the flat input index of each maximum when `arg` is given.
    #[inline(always)]
    fn run<T: Scalar>(x: &[T], y: &mut [T], mut arg: Option<&mut [u32; OUT]>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        for (t, yr) in y.chunks_exact_mut(F).enumerate() {
            let (lo, hi, _) = window(t, L, K, S, P);
            yr.copy_from_slice(&x[lo * F..][..F]);
            let mut arg = arg.as_deref_mut().map(|a| &mut a[t * F..][..F]);
            if let Some(a) = arg.as_deref_mut() {
                for (f, a) in a.iter_mut().enumerate() {
                    *a = (lo * F + f) as u32;
                }
            }
            for r in lo + 1..hi {
                let xr = &x[r * F..][..F];
                for (f, (y, &v)) in yr.iter_mut().zip(xr).enumerate() {
                    #[allow(clippy::eq_op)]
                    let wins = v > *y || v != v;
                    if wins {
                        *y = v;
                        if let Some(a) = arg.as_deref_mut() {
                            a[f] = (r * F + f) as u32;
                        }
                    }
                }
            }
        }
    }
}

impl<
        T: Scalar,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OL: usize,
        const IN: usize,
        const OUT: usize,
    > Layer<T> for MaxPool1d<L, F, K, S, P, OL, IN, OUT>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    /// The flat input index of each output's maximum.
    type Record = [u32; OUT];
    type Grad = NoParams;
    const KIND: &'static str = "max_pool1d";
    const MACS: usize = 0;

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
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OL: usize,
        const IN: usize,
        const OUT: usize,
        const COUNT_PAD: bool,
    > Layer<T> for AvgPool1d<L, F, K, S, P, OL, IN, OUT, COUNT_PAD>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "avg_pool1d";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let x = x.as_slice();
        for (t, yr) in y.as_mut_slice().chunks_exact_mut(F).enumerate() {
            let (lo, hi, padded) = window(t, L, K, S, P);
            yr.copy_from_slice(&x[lo * F..][..F]);
            for r in lo + 1..hi {
                for (y, &v) in yr.iter_mut().zip(&x[r * F..][..F]) {
                    *y += v;
                }
            }
            let d = if COUNT_PAD { padded } else { hi - lo };
            let inv = T::one() / T::of(d as f64);
            for y in yr {
                *y *= inv;
            }
        }
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
            for (t, dr) in dy.as_slice().chunks_exact(F).enumerate() {
                let (lo, hi, padded) = window(t, L, K, S, P);
                let d = if COUNT_PAD { padded } else { hi - lo };
                let inv = T::one() / T::of(d as f64);
                for r in lo..hi {
                    for (dx, &g) in dx[r * F..][..F].iter_mut().zip(dr) {
                        *dx += g * inv;
                    }
                }
            }
        }
    }
}

/// `MaxPool` in one dimension between two `Transpose`s (see `Conv1d`'s).
impl<
        T,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OL: usize,
        const IN: usize,
        const OUT: usize,
    > crate::onnx::ToOnnx<T> for MaxPool1d<L, F, K, S, P, OL, IN, OUT>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        pool1d(g, site, "MaxPool", [K, S, P, L, OL], None);
    }
}

/// `AveragePool` in one dimension, with the layer's `count_include_pad`.
impl<
        T,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OL: usize,
        const IN: usize,
        const OUT: usize,
        const COUNT_PAD: bool,
    > crate::onnx::ToOnnx<T> for AvgPool1d<L, F, K, S, P, OL, IN, OUT, COUNT_PAD>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        pool1d(
            g,
            site,
            "AveragePool",
            [K, S, P, L, OL],
            Some(COUNT_PAD as i64),
        );
    }
}

fn pool1d<T>(
    g: &mut dyn crate::onnx::Graph<T>,
    site: &crate::onnx::Site<'_>,
    op: &str,
    [k, s, p, l, ol]: [usize; 5],
    count_include_pad: Option<i64>,
) {
    use crate::onnx::{ceil_mode, Attr};
    let i = |v: usize| v as i64;
    let ceil = ceil_mode(l, 2 * p, k, s, ol) as i64;
    let (kernel, strides, pads) = ([i(k)], [i(s)], [i(p), i(p)]);
    crate::onnx::over_channels(g, site, |g, x, y| {
        let attrs = [
            Attr::Ints("kernel_shape", &kernel),
            Attr::Ints("strides", &strides),
            Attr::Ints("pads", &pads),
            Attr::Int("ceil_mode", ceil),
            Attr::Int("count_include_pad", count_include_pad.unwrap_or(0)),
        ];
        let n = if count_include_pad.is_some() { 5 } else { 4 };
        g.node(op, &[x], &[y], &attrs[..n]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::layer::contract::check_overwrites;
    use crate::layers::sequence_fixtures as fx;
    use crate::rng::SplitMix64;
    use crate::Flat;

    fn assert_close(what: &str, found: &[f64], expected: &[f64]) {
        assert_eq!(found.len(), expected.len(), "{what}");
        for (i, (a, b)) in found.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{what}[{i}]: {a} vs PyTorch {b}"
            );
        }
    }

    /// Forward and input gradient of one fixture case against PyTorch.
    fn against<Lr: Layer<f64, Input: Flat<f64>> + Zeros>(name: &str, case: &fx::PoolCase) {
        let mut layer = Lr::zeros();
        let mut x = Lr::Input::zeros();
        x.flat_mut().copy_from_slice(case.x);
        let mut dy = Lr::Output::zeros();
        dy.flat_mut().copy_from_slice(case.dy);
        let (mut y, mut rec) = (Lr::Output::zeros(), Lr::Record::zeros());
        layer.forward_train(&x, &mut y, &mut rec);
        assert_close(&std::format!("{name} y"), y.flat(), case.y);
        let mut dx = Lr::Input::zeros();
        layer.backward(&x, &y, &rec, &dy, Some(&mut dx), &mut Lr::Grad::zeros());
        assert_close(&std::format!("{name} dx"), dx.flat(), case.dx);
    }

    #[test]
    fn forward_and_backward_against_pytorch() {
        // The cases of `bench/fixtures/sequence.py`, in its order: (L, F, K, S, P, ceil).
        against::<MaxPool1d<9, 3, 3, 2, 1, 5, 27, 15>>("max k3 s2 p1", &fx::POOL1D[0]);
        against::<MaxPool1d<8, 2, 2, 2, 0, 4, 16, 8>>("max k2", &fx::POOL1D[1]);
        against::<MaxPool1d<10, 2, 3, 2, 1, 6, 20, 12>>("max k3 s2 p1 ceil", &fx::POOL1D[2]);
        against::<AvgPool1d<9, 3, 3, 2, 1, 5, 27, 15>>("avg k3 s2 p1", &fx::POOL1D[3]);
        against::<AvgPool1d<9, 3, 3, 2, 1, 5, 27, 15, false>>("avg no pad count", &fx::POOL1D[4]);
        against::<AvgPool1d<10, 2, 3, 2, 1, 6, 20, 12>>("avg k3 s2 p1 ceil", &fx::POOL1D[5]);
        against::<AvgPool1d<10, 2, 3, 2, 1, 6, 20, 12, false>>(
            "avg ceil no pad count",
            &fx::POOL1D[6],
        );
        against::<AvgPool1d<10, 2, 4, 3, 2, 4, 20, 8>>("avg k4 s3 p2", &fx::POOL1D[7]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(71);
        check_layer(&MaxPool1d::<9, 3, 3, 2, 1, 5, 27, 15>, &mut rng);
        check_layer(&MaxPool1d::<10, 2, 4, 3, 2, 4, 20, 8>, &mut rng);
        check_layer(&MaxPool1d::<10, 2, 3, 2, 1, 6, 20, 12>, &mut rng);
        check_layer(&AvgPool1d::<9, 3, 3, 2, 1, 5, 27, 15>, &mut rng);
        check_layer(&AvgPool1d::<9, 3, 3, 2, 1, 5, 27, 15, false>, &mut rng);
        check_layer(&AvgPool1d::<10, 2, 4, 3, 2, 4, 20, 8>, &mut rng);
        check_layer(&AvgPool1d::<10, 2, 3, 2, 1, 6, 20, 12, false>, &mut rng);
        check_layer(&AvgPool1d::<7, 1, 3, 1, 0, 5, 7, 5>, &mut rng);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        check_overwrites(&MaxPool1d::<9, 3, 3, 2, 1, 5, 27, 15>, 1);
        check_overwrites(&MaxPool1d::<10, 2, 4, 3, 2, 4, 20, 8>, 2);
        check_overwrites(&AvgPool1d::<9, 3, 3, 2, 1, 5, 27, 15, false>, 3);
        check_overwrites(&AvgPool1d::<10, 2, 4, 3, 2, 4, 20, 8>, 4);
        check_overwrites(&MaxPool1d::<10, 2, 3, 2, 1, 6, 20, 12>, 7);
        check_overwrites(&AvgPool1d::<10, 2, 3, 2, 1, 6, 20, 12>, 8);
        // Stride above the window: steps no window reads get a zero gradient.
        check_overwrites(&MaxPool1d::<9, 2, 2, 3, 0, 3, 18, 6>, 5);
        check_overwrites(&AvgPool1d::<9, 2, 2, 3, 0, 3, 18, 6>, 6);
    }
}
