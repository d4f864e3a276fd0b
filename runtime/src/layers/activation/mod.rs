//! Activation layers: element-wise functions as an `f`/`df` pair, and softmax.
//!
//! For an element-wise y = f(x), backward is ∂L/∂x = f′(x) ⊙ ∂L/∂y; `df` receives both x and
//! y because f′ is cheapest from y for sigmoid (y(1 − y)) and tanh (1 − y²).
//!
//! The functions themselves live in [`piecewise`] (ReLU and its relatives, the hard sigmoid
//! and swish) and [`smooth`] (sigmoid, tanh, ELU, SELU, softplus, SiLU, GELU); all are
//! re-exported here. Every one follows PyTorch's definition, defaults and choice of
//! derivative at kinks; [`Activation`] turns any of them into a layer, in place or not.

pub mod piecewise;
pub mod smooth;

pub use piecewise::{HardSigmoid, HardSwish, LeakyRelu, Relu, Relu6};
pub use smooth::{sigmoid, Elu, Gelu, GeluTanh, Selu, Sigmoid, Silu, Softplus, Tanh};

use crate::{Flat, InPlace, Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// `v`, or `x` itself when `x` is NaN: a derivative's constant pieces would otherwise turn a
/// NaN input into a finite gradient.
#[inline(always)]
pub(crate) fn keep_nan<T: Scalar>(x: T, v: T) -> T {
    // `x != x` only for NaN (`RealField` has no `is_nan`).
    #[allow(clippy::eq_op)]
    if x != x {
        x
    } else {
        v
    }
}

/// A scalar function and its derivative; both must map NaN to NaN.
pub trait Elementwise<T: Scalar>: Clone {
    /// The layer kind in summaries and the grammar (`"relu"`).
    const KIND: &'static str;
    /// The function itself, applied to one value.
    fn f(&self, x: T) -> T;
    /// f′ at `x`, where `y = f(x)`.
    fn df(&self, x: T, y: T) -> T;
    /// The ONNX nodes computing `f` from `site.input` into `site.output`.
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        g.unsupported(site.layer, Self::KIND);
    }
}

/// An element-wise activation over `N` values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Activation<A, const N: usize>(pub A);

crate::no_params!(Activation<A; const N: usize>);

impl<T: Scalar, A: Elementwise<T>, const N: usize> InPlace<T> for Activation<A, N> {
    /// `x ← f(x)`.
    #[inline]
    fn forward_in_place(&self, x: &mut SVector<T, N>) {
        for x in x.as_mut_slice() {
            *x = self.0.f(*x);
        }
    }

    /// `d ← f′(x) ⊙ d`: ∂L/∂y turns into ∂L/∂x in the same buffer.
    #[inline]
    fn backward_in_place(&self, x: &SVector<T, N>, y: &SVector<T, N>, d: &mut SVector<T, N>) {
        let it = d
            .as_mut_slice()
            .iter_mut()
            .zip(x.as_slice().iter().zip(y.as_slice()));
        for (d, (&x, &y)) in it {
            *d *= self.0.df(x, y);
        }
    }
}

impl<T: Scalar, A: Elementwise<T>, const N: usize> Layer<T> for Activation<A, N> {
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = A::KIND;
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        for (y, &x) in y.as_mut_slice().iter_mut().zip(x.as_slice()) {
            *y = self.0.f(x);
        }
    }

    #[inline]
    fn backward(
        &self,
        x: &SVector<T, N>,
        y: &SVector<T, N>,
        _rec: &NoRecord,
        dy: &SVector<T, N>,
        dx: Option<&mut SVector<T, N>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let (x, y, dy) = (x.as_slice(), y.as_slice(), dy.as_slice());
            let it = dx.as_mut_slice().iter_mut().zip(x.iter().zip(y).zip(dy));
            for (dx, ((&x, &y), &dy)) in it {
                *dx = self.0.df(x, y) * dy;
            }
        }
    }
}

/// softmax(x)ᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m) with m = max x, which cannot overflow.
/// Backward: ∂L/∂x = y ⊙ (δ − ⟨δ, y⟩).
///
/// To train a classifier, prefer ending on logits and the fused
/// [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy) loss: it is cheaper and exact.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax<const N: usize>;

crate::no_params!(Softmax<; const N: usize>);

/// The shift that softmax and its losses take their exponentials of: `(k, m, z)` with `k`
/// the first maximum of `x`, `m = x[k]`, and `z(v) = v − m` except that `z(m) = 0` exactly,
/// which defines the infinite limits (+inf logits share the probability, all −inf is
/// uniform) where inf − inf would be NaN. `m` is NaN if some value is, and so then is every
/// `z`; `None` for an empty slice.
#[allow(clippy::eq_op)] // `v != v` only for NaN (`RealField` has no `is_nan`)
pub fn max_shifted<T: Scalar>(x: &[T]) -> Option<(usize, T, impl Fn(T) -> T)> {
    let mut k = 0;
    for (i, &v) in x.iter().enumerate() {
        if v != v {
            k = i;
            break;
        }
        if v > x[k] {
            k = i;
        }
    }
    let m = *x.get(k)?;
    Some((k, m, move |v: T| if v == m { T::zero() } else { v - m }))
}

/// Writes softmax(x) into `y` (stable: shifts by the maximum first; see [`max_shifted`] for
/// infinite and NaN inputs).
pub fn softmax_into<T: Scalar>(x: &[T], y: &mut [T]) {
    let Some((_, _, shift)) = max_shifted(x) else {
        return;
    };
    let mut sum = T::zero();
    for (y, &x) in y.iter_mut().zip(x) {
        *y = shift(x).exp();
        sum += *y;
    }
    let inv = T::one() / sum;
    for y in y.iter_mut() {
        *y *= inv;
    }
}

impl<T: Scalar, const N: usize> Layer<T> for Softmax<N> {
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "softmax";
    const MACS: usize = 0;

    fn forward(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        softmax_into(x.flat(), y.flat_mut());
    }

    fn backward(
        &self,
        _x: &SVector<T, N>,
        y: &SVector<T, N>,
        _rec: &NoRecord,
        dy: &SVector<T, N>,
        dx: Option<&mut SVector<T, N>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let dot = dy.dot(y);
            for ((dx, &y), &dy) in dx.iter_mut().zip(y.iter()).zip(dy.iter()) {
                *dx = y * (dy - dot);
            }
        }
    }
}

impl<const N: usize> Zeros for Softmax<N> {
    fn zeros() -> Self {
        Softmax
    }
}

impl<A: Default, const N: usize> Zeros for Activation<A, N> {
    fn zeros() -> Self {
        Activation(A::default())
    }
}

impl<T: Scalar, A: Elementwise<T>, const N: usize> crate::onnx::ToOnnx<T> for Activation<A, N> {
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        self.0.onnx(g, site);
    }
}

/// `Softmax` over the last axis (each step of a sequence on its own).
impl<T: Scalar, const N: usize> crate::onnx::ToOnnx<T> for Softmax<N> {
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        crate::onnx::unary(g, "Softmax", site, &[crate::onnx::Attr::Int("axis", -1)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_layer, check_layer_at};
    use crate::rng::{uniform_sym, SplitMix64};
    use nalgebra::Vector4;

    #[test]
    fn softmax_known_values_and_stability() {
        // softmax([1, 2, 3]) = e^[1,2,3] / (e + e² + e³)
        let e = core::f64::consts::E;
        let z = e + e * e + e * e * e;
        let mut y = [0.0; 3];
        softmax_into(&[1.0, 2.0, 3.0], &mut y);
        for (y, want) in y.iter().zip([e / z, e * e / z, e * e * e / z]) {
            assert!((y - want).abs() < 1e-15);
        }
        // Shift invariance keeps huge logits finite.
        let mut big = [0.0; 3];
        softmax_into(&[1001.0, 1002.0, 1003.0], &mut big);
        for (a, b) in big.iter().zip(y) {
            assert!((a - b).abs() < 1e-15);
        }
        // Infinite logits take their limits (inf − inf would be NaN).
        let inf = f64::INFINITY;
        softmax_into(&[inf, 0.0, inf], &mut y);
        assert_eq!(y, [0.5, 0.0, 0.5]);
        softmax_into(&[-inf, -inf, 0.0], &mut y);
        assert_eq!(y, [0.0, 0.0, 1.0]);
    }

    /// Inputs over every kind's interesting range (both sides of 0, ±3 and 6, a softplus
    /// threshold), each at least 0.05 from any kink, where finite differences would straddle
    /// two pieces.
    const SPREAD: [f64; 12] = [
        -6.5, -4.2, -2.9, -2.2, -1.3, -0.45, 0.35, 1.1, 2.05, 2.95, 5.4, 7.25,
    ];

    /// One kind, checked as a layer: buffers fully overwritten, in-place forms equal to the
    /// out-of-place ones, and backward equal to central differences.
    fn exercise<A: Elementwise<f64>>(a: A, seed: u64) {
        let layer = Activation::<A, 12>(a.clone());
        let x = SVector::<f64, 12>::from(SPREAD);
        let mut rng = SplitMix64::new(seed);
        let dy = SVector::<f64, 12>::from_fn(|_, _| uniform_sym(&mut rng, 2.0));

        // The generated code reuses buffers without zeroing them: start from NaN.
        let mut y = SVector::repeat(f64::NAN);
        layer.forward(&x, &mut y);
        let mut dx = SVector::repeat(f64::NAN);
        layer.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        for i in 0..12 {
            let want = a.f(x[i]);
            assert!(want.is_finite() && y[i] == want, "{}: y[{i}]", A::KIND);
            let dwant = a.df(x[i], want) * dy[i];
            assert!(dwant.is_finite() && dx[i] == dwant, "{}: dx[{i}]", A::KIND);
        }
        let mut rec = NoRecord;
        let mut trained = layer.clone();
        let mut y2 = SVector::repeat(f64::NAN);
        trained.forward_train(&x, &mut y2, &mut rec);
        assert_eq!(y2, y, "{}: forward_train", A::KIND);

        let mut yi = x;
        layer.forward_in_place(&mut yi);
        assert_eq!(yi, y, "{}: forward_in_place", A::KIND);
        let mut di = dy;
        layer.backward_in_place(&x, &y, &mut di);
        assert_eq!(di, dx, "{}: backward_in_place", A::KIND);
        // Without dx, backward writes nothing (and has no parameters to add to).
        layer.backward(&x, &y, &NoRecord, &dy, None, &mut NoParams);

        check_layer_at(&layer, &x, &dy);
        // And at random points in [−1, 1], where most of the curvature is.
        check_layer(&Activation::<A, 9>(a), &mut rng);
    }

    #[test]
    fn every_kind_as_a_layer() {
        exercise(Relu, 1);
        exercise(LeakyRelu::new(0.1), 2);
        exercise(Sigmoid, 3);
        exercise(Tanh, 4);
        exercise(Relu6, 5);
        exercise(Elu::default(), 6);
        exercise(Elu::new(0.3), 7);
        exercise(Selu, 8);
        exercise(Softplus::default(), 9);
        // β = 4: the linear part starts at x = 5, between 2.95 and 5.4.
        exercise(Softplus::new(4.0, 20.0), 10);
        exercise(Softplus::new(0.5, 2.0), 11);
        exercise(Silu, 12);
        exercise(Gelu, 13);
        exercise(GeluTanh, 14);
        exercise(HardSigmoid, 15);
        exercise(HardSwish, 16);
    }

    /// NaN in, NaN out, forward and backward (PyTorch's `relu(nan)` is NaN): a network fed
    /// NaN must not return a finite, confident answer.
    fn propagates_nan<A: Elementwise<f64> + Elementwise<f32>>(a: A) {
        let y = Elementwise::<f64>::f(&a, f64::NAN);
        assert!(
            y.is_nan(),
            "{}: f(NaN) = {y}",
            <A as Elementwise<f64>>::KIND
        );
        let d = Elementwise::<f64>::df(&a, f64::NAN, y);
        assert!(
            d.is_nan(),
            "{}: f′(NaN) = {d}",
            <A as Elementwise<f64>>::KIND
        );
        assert!(Elementwise::<f32>::f(&a, f32::NAN).is_nan());
    }

    #[test]
    fn every_kind_propagates_nan() {
        propagates_nan(Relu);
        propagates_nan(Sigmoid);
        propagates_nan(Tanh);
        propagates_nan(Relu6);
        propagates_nan(Selu);
        propagates_nan(Silu);
        propagates_nan(Gelu);
        propagates_nan(GeluTanh);
        propagates_nan(HardSigmoid);
        propagates_nan(HardSwish);
    }

    #[test]
    fn parameterised_kinds_propagate_nan() {
        for a in [Elu::<f64>::default(), Elu::new(0.3)] {
            assert!(
                a.f(f64::NAN).is_nan() && a.df(f64::NAN, f64::NAN).is_nan(),
                "elu"
            );
        }
        for a in [Softplus::<f64>::default(), Softplus::new(4.0, 20.0)] {
            assert!(
                a.f(f64::NAN).is_nan() && a.df(f64::NAN, f64::NAN).is_nan(),
                "softplus"
            );
        }
        let l = LeakyRelu::<f64>::new(0.1);
        assert!(l.f(f64::NAN).is_nan() && l.df(f64::NAN, f64::NAN).is_nan());
    }

    #[test]
    fn kind_names() {
        fn kind<A: Elementwise<f64>>(_: A) -> &'static str {
            <Activation<A, 1> as Layer<f64>>::KIND
        }
        assert_eq!(kind(Relu), "relu");
        assert_eq!(kind(LeakyRelu::new(0.1)), "leaky_relu");
        assert_eq!(kind(Sigmoid), "sigmoid");
        assert_eq!(kind(Tanh), "tanh");
        assert_eq!(kind(Relu6), "relu6");
        assert_eq!(kind(Elu::default()), "elu");
        assert_eq!(kind(Selu), "selu");
        assert_eq!(kind(Softplus::default()), "softplus");
        assert_eq!(kind(Silu), "silu");
        assert_eq!(kind(Gelu), "gelu");
        assert_eq!(kind(GeluTanh), "gelu_tanh");
        assert_eq!(kind(HardSigmoid), "hard_sigmoid");
        assert_eq!(kind(HardSwish), "hard_swish");
    }

    #[test]
    fn zeros_is_the_pytorch_default() {
        let elu = <Activation<Elu<f32>, 3> as Zeros>::zeros();
        assert_eq!(elu.0.alpha, 1.0);
        let sp = <Activation<Softplus<f64>, 3> as Zeros>::zeros();
        assert_eq!((sp.0.beta, sp.0.threshold), (1.0, 20.0));
    }

    #[test]
    fn relu_in_place_by_hand() {
        // x = [−2, 0, 3, −0.5] → y = [0, 0, 3, 0], f′ = [0, 0, 1, 0].
        let x = Vector4::new(-2.0, 0.0, 3.0, -0.5);
        let dy = Vector4::new(0.5, -1.0, 2.0, 0.25);
        let mut y = x;
        Activation::<Relu, 4>(Relu).forward_in_place(&mut y);
        assert_eq!(y, Vector4::new(0.0, 0.0, 3.0, 0.0));
        let mut d = dy;
        Activation::<Relu, 4>(Relu).backward_in_place(&x, &y, &mut d);
        assert_eq!(d, Vector4::new(0.0, 0.0, 2.0, 0.0));
    }

    #[test]
    fn hard_swish_backward_at_the_kinks_by_hand() {
        // x = [−3, 3, −4, 0]: f′ = [0, 1, 0, 1/2] (current PyTorch), times dy.
        let layer = Activation::<HardSwish, 4>(HardSwish);
        let x = Vector4::new(-3.0, 3.0, -4.0, 0.0);
        let mut y = Vector4::zeros();
        layer.forward(&x, &mut y);
        assert_eq!(y, Vector4::new(0.0, 3.0, 0.0, 0.0));
        let mut dx = Vector4::repeat(f64::NAN);
        let dy = Vector4::new(2.0, 2.0, 2.0, 2.0);
        layer.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        assert_eq!(dx, Vector4::new(0.0, 2.0, 0.0, 1.0));
    }

    #[test]
    fn softmax_gradient_matches_finite_differences() {
        check_layer(&Softmax::<6>, &mut SplitMix64::new(5));
    }

    #[test]
    fn softmax_overwrites_its_outputs() {
        crate::layer::contract::check_overwrites(&Softmax::<6>, 1);
    }
}
