//! Activation layers: element-wise functions as an `f`/`df` pair, and softmax.
//!
//! For an element-wise y = f(x), backward is ∂L/∂x = f′(x) ⊙ ∂L/∂y; `df` receives both x and
//! y because f′ is cheapest from y for sigmoid (y(1 − y)) and tanh (1 − y²).

use crate::{Flat, InPlace, Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// A scalar function and its derivative.
pub trait Elementwise<T: Scalar>: Clone {
    const KIND: &'static str;
    fn f(&self, x: T) -> T;
    /// f′ at `x`, where `y = f(x)`.
    fn df(&self, x: T, y: T) -> T;
}

/// max(0, x); f′(0) is taken as 0, as in PyTorch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl<T: Scalar> Elementwise<T> for Relu {
    const KIND: &'static str = "relu";
    #[inline(always)]
    fn f(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::zero()
        }
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::zero()
        }
    }
}

/// x for x > 0, `slope`·x otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu<T> {
    pub slope: T,
}

impl<T: Scalar> LeakyRelu<T> {
    pub fn new(slope: f64) -> Self {
        LeakyRelu {
            slope: T::of(slope),
        }
    }
}

impl<T: Scalar> Elementwise<T> for LeakyRelu<T> {
    const KIND: &'static str = "leaky_relu";
    #[inline(always)]
    fn f(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            self.slope * x
        }
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            self.slope
        }
    }
}

/// σ(x) = 1 / (1 + e⁻ˣ), σ′ = y(1 − y).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

/// The logistic function without overflow: e⁻ˣ is only taken of non-positive arguments.
#[inline(always)]
pub fn sigmoid<T: Scalar>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl<T: Scalar> Elementwise<T> for Sigmoid {
    const KIND: &'static str = "sigmoid";
    #[inline(always)]
    fn f(&self, x: T) -> T {
        sigmoid(x)
    }
    #[inline(always)]
    fn df(&self, _x: T, y: T) -> T {
        y * (T::one() - y)
    }
}

/// tanh(x), tanh′ = 1 − y².
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl<T: Scalar> Elementwise<T> for Tanh {
    const KIND: &'static str = "tanh";
    #[inline(always)]
    fn f(&self, x: T) -> T {
        x.tanh()
    }
    #[inline(always)]
    fn df(&self, _x: T, y: T) -> T {
        T::one() - y * y
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

/// Writes softmax(x) into `y` (stable: shifts by the maximum first).
pub fn softmax_into<T: Scalar>(x: &[T], y: &mut [T]) {
    let m = x
        .iter()
        .fold(x.first().copied().unwrap_or(T::zero()), |m, &v| {
            if v > m {
                v
            } else {
                m
            }
        });
    let mut sum = T::zero();
    for (y, &x) in y.iter_mut().zip(x) {
        *y = (x - m).exp();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::rng::SplitMix64;
    use nalgebra::Vector4;

    fn apply<A: Elementwise<f64>>(a: A, x: [f64; 4]) -> [f64; 4] {
        let mut y = Vector4::zeros();
        Activation::<A, 4>(a).forward(&Vector4::from(x), &mut y);
        y.into()
    }

    #[test]
    fn known_values() {
        let x = [-2.0, -0.5, 0.0, 3.0];
        assert_eq!(apply(Relu, x), [0.0, 0.0, 0.0, 3.0]);
        assert_eq!(apply(LeakyRelu::new(0.1), x), [-0.2, -0.05, 0.0, 3.0]);
        // σ(0) = 1/2; σ(3) = 1/(1 + e⁻³) = 0.9525741268224334; σ(−x) = 1 − σ(x).
        let s = apply(Sigmoid, x);
        assert_eq!(s[2], 0.5);
        assert!((s[3] - 0.952_574_126_822_433_4).abs() < 1e-15);
        assert!((s[0] - (1.0 - 0.880_797_077_977_882_3)).abs() < 1e-15);
        // tanh(−0.5) = −0.46211715726000974
        let t = apply(Tanh, x);
        assert!((t[1] + 0.462_117_157_260_009_74).abs() < 1e-15);
        // No overflow at the extremes.
        assert_eq!(sigmoid(-1000.0f64), 0.0);
        assert_eq!(sigmoid(1000.0f64), 1.0);
    }

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
    }

    #[test]
    fn in_place_forms_match_the_layer() {
        let mut rng = SplitMix64::new(9);
        let x = Vector4::from_fn(|_, _| crate::rng::uniform_sym(&mut rng, 2.0));
        let dy = Vector4::new(0.5, -1.0, 2.0, 0.25);
        fn both<A: Elementwise<f64>>(a: A, x: Vector4<f64>, dy: Vector4<f64>) {
            let layer = Activation::<A, 4>(a);
            let (mut y, mut dx) = (Vector4::zeros(), Vector4::zeros());
            layer.forward(&x, &mut y);
            layer.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
            let mut yi = x;
            layer.forward_in_place(&mut yi);
            assert_eq!(yi, y);
            let mut di = dy;
            layer.backward_in_place(&x, &y, &mut di);
            assert_eq!(di, dx);
        }
        both(Relu, x, dy);
        both(LeakyRelu::new(0.1), x, dy);
        both(Sigmoid, x, dy);
        both(Tanh, x, dy);
        // ReLU by hand: x = [−2, 0, 3, −0.5] → y = [0, 0, 3, 0], f′ = [0, 0, 1, 0].
        let x = Vector4::new(-2.0, 0.0, 3.0, -0.5);
        let mut y = x;
        Activation::<Relu, 4>(Relu).forward_in_place(&mut y);
        assert_eq!(y, Vector4::new(0.0, 0.0, 3.0, 0.0));
        let mut d = dy;
        Activation::<Relu, 4>(Relu).backward_in_place(&x, &y, &mut d);
        assert_eq!(d, Vector4::new(0.0, 0.0, 2.0, 0.0));
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(5);
        check_layer(&Activation::<Relu, 9>(Relu), &mut rng);
        check_layer(&Activation::<_, 9>(LeakyRelu::new(0.2)), &mut rng);
        check_layer(&Activation::<Sigmoid, 9>(Sigmoid), &mut rng);
        check_layer(&Activation::<Tanh, 9>(Tanh), &mut rng);
        check_layer(&Softmax::<6>, &mut rng);
    }

    #[test]
    fn softmax_overwrites_its_outputs() {
        crate::layer::contract::check_overwrites(&Softmax::<6>, 1);
    }
}
