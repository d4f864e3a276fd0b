//! Piecewise activations (ReLU and its relatives, the "hard" sigmoid and swish): cheap
//! comparisons, with PyTorch's choice of derivative at every kink.
//!
//! At a kink f has no derivative; PyTorch picks one side, and so do we, case by case (each
//! type's docs say which). A NaN input gives NaN, from f as in PyTorch, and from f′ too
//! (where PyTorch's backward may give 0 or 1): a NaN must never become a finite answer.

use super::{keep_nan, Elementwise};
use crate::onnx::{Attr, Graph, Site};
use crate::Scalar;

/// max(0, x); f′(0) is taken as 0, as in PyTorch; relu(NaN) = NaN, as in PyTorch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl<T: Scalar> Elementwise<T> for Relu {
    const KIND: &'static str = "relu";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(g, "Relu", site, &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        // `x < 0` rather than `!(x > 0)`: a NaN fails it and passes through.
        if x < T::zero() {
            T::zero()
        } else {
            x
        }
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        keep_nan(x, if x > T::zero() { T::one() } else { T::zero() })
    }
}

/// x for x > 0, `slope`·x otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu<T> {
    /// The gradient for x ≤ 0 (PyTorch's `negative_slope`, 0.01 by default in the grammar).
    pub slope: T,
}

impl<T: Scalar> LeakyRelu<T> {
    /// With the given negative slope, converted to `T`.
    pub fn new(slope: f64) -> Self {
        LeakyRelu {
            slope: T::of(slope),
        }
    }
}

impl<T: Scalar> Elementwise<T> for LeakyRelu<T> {
    const KIND: &'static str = "leaky_relu";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(
            g,
            "LeakyRelu",
            site,
            &[Attr::Float("alpha", self.slope.to_f64() as f32)],
        );
    }
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
        keep_nan(x, if x > T::zero() { T::one() } else { self.slope })
    }
}

/// min(max(0, x), 6), PyTorch's `nn.ReLU6` (= `hardtanh(x, 0, 6)`); a NaN stays NaN.
///
/// f′ = 1 strictly inside (0, 6) and 0 elsewhere, kinks included: PyTorch's
/// `hardtanh_backward` zeroes the gradient at `x ≤ min` and `x ≥ max`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu6;

/// min(max(t, 0), 6), letting a NaN through (C++'s `std::min(std::max(t, 0), 6)`, which is
/// what PyTorch's kernels compute).
#[inline(always)]
fn clamp6<T: Scalar>(t: T) -> T {
    let six = T::of(6.0);
    if t <= T::zero() {
        T::zero()
    } else if t >= six {
        six
    } else {
        t
    }
}

impl<T: Scalar> Elementwise<T> for Relu6 {
    const KIND: &'static str = "relu6";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        let (min, max) = (site.of("min"), site.of("max"));
        g.floats(min, &[], &[0.0]);
        g.floats(max, &[], &[6.0]);
        g.node("Clip", &[site.input, min, max], &[site.output], &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        clamp6(x)
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        let inside = x > T::zero() && x < T::of(6.0);
        keep_nan(x, if inside { T::one() } else { T::zero() })
    }
}

/// relu6(x + 3) / 6, PyTorch's `nn.Hardsigmoid`: 0 up to −3, 1 from 3, linear between.
///
/// f′ = 1/6 strictly inside (−3, 3) and 0 elsewhere, kinks included (PyTorch's
/// `hardsigmoid_backward`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HardSigmoid;

impl<T: Scalar> Elementwise<T> for HardSigmoid {
    const KIND: &'static str = "hard_sigmoid";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(
            g,
            "HardSigmoid",
            site,
            &[Attr::Float("alpha", 1.0 / 6.0), Attr::Float("beta", 0.5)],
        );
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        // Divided rather than multiplied by 1/6: the result is then exact at x = 0 (1/2).
        clamp6(x + T::of(3.0)) / T::of(6.0)
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        let inside = x > T::of(-3.0) && x < T::of(3.0);
        keep_nan(
            x,
            if inside {
                T::one() / T::of(6.0)
            } else {
                T::zero()
            },
        )
    }
}

/// x · relu6(x + 3) / 6, PyTorch's `nn.Hardswish` (Howard et al. 2019, MobileNetV3):
/// 0 up to −3, x from 3, x(x + 3)/6 between.
///
/// f′ = 0 for x ≤ −3, (2x + 3)/6 for −3 < x < 3, 1 for x ≥ 3. At the kinks this is the
/// convention of current PyTorch (since 2.7, pytorch/pytorch#148049), the derivative of the
/// outer piece, which is also the limit from outside: 0 at −3 and 1 at 3. PyTorch 2.6 and
/// older applied (2x + 3)/6 on the closed interval, giving −1/2 at −3 and 3/2 at 3.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HardSwish;

impl<T: Scalar> Elementwise<T> for HardSwish {
    const KIND: &'static str = "hard_swish";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(g, "HardSwish", site, &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        x * clamp6(x + T::of(3.0)) / T::of(6.0)
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        let three = T::of(3.0);
        if x <= -three {
            T::zero()
        } else if x < three {
            // (2x + 3)/6 in PyTorch's form.
            x / three + T::of(0.5)
        } else {
            keep_nan(x, T::one())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f and f′ of `a` at each of `xs`.
    fn eval<A: Elementwise<f64>, const K: usize>(a: &A, xs: [f64; K]) -> ([f64; K], [f64; K]) {
        let y = xs.map(|x| a.f(x));
        let mut d = [0.0; K];
        for (d, (&x, &y)) in d.iter_mut().zip(xs.iter().zip(&y)) {
            *d = a.df(x, y);
        }
        (y, d)
    }

    #[test]
    fn relu_and_leaky_relu_by_hand() {
        let x = [-2.0, -0.5, 0.0, 3.0];
        let (y, d) = eval(&Relu, x);
        assert_eq!(y, [0.0, 0.0, 0.0, 3.0]);
        assert_eq!(d, [0.0, 0.0, 0.0, 1.0]);
        let (y, d) = eval(&LeakyRelu::new(0.1), x);
        assert_eq!(y, [-0.2, -0.05, 0.0, 3.0]);
        assert_eq!(d, [0.1, 0.1, 0.1, 1.0]);
    }

    #[test]
    fn relu6_by_hand() {
        let (y, d) = eval(&Relu6, [-1.0, 0.0, 0.5, 3.0, 6.0, 7.5]);
        assert_eq!(y, [0.0, 0.0, 0.5, 3.0, 6.0, 6.0]);
        // 1 only strictly inside (0, 6): both kinks give 0.
        assert_eq!(d, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert!(Elementwise::<f64>::f(&Relu6, f64::NAN).is_nan());
    }

    #[test]
    fn hard_sigmoid_by_hand() {
        let (y, d) = eval(&HardSigmoid, [-4.0, -3.0, -1.5, 0.0, 1.5, 3.0, 4.0]);
        // (x + 3)/6 inside: −1.5 → 1.5/6 = 0.25, 0 → 0.5, 1.5 → 4.5/6 = 0.75.
        assert_eq!(y, [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]);
        let s = 1.0 / 6.0;
        assert_eq!(d, [0.0, 0.0, s, s, s, 0.0, 0.0]);
        assert!(Elementwise::<f64>::f(&HardSigmoid, f64::NAN).is_nan());
    }

    #[test]
    fn hard_swish_by_hand() {
        let (y, d) = eval(&HardSwish, [-4.0, -3.0, -1.5, 0.0, 1.5, 3.0, 4.0]);
        // x(x + 3)/6 inside: −1.5 → −1.5·1.5/6 = −0.375, 1.5 → 1.5·4.5/6 = 1.125; 3 → 3·6/6.
        assert_eq!(y, [0.0, 0.0, -0.375, 0.0, 1.125, 3.0, 4.0]);
        // (2x + 3)/6 inside: −1.5 → 0, 0 → 1/2, 1.5 → 1; current PyTorch at the kinks: 0, 1.
        assert_eq!(d, [0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0]);
        // Just inside the kinks the inner formula applies: (2·(−2.75) + 3)/6 = −5/12.
        let (_, d) = eval(&HardSwish, [-2.75, 2.75]);
        assert!((d[0] + 5.0 / 12.0).abs() < 1e-15 && (d[1] - 17.0 / 12.0).abs() < 1e-15);
        assert!(Elementwise::<f64>::f(&HardSwish, f64::NAN).is_nan());
    }

    #[test]
    fn f32_agrees_with_f64() {
        for x in [-3.5f32, -2.0, -0.25, 0.75, 2.5, 5.0, 6.5] {
            let xd = x as f64;
            for (a, b) in [
                (Relu6.f(x) as f64, Relu6.f(xd)),
                (HardSigmoid.f(x) as f64, HardSigmoid.f(xd)),
                (HardSwish.f(x) as f64, HardSwish.f(xd)),
            ] {
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{x}: {a} vs {b}");
            }
        }
    }
}
