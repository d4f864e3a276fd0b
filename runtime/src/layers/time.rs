//! Layers over the time axis of a step-major sequence `[steps, features]` (element
//! `[t·F + f]` is feature f of step t): the per-step dense layer, and the reductions of a
//! sequence to one vector (`last`, `mean_over_time`, `max_over_time`).
//!
//! **Per-step dense** ([`TimeDense`], PyTorch's `nn.Linear` on a `[steps, in]` tensor): the
//! same `W ∈ ℝ^(OUT×IN)`, `b ∈ ℝ^OUT` at every step, `y[t, ·] = W x[t, ·] + b`. Seen as
//! column-major matrices, the sequence `x` is `X: IN × STEPS` (column t is step t) and
//! `y` is `Y: OUT × STEPS`, so with δ = ∂L/∂y as `D: OUT × STEPS`:
//!
//! ```text
//! Y = W X + b 1ᵀ    ∂L/∂W = D Xᵀ    ∂L/∂b = D 1    ∂L/∂X = Wᵀ D
//! ```
//!
//! each one matrix product over all steps ([`gemm_nn`]), which reuses every loaded weight
//! across a block of steps where one matrix–vector product per step would stream all of W
//! once per step. Forward needs W with its output channels contiguous (the panel of the
//! product's left factor): it transposes the weight into scratch, `IN·OUT` copies for
//! `STEPS·IN·OUT` multiply-adds.
//!
//! **Reductions**, `[steps, F] → [F]`: [`Last`] `y = x[STEPS − 1, ·]`;
//! [`MeanOverTime`] `y[f] = Σ_t x[t, f] / STEPS`, `∂L/∂x[t, f] = δ[f] / STEPS`;
//! [`MaxOverTime`] `y[f] = max_t x[t, f]`, training records the step of each maximum (the
//! first on ties, a NaN wins, the last one if several, as PyTorch's `max` over a dimension)
//! and backward sends `δ[f]` there.

use crate::init::Init;
use crate::kernels::{gemm_nn, AddAt, Start, Store};
use crate::simd::{self, Width};
use crate::{Layer, NoParams, NoRecord, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::{SMatrix, SVector};
use rand_core::RngCore;

/// Dense layer applied to each of `STEPS` steps, `[steps, IN] → [steps, OUT]`; `BIAS =
/// false` drops the bias. See the module docs.
///
/// Parameters: the scalar; steps; input and output features per step; the derived lengths
/// `X = STEPS·IN` and `Y = STEPS·OUT` (checked in a `const` assertion); the bias flag.
///
/// ```
/// use stacknet_runtime::layers::TimeDense;
/// use stacknet_runtime::{Layer, Zeros};
/// use stacknet_runtime::nalgebra::SVector;
///
/// // T, STEPS, IN, OUT, X, Y: W = [[1, 2]], b = [1] on steps [1, 0] and [0, 1].
/// let mut layer = TimeDense::<f64, 2, 2, 1, 4, 2>::zeros();
/// layer.weight.as_mut_slice().copy_from_slice(&[1.0, 2.0]);
/// layer.bias[0] = 1.0;
/// let mut y = SVector::zeros();
/// layer.forward(&SVector::from([1.0, 0.0, 0.0, 1.0]), &mut y);
/// assert_eq!(y.as_slice(), &[2.0, 3.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TimeDense<
    T: Scalar,
    const STEPS: usize,
    const IN: usize,
    const OUT: usize,
    const X: usize,
    const Y: usize,
    const BIAS: bool = true,
> {
    /// Wᵀ, `IN × OUT`: PyTorch's `[OUT, IN]` weight in the same memory order.
    pub weight: SMatrix<T, IN, OUT>,
    /// b; stays zero when `BIAS` is false.
    pub bias: SVector<T, OUT>,
}

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const OUT: usize,
        const X: usize,
        const Y: usize,
        const BIAS: bool,
    > TimeDense<T, STEPS, IN, OUT, X, Y, BIAS>
{
    const VALID: () = {
        assert!(
            STEPS > 0 && IN > 0 && OUT > 0,
            "time dense: steps and sizes must be positive"
        );
        assert!(X == STEPS * IN, "time dense: `X` must be `STEPS·IN`");
        assert!(Y == STEPS * OUT, "time dense: `Y` must be `STEPS·OUT`");
    };

    /// Weights drawn from `init` (fan-in `IN`, fan-out `OUT`), bias zero.
    pub fn new(init: Init, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut layer = Self::zeros();
        init.fill(layer.weight.as_mut_slice(), IN, OUT, rng);
        layer
    }
}

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const OUT: usize,
        const X: usize,
        const Y: usize,
        const BIAS: bool,
    > Zeros for TimeDense<T, STEPS, IN, OUT, X, Y, BIAS>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        TimeDense {
            weight: SMatrix::zeros(),
            bias: SVector::zeros(),
        }
    }
}

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const OUT: usize,
        const X: usize,
        const Y: usize,
        const BIAS: bool,
    > Params<T> for TimeDense<T, STEPS, IN, OUT, X, Y, BIAS>
{
    const TENSORS: usize = 1 + BIAS as usize;
    const LEN: usize = IN * OUT + if BIAS { OUT } else { 0 };

    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.weight.as_slice(),
            1 if BIAS => self.bias.as_slice(),
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.weight.as_mut_slice(),
            1 if BIAS => self.bias.as_mut_slice(),
            _ => &mut [],
        }
    }

    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = match i {
            0 => ("weight", Shape::matrix(OUT, IN), TensorKind::Weight),
            _ => ("bias", Shape::vector(OUT), TensorKind::Bias),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: IN,
            fan_out: OUT,
        }
    }
}

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const OUT: usize,
        const X: usize,
        const Y: usize,
        const BIAS: bool,
    > Layer<T> for TimeDense<T, STEPS, IN, OUT, X, Y, BIAS>
{
    type Input = SVector<T, X>;
    type Output = SVector<T, Y>;
    type Record = NoRecord;
    type Grad = Self;
    const KIND: &'static str = "time_dense";
    const MACS: usize = STEPS * IN * OUT;
    /// Forward's transposed weight (`IN·OUT` values), plus one packed block of a product's
    /// right factor (8 columns of at most `max(IN, STEPS, OUT)` rows).
    const SCRATCH_BYTES: usize = (IN * OUT + 8 * max(max(IN, STEPS), OUT)) * T::BYTES;

    #[inline]
    fn forward(&self, x: &SVector<T, X>, y: &mut SVector<T, Y>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        simd::dispatch!(self.forward_at | forward_avx2 | forward_avx512(x, y));
    }

    #[inline]
    fn backward(
        &self,
        x: &SVector<T, X>,
        _y: &SVector<T, Y>,
        _rec: &NoRecord,
        dy: &SVector<T, Y>,
        dx: Option<&mut SVector<T, X>>,
        grad: &mut Self,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        simd::dispatch!(self.backward_at | backward_avx2 | backward_avx512(x, dy, dx, grad));
    }
}

/// The products at a width `V`, and their copies for the instruction sets chosen at run time.
impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const OUT: usize,
        const X: usize,
        const Y: usize,
        const BIAS: bool,
    > TimeDense<T, STEPS, IN, OUT, X, Y, BIAS>
{
    #[inline(always)]
    fn forward_at<V: Width>(&self, x: &SVector<T, X>, y: &mut SVector<T, Y>) {
        // A = W (OUT × IN, column i contiguous), B = X (B(i, t) = x[t·IN + i]).
        let mut wt = SMatrix::<T, OUT, IN>::zeros();
        crate::kernels::transpose::<T, OUT, IN>(self.weight.as_slice(), wt.as_mut_slice());
        let start = if BIAS {
            Start::Rows(self.bias.as_slice())
        } else {
            Start::Zero
        };
        let mut sink = Store {
            out: y.as_mut_slice(),
            ld: OUT,
        };
        gemm_nn::<V, T, IN, STEPS>(
            OUT,
            wt.as_slice(),
            |i| i * OUT,
            x.as_slice(),
            1,
            IN,
            start,
            &mut sink,
        );
    }

    #[inline(always)]
    fn backward_at<V: Width>(
        &self,
        x: &SVector<T, X>,
        dy: &SVector<T, Y>,
        dx: Option<&mut SVector<T, X>>,
        grad: &mut Self,
    ) {
        let (x, dy) = (x.as_slice(), dy.as_slice());
        // ∂L/∂Wᵀ (IN × OUT) += X Dᵀ: A = X (column t = step t), B(t, o) = dy[t·OUT + o].
        let mut sink = AddAt {
            out: grad.weight.as_mut_slice(),
            offs: |o| o * IN,
        };
        gemm_nn::<V, T, STEPS, OUT>(IN, x, |t| t * IN, dy, OUT, 1, Start::Zero, &mut sink);
        if BIAS {
            for d in dy.chunks_exact(OUT) {
                for (b, &d) in grad.bias.as_mut_slice().iter_mut().zip(d) {
                    *b += d;
                }
            }
        }
        // ∂L/∂X (IN × STEPS) = Wᵀ D: A = Wᵀ as stored (column o = row o of W),
        // B(o, t) = dy[t·OUT + o].
        if let Some(dx) = dx {
            let mut sink = Store {
                out: dx.as_mut_slice(),
                ld: IN,
            };
            gemm_nn::<V, T, OUT, STEPS>(
                IN,
                self.weight.as_slice(),
                |o| o * IN,
                dy,
                1,
                OUT,
                Start::Zero,
                &mut sink,
            );
        }
    }

    simd::target_copies! {
        /// [`forward_at`](Self::forward_at) compiled for AVX2 or AVX-512.
        fn forward_avx2, forward_avx512 = forward_at(&self, x: &SVector<T, X>, y: &mut SVector<T, Y>);
    }

    simd::target_copies! {
        /// [`backward_at`](Self::backward_at) compiled for AVX2 or AVX-512.
        fn backward_avx2, backward_avx512 = backward_at(
            &self,
            x: &SVector<T, X>,
            dy: &SVector<T, Y>,
            dx: Option<&mut SVector<T, X>>,
            grad: &mut Self,
        );
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Checks a reduction's dimensions.
const fn check_reduction(steps: usize, f: usize, inp: usize) {
    assert!(
        steps > 0 && f > 0,
        "time reduction: steps and features must be positive"
    );
    assert!(inp == steps * f, "time reduction: `IN` must be `STEPS·F`");
    assert!(
        steps <= u32::MAX as usize,
        "time reduction: at most 2³² − 1 steps"
    );
}

/// The last step of a sequence, `[STEPS, F] → [F]` (`IN = STEPS·F`). A unit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Last<const STEPS: usize, const F: usize, const IN: usize>;

/// The mean over steps, per feature, `[STEPS, F] → [F]` (`IN = STEPS·F`). A unit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeanOverTime<const STEPS: usize, const F: usize, const IN: usize>;

/// The maximum over steps, per feature, `[STEPS, F] → [F]` (`IN = STEPS·F`). A unit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxOverTime<const STEPS: usize, const F: usize, const IN: usize>;

crate::no_params!(Last<; const STEPS: usize; const F: usize; const IN: usize>);
crate::no_params!(MeanOverTime<; const STEPS: usize; const F: usize; const IN: usize>);
crate::no_params!(MaxOverTime<; const STEPS: usize; const F: usize; const IN: usize>);

/// The shared impls of the reductions: dimension check, `Zeros`, `Default`.
macro_rules! reduction_common {
    ($ty:ident) => {
        impl<const STEPS: usize, const F: usize, const IN: usize> $ty<STEPS, F, IN> {
            const VALID: () = check_reduction(STEPS, F, IN);
        }

        impl<const STEPS: usize, const F: usize, const IN: usize> Zeros for $ty<STEPS, F, IN> {
            fn zeros() -> Self {
                #[allow(clippy::let_unit_value)]
                let () = Self::VALID;
                $ty
            }
        }

        impl<const STEPS: usize, const F: usize, const IN: usize> Default for $ty<STEPS, F, IN> {
            fn default() -> Self {
                Self::zeros()
            }
        }
    };
}

reduction_common!(Last);
reduction_common!(MeanOverTime);
reduction_common!(MaxOverTime);

impl<T: Scalar, const STEPS: usize, const F: usize, const IN: usize> Layer<T>
    for Last<STEPS, F, IN>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, F>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "last";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, F>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        y.as_mut_slice()
            .copy_from_slice(&x.as_slice()[(STEPS - 1) * F..]);
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, F>,
        _rec: &NoRecord,
        dy: &SVector<T, F>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let (earlier, last) = dx.as_mut_slice().split_at_mut((STEPS - 1) * F);
            earlier.fill(T::zero());
            last.copy_from_slice(dy.as_slice());
        }
    }
}

impl<T: Scalar, const STEPS: usize, const F: usize, const IN: usize> Layer<T>
    for MeanOverTime<STEPS, F, IN>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, F>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "mean_over_time";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, F>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        // Row by row: each step's features are contiguous, so the sums vectorise over F.
        let y = y.as_mut_slice();
        let mut rows = x.as_slice().chunks_exact(F);
        y.copy_from_slice(rows.next().unwrap_or(&[]));
        for row in rows {
            for (y, &v) in y.iter_mut().zip(row) {
                *y += v;
            }
        }
        let inv = T::one() / T::of(STEPS as f64);
        for y in y {
            *y *= inv;
        }
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, F>,
        _rec: &NoRecord,
        dy: &SVector<T, F>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let inv = T::one() / T::of(STEPS as f64);
            for row in dx.as_mut_slice().chunks_exact_mut(F) {
                for (d, &g) in row.iter_mut().zip(dy.as_slice()) {
                    *d = g * inv;
                }
            }
        }
    }
}

impl<const STEPS: usize, const F: usize, const IN: usize> MaxOverTime<STEPS, F, IN> {
    /// Forward, recording the step of each feature's maximum when `arg` is given.
    #[inline(always)]
    fn run<T: Scalar>(x: &[T], y: &mut [T], mut arg: Option<&mut [u32; F]>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let mut rows = x[..IN].chunks_exact(F);
        y.copy_from_slice(rows.next().unwrap_or(&[]));
        if let Some(arg) = arg.as_deref_mut() {
            arg.fill(0);
        }
        for (t, row) in rows.enumerate() {
            for (f, (y, &v)) in y.iter_mut().zip(row).enumerate() {
                #[allow(clippy::eq_op)]
                let wins = v > *y || v != v;
                if wins {
                    *y = v;
                    if let Some(arg) = arg.as_deref_mut() {
                        arg[f] = (t + 1) as u32;
                    }
                }
            }
        }
    }
}

impl<T: Scalar, const STEPS: usize, const F: usize, const IN: usize> Layer<T>
    for MaxOverTime<STEPS, F, IN>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, F>;
    /// The step of each feature's maximum.
    type Record = [u32; F];
    type Grad = NoParams;
    const KIND: &'static str = "max_over_time";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, F>) {
        Self::run(x.as_slice(), y.as_mut_slice(), None);
    }

    #[inline]
    fn forward_train(&mut self, x: &SVector<T, IN>, y: &mut SVector<T, F>, rec: &mut [u32; F]) {
        Self::run(x.as_slice(), y.as_mut_slice(), Some(rec));
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, F>,
        rec: &[u32; F],
        dy: &SVector<T, F>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let dx = dx.as_mut_slice();
            dx.fill(T::zero());
            for (f, (&t, &d)) in rec.iter().zip(dy.as_slice()).enumerate() {
                dx[t as usize * F + f] = d;
            }
        }
    }
}

/// `MatMul` by the transposed weight, then `Add` of the bias: every step at once.
impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const OUT: usize,
        const X: usize,
        const Y: usize,
        const BIAS: bool,
    > crate::onnx::ToOnnx<T> for TimeDense<T, STEPS, IN, OUT, X, Y, BIAS>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        use crate::onnx::Attr;
        let (w, wt) = (site.of("weight"), site.of("weight_t"));
        g.tensor(w, &[OUT, IN], &[self.weight.as_slice()]);
        g.node("Transpose", &[w], &[wt], &[Attr::Ints("perm", &[1, 0])]);
        if !BIAS {
            return g.node("MatMul", &[site.input, wt], &[site.output], &[]);
        }
        let (b, xw) = (site.of("bias"), site.of("xw"));
        g.tensor(b, &[OUT], &[self.bias.as_slice()]);
        g.node("MatMul", &[site.input, wt], &[xw], &[]);
        g.node("Add", &[xw, b], &[site.output], &[]);
    }
}

/// `Gather` of the last step.
impl<T, const STEPS: usize, const F: usize, const IN: usize> crate::onnx::ToOnnx<T>
    for Last<STEPS, F, IN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let last = site.of("last");
        g.ints(last, &[], &[STEPS as i64 - 1]);
        let axis = [crate::onnx::Attr::Int("axis", 1)];
        g.node("Gather", &[site.input, last], &[site.output], &axis);
    }
}

/// `ReduceMean` over the steps.
impl<T, const STEPS: usize, const F: usize, const IN: usize> crate::onnx::ToOnnx<T>
    for MeanOverTime<STEPS, F, IN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        over_steps(g, site, "ReduceMean");
    }
}

/// `ReduceMax` over the steps.
impl<T, const STEPS: usize, const F: usize, const IN: usize> crate::onnx::ToOnnx<T>
    for MaxOverTime<STEPS, F, IN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        over_steps(g, site, "ReduceMax");
    }
}

/// A reduction over axis 1 (opset 17 takes the axes as an attribute).
fn over_steps<T>(g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>, op: &str) {
    use crate::onnx::Attr;
    let attrs = [Attr::Ints("axes", &[1]), Attr::Int("keepdims", 0)];
    g.node(op, &[site.input], &[site.output], &attrs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::layer::contract::{check_overwrites, check_overwrites_at, random};
    use crate::layers::sequence_fixtures as fx;
    use crate::rng::SplitMix64;

    /// Asserts `|found − expected| ≤ 1e-12·(1 + |expected|)` entry by entry.
    fn assert_close(what: &str, found: &[f64], expected: &[f64]) {
        assert_eq!(found.len(), expected.len(), "{what}");
        for (i, (a, b)) in found.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{what}[{i}]: {a} vs PyTorch {b}"
            );
        }
    }

    #[test]
    fn time_dense_against_pytorch() {
        use fx::{TD_IN as I, TD_OUT as O, TD_STEPS as S};
        type L = TimeDense<f64, S, I, O, { S * I }, { S * O }>;
        let mut layer = L::zeros();
        layer.weight.as_mut_slice().copy_from_slice(&fx::TD_WEIGHT);
        layer.bias.as_mut_slice().copy_from_slice(&fx::TD_BIAS);
        let x = SVector::from_column_slice(&fx::TD_X);
        let dy = SVector::from_column_slice(&fx::TD_DY);
        let mut y = SVector::zeros();
        layer.forward(&x, &mut y);
        assert_close("y", y.as_slice(), &fx::TD_Y);
        let (mut dx, mut g) = (SVector::zeros(), L::zeros());
        layer.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut g);
        assert_close("dx", dx.as_slice(), &fx::TD_DX);
        assert_close("dweight", g.weight.as_slice(), &fx::TD_DWEIGHT);
        assert_close("dbias", g.bias.as_slice(), &fx::TD_DBIAS);
    }

    #[test]
    fn reductions_against_pytorch() {
        use fx::{RED_F as F, RED_STEPS as S};
        let x = SVector::<f64, { S * F }>::from_column_slice(&fx::RED_X);
        let dy = SVector::<f64, F>::from_column_slice(&fx::RED_DY);
        let (mut y, mut dx) = (SVector::zeros(), SVector::zeros());
        let last = Last::<S, F, { S * F }>;
        last.forward(&x, &mut y);
        assert_close("last y", y.as_slice(), &fx::LAST_Y);
        last.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        assert_close("last dx", dx.as_slice(), &fx::LAST_DX);
        let mean = MeanOverTime::<S, F, { S * F }>;
        mean.forward(&x, &mut y);
        assert_close("mean y", y.as_slice(), &fx::MEAN_Y);
        mean.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        assert_close("mean dx", dx.as_slice(), &fx::MEAN_DX);
        let mut max = MaxOverTime::<S, F, { S * F }>;
        let mut rec = [0; F];
        max.forward_train(&x, &mut y, &mut rec);
        assert_close("max y", y.as_slice(), &fx::MAX_Y);
        max.backward(&x, &y, &rec, &dy, Some(&mut dx), &mut NoParams);
        assert_close("max dx", dx.as_slice(), &fx::MAX_DX);
    }

    #[test]
    fn max_over_time_ties_and_nans() {
        // Two features over three steps: a tie (first wins) and a NaN (wins).
        let x = SVector::from([1.0, 0.0, 1.0, f64::NAN, 0.5, 2.0]);
        let mut max = MaxOverTime::<3, 2, 6>;
        let (mut y, mut rec) = (SVector::zeros(), [9; 2]);
        max.forward_train(&x, &mut y, &mut rec);
        assert_eq!(rec, [0, 1]);
        assert_eq!(y[0], 1.0);
        assert!(y[1].is_nan());
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(51);
        check_layer(
            &TimeDense::<f64, 5, 7, 3, 35, 15>::new(Init::XavierUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &TimeDense::<f64, 1, 2, 9, 2, 9, false>::new(Init::HeNormal, &mut rng),
            &mut rng,
        );
        check_layer(
            &TimeDense::<f64, 13, 4, 17, 52, 221>::new(Init::HeNormal, &mut rng),
            &mut rng,
        );
        check_layer(&Last::<4, 3, 12>, &mut rng);
        check_layer(&MeanOverTime::<4, 3, 12>, &mut rng);
        check_layer(&MaxOverTime::<4, 3, 12>, &mut rng);
        check_layer(&MaxOverTime::<1, 5, 5>, &mut rng);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        let mut rng = SplitMix64::new(52);
        check_overwrites(
            &TimeDense::<f64, 5, 7, 3, 35, 15>::new(Init::XavierUniform, &mut rng),
            1,
        );
        check_overwrites(
            &TimeDense::<f64, 9, 3, 10, 27, 90, false>::new(Init::XavierUniform, &mut rng),
            2,
        );
        let layer = TimeDense::<f64, 3, 4, 5, 12, 15>::new(Init::XavierUniform, &mut rng);
        let x = random(&mut rng);
        check_overwrites_at(&layer, &x, &SVector::zeros());
        check_overwrites(&Last::<4, 3, 12>, 3);
        check_overwrites(&MeanOverTime::<4, 3, 12>, 4);
        check_overwrites(&MaxOverTime::<4, 3, 12>, 5);
    }
}
