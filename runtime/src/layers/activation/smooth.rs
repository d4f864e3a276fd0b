//! Smooth activations: sigmoid, tanh, the exponential units (ELU, SELU), softplus and the
//! gated ones (SiLU, GELU), with PyTorch's definitions and defaults.
//!
//! Each is computed in a form that neither overflows nor cancels: exponentials only of
//! non-positive arguments, `exp_m1` and `ln_1p` near zero, `erfc` rather than 1 + erf in
//! GELU's negative tail. The values are PyTorch's up to rounding; where PyTorch's own formula
//! would cancel (1 + erf(x/√2) or 1 + tanh(u) for x ≪ 0) ours keeps the relative accuracy.

use super::{keep_nan, Elementwise};
use crate::onnx::{Attr, Graph, Site};
use crate::Scalar;
use core::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

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

/// σ(x) = 1 / (1 + e⁻ˣ), σ′ = y(1 − y).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl<T: Scalar> Elementwise<T> for Sigmoid {
    const KIND: &'static str = "sigmoid";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(g, "Sigmoid", site, &[]);
    }
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
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(g, "Tanh", site, &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        x.tanh()
    }
    #[inline(always)]
    fn df(&self, _x: T, y: T) -> T {
        T::one() - y * y
    }
}

/// PyTorch's `nn.ELU` (Clevert et al. 2015): x for x > 0, α(eˣ − 1) otherwise; α = 1 by
/// default. f′ = 1 for x > 0 and αeˣ for x ≤ 0, so f′(0) = α, as PyTorch's `elu_backward`
/// takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu<T> {
    /// α, the negative saturation value: f(x) → −α as x → −∞.
    pub alpha: T,
}

impl<T: Scalar> Elu<T> {
    /// With the given α, converted to `T`.
    pub fn new(alpha: f64) -> Self {
        Elu {
            alpha: T::of(alpha),
        }
    }
}

impl<T: Scalar> Default for Elu<T> {
    /// α = 1, PyTorch's default.
    fn default() -> Self {
        Elu::new(1.0)
    }
}

impl<T: Scalar> Elementwise<T> for Elu<T> {
    const KIND: &'static str = "elu";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(
            g,
            "Elu",
            site,
            &[Attr::Float("alpha", self.alpha.to_f64() as f32)],
        );
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        // `exp_m1`: eˣ − 1 would lose the digits of small negative x to cancellation.
        if x <= T::zero() {
            self.alpha * x.exp_m1()
        } else {
            x
        }
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        // αeˣ from x rather than y + α, which would cancel for x ≪ 0.
        if x <= T::zero() {
            self.alpha * x.exp()
        } else {
            keep_nan(x, T::one())
        }
    }
}

/// PyTorch's `nn.SELU` (Klambauer et al. 2017): λ·x for x > 0, λα(eˣ − 1) otherwise, with the
/// fixed [`ALPHA`](Selu::ALPHA) and [`SCALE`](Selu::SCALE) that make it self-normalising.
/// f′ = λ for x > 0, λαeˣ for x ≤ 0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Selu;

impl Selu {
    /// α = 1.6732632423543772848170429916717 (PyTorch's constant), to f64 precision.
    pub const ALPHA: f64 = 1.673_263_242_354_377_2;
    /// λ = 1.0507009873554804934193349852946 (PyTorch's constant), to f64 precision.
    pub const SCALE: f64 = 1.050_700_987_355_480_5;
}

impl<T: Scalar> Elementwise<T> for Selu {
    const KIND: &'static str = "selu";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        crate::onnx::unary(g, "Selu", site, &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        // λα as one constant, as PyTorch folds it (its `negcoef`).
        if x <= T::zero() {
            T::of(Selu::ALPHA * Selu::SCALE) * x.exp_m1()
        } else {
            T::of(Selu::SCALE) * x
        }
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        if x <= T::zero() {
            T::of(Selu::ALPHA * Selu::SCALE) * x.exp()
        } else {
            keep_nan(x, T::of(Selu::SCALE))
        }
    }
}

/// PyTorch's `nn.Softplus`: (1/β)·ln(1 + e^(βx)), and x itself once βx > `threshold`
/// (where the two differ by less than e^(−threshold)/β); β = 1 and threshold = 20 by default.
/// f′ = σ(βx), and 1 on the linear part.
///
/// Below the threshold it is computed as (max(βx, 0) + ln(1 + e^(−|βx|)))/β, which equals
/// PyTorch's `log1p(exp(βx))/β` but cannot overflow, whatever the threshold. β must be
/// non-zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus<T> {
    /// β, the sharpness: larger β is closer to ReLU. Non-zero.
    pub beta: T,
    /// Above this value of βx the output is x itself.
    pub threshold: T,
}

impl<T: Scalar> Softplus<T> {
    /// Panics if `beta` is zero (the function would be 0/0).
    pub fn new(beta: f64, threshold: f64) -> Self {
        assert!(beta != 0.0, "softplus: `beta` must be non-zero");
        Softplus {
            beta: T::of(beta),
            threshold: T::of(threshold),
        }
    }
}

impl<T: Scalar> Default for Softplus<T> {
    /// β = 1, threshold = 20, PyTorch's defaults.
    fn default() -> Self {
        Softplus::new(1.0, 20.0)
    }
}

impl<T: Scalar> Elementwise<T> for Softplus<T> {
    const KIND: &'static str = "softplus";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        // ONNX's Softplus is β = 1 with no threshold (above it both give x to rounding).
        let beta = self.beta.to_f64() as f32;
        if beta == 1.0 {
            return crate::onnx::unary(g, "Softplus", site, &[]);
        }
        let (b, bx, s) = (site.of("beta"), site.of("beta_x"), site.of("softplus"));
        g.floats(b, &[], &[beta]);
        g.node("Mul", &[site.input, b], &[bx], &[]);
        g.node("Softplus", &[bx], &[s], &[]);
        g.node("Div", &[s, b], &[site.output], &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        let z = self.beta * x;
        if z > self.threshold {
            x
        } else {
            let pos = if z > T::zero() { z } else { T::zero() };
            (pos + (-z.abs()).exp().ln_1p()) / self.beta
        }
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        let z = self.beta * x;
        if z > self.threshold {
            T::one()
        } else {
            // PyTorch writes e^z/(e^z + 1), which is NaN once e^z overflows; σ(z) is not.
            sigmoid(z)
        }
    }
}

/// PyTorch's `nn.SiLU`, a.k.a. swish (Elfwing et al. 2017, Ramachandran et al. 2017):
/// x·σ(x). f′ = σ(x)(1 + x(1 − σ(x))).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Silu;

impl<T: Scalar> Elementwise<T> for Silu {
    const KIND: &'static str = "silu";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        let s = site.of("sigmoid");
        g.node("Sigmoid", &[site.input], &[s], &[]);
        g.node("Mul", &[site.input, s], &[site.output], &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        x * sigmoid(x)
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        // σ(x) again: y/x would divide by zero at x = 0.
        let s = sigmoid(x);
        s * (T::one() + x * (T::one() - s))
    }
}

/// 1/√(2π), the standard normal density at 0, written as PyTorch builds it.
const INV_SQRT_2PI: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2 * 0.5;

/// PyTorch's `nn.GELU()` (Hendrycks and Gimpel 2016), exact: x·Φ(x), with Φ the standard
/// normal distribution function. f′ = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
///
/// Φ(x) is computed as erfc(−x/√2)/2 rather than PyTorch's (1 + erf(x/√2))/2: the same
/// function, but the sum cancels to 0 for x below about −8 (−5.5 in f32), where erfc keeps
/// every digit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu;

/// Φ(x) = erfc(−x/√2)/2.
#[inline(always)]
fn normal_cdf<T: Scalar>(x: T) -> T {
    T::of(0.5) * (-x * T::of(FRAC_1_SQRT_2)).erfc()
}

impl<T: Scalar> Elementwise<T> for Gelu {
    const KIND: &'static str = "gelu";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        // x·Φ(x) = x·(1 + erf(x/√2))/2, in opset 17's nodes.
        let (r2, one, half) = (site.of("sqrt2"), site.of("one"), site.of("half"));
        let (u, e, p, xp) = (
            site.of("scaled"),
            site.of("erf"),
            site.of("plus_one"),
            site.of("x_plus"),
        );
        g.floats(r2, &[], &[core::f32::consts::SQRT_2]);
        g.floats(one, &[], &[1.0]);
        g.floats(half, &[], &[0.5]);
        g.node("Div", &[site.input, r2], &[u], &[]);
        g.node("Erf", &[u], &[e], &[]);
        g.node("Add", &[e, one], &[p], &[]);
        g.node("Mul", &[site.input, p], &[xp], &[]);
        g.node("Mul", &[xp, half], &[site.output], &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        x * normal_cdf(x)
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        let pdf = T::of(INV_SQRT_2PI) * (x * x * T::of(-0.5)).exp();
        normal_cdf(x) + x * pdf
    }
}

/// √(2/π), written as PyTorch builds it.
const SQRT_2_OVER_PI: f64 = core::f64::consts::SQRT_2 * FRAC_2_SQRT_PI * 0.5;
/// The cubic coefficient of the tanh approximation.
const GELU_KAPPA: f64 = 0.044715;

/// PyTorch's `nn.GELU(approximate='tanh')`: x·(1 + tanh u)/2 with u = √(2/π)(x + 0.044715x³).
///
/// Computed through the identity (1 + tanh u)/2 = σ(2u), as x·σ(2u): the same function with
/// one exponential and no cancellation for x ≪ 0 (where 1 + tanh u rounds to 0).
/// f′ = σ(2u) + 2x·σ(2u)(1 − σ(2u))·√(2/π)(1 + 3·0.044715x²).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GeluTanh;

impl GeluTanh {
    /// u = √(2/π)(x + κx³).
    #[inline(always)]
    fn inner<T: Scalar>(x: T) -> T {
        T::of(SQRT_2_OVER_PI) * (x + T::of(GELU_KAPPA) * x * x * x)
    }
}

impl<T: Scalar> Elementwise<T> for GeluTanh {
    const KIND: &'static str = "gelu_tanh";
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        // x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2, in opset 17's nodes.
        let (c, k, one, half) = (site.of("c"), site.of("k"), site.of("one"), site.of("half"));
        let (x2, x3, kx3, inner, scaled) = (
            site.of("x2"),
            site.of("x3"),
            site.of("kx3"),
            site.of("inner"),
            site.of("scaled"),
        );
        let (t, p, xp) = (site.of("tanh"), site.of("plus_one"), site.of("x_plus"));
        g.floats(c, &[], &[0.797_884_6]);
        g.floats(k, &[], &[0.044_715]);
        g.floats(one, &[], &[1.0]);
        g.floats(half, &[], &[0.5]);
        g.node("Mul", &[site.input, site.input], &[x2], &[]);
        g.node("Mul", &[x2, site.input], &[x3], &[]);
        g.node("Mul", &[x3, k], &[kx3], &[]);
        g.node("Add", &[site.input, kx3], &[inner], &[]);
        g.node("Mul", &[inner, c], &[scaled], &[]);
        g.node("Tanh", &[scaled], &[t], &[]);
        g.node("Add", &[t, one], &[p], &[]);
        g.node("Mul", &[site.input, p], &[xp], &[]);
        g.node("Mul", &[xp, half], &[site.output], &[]);
    }
    #[inline(always)]
    fn f(&self, x: T) -> T {
        let two = T::of(2.0);
        x * sigmoid(two * Self::inner(x))
    }
    #[inline(always)]
    fn df(&self, x: T, _y: T) -> T {
        let two = T::of(2.0);
        let s = sigmoid(two * Self::inner(x));
        let du = T::of(SQRT_2_OVER_PI) * (T::one() + T::of(3.0 * GELU_KAPPA) * x * x);
        s + two * x * s * (T::one() - s) * du
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its everywhere-positive series, an independent method from `libm`'s rational
    /// approximations: erf x = (2/√π) e^(−x²) Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)). No term
    /// cancels another, so it is good to a few ulps for the moderate x tested here.
    fn erf_series(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        let mut n = 0.0;
        while term.abs() > 1e-18 * sum.abs() {
            n += 1.0;
            term *= 2.0 * x * x / (2.0 * n + 1.0);
            sum += term;
        }
        FRAC_2_SQRT_PI * (-x * x).exp() * sum
    }

    /// erfc for z > 0 by its continued fraction (Laplace), accurate where 1 − erf cancels:
    /// erfc z = e^(−z²)/√π / (z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …))))).
    fn erfc_continued_fraction(z: f64) -> f64 {
        let mut k = z;
        for n in (1..=200).rev() {
            k = z + (n as f64 / 2.0) / k;
        }
        FRAC_2_SQRT_PI / 2.0 * (-z * z).exp() / k
    }

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs().max(1e-300)
    }

    #[test]
    fn sigmoid_and_tanh_known_values() {
        // σ(0) = 1/2; σ(3) = 1/(1 + e⁻³) = 0.9525741268224334; σ(−x) = 1 − σ(x).
        assert_eq!(Elementwise::<f64>::f(&Sigmoid, 0.0), 0.5);
        assert!((sigmoid(3.0f64) - 0.952_574_126_822_433_4).abs() < 1e-15);
        assert!((sigmoid(-2.0f64) - (1.0 - 0.880_797_077_977_882_3)).abs() < 1e-15);
        // tanh(−0.5) = −0.46211715726000974
        assert!((Elementwise::<f64>::f(&Tanh, -0.5) + 0.462_117_157_260_009_74).abs() < 1e-15);
        // No overflow at the extremes.
        assert_eq!(sigmoid(-1000.0f64), 0.0);
        assert_eq!(sigmoid(1000.0f64), 1.0);
    }

    #[test]
    fn scalar_erf_matches_the_series() {
        for x in [-3.5, -2.0, -0.7, -1e-3, 0.0, 0.3, 1.0, 2.25, 3.5] {
            let want = erf_series(x);
            let (got, gotc) = (Scalar::erf(x), Scalar::erfc(x));
            // The series sums terms up to e^(x²) times larger than its result: a few ulps.
            assert!(
                (got - want).abs() < 2e-15,
                "erf({x}) = {got}, series {want}"
            );
            assert!((gotc - (1.0 - want)).abs() < 2e-15, "erfc({x}) = {gotc}");
            let g32 = Scalar::erf(x as f32) as f64;
            assert!((g32 - want).abs() < 2e-7, "f32 erf({x}) = {g32}");
        }
        // erf(1) = 0.8427007929497148693…, a tabulated value.
        assert!((erf_series(1.0) - 0.842_700_792_949_714_9).abs() < 5e-16);
        // The tail, where erfc must not be 1 − erf.
        for z in [3.0, 4.5, 6.0, 10.0] {
            let want = erfc_continued_fraction(z);
            assert!(close(Scalar::erfc(z), want, 1e-14), "erfc({z})");
        }
    }

    #[test]
    fn elu_and_selu_by_formula() {
        // e⁻¹ = 0.36787944117144233, e⁻² = 0.1353352832366127.
        let (e1, e2) = (0.367_879_441_171_442_33, 0.135_335_283_236_612_7);
        let elu = Elu::<f64>::default();
        assert_eq!(elu.alpha, 1.0);
        assert!(close(elu.f(-1.0), e1 - 1.0, 1e-15));
        assert!(close(elu.df(-1.0, 0.0), e1, 1e-15));
        assert_eq!((elu.f(2.0), elu.df(2.0, 2.0)), (2.0, 1.0));
        let half = Elu::<f64>::new(0.5);
        assert!(close(half.f(-2.0), 0.5 * (e2 - 1.0), 1e-15));
        assert!(close(half.df(-2.0, 0.0), 0.5 * e2, 1e-15));
        // f′(0) = α: PyTorch takes the x ≤ 0 branch at 0.
        assert_eq!(half.df(0.0, 0.0), 0.5);
        // Small x keeps its digits: α(eˣ − 1) ≈ αx(1 + x/2).
        assert!(close(elu.f(-1e-10), -1e-10 * (1.0 - 0.5e-10), 1e-15));

        // PyTorch's constants, typed again here from its documentation.
        let (alpha, scale) = (1.673_263_242_354_377_2, 1.050_700_987_355_480_5);
        let selu = Selu;
        assert!(close(Elementwise::<f64>::f(&selu, 2.0), 2.0 * scale, 1e-15));
        assert!(close(
            Elementwise::<f64>::f(&selu, -1.0),
            scale * alpha * (e1 - 1.0),
            1e-15
        ));
        // selu(−1) = −1.1113307378125628 (to 16 digits).
        assert!(close(
            Elementwise::<f64>::f(&selu, -1.0),
            -1.111_330_737_812_562_8,
            1e-15
        ));
        assert!(close(
            Elementwise::<f64>::df(&selu, -1.0, 0.0),
            scale * alpha * e1,
            1e-15
        ));
        assert_eq!(Elementwise::<f64>::df(&selu, 1.0, 0.0), scale);
        // Saturates at −λα = −1.7580993408473768.
        assert!(close(
            Elementwise::<f64>::f(&selu, -40.0),
            -1.758_099_340_847_376_8,
            1e-15
        ));
    }

    #[test]
    fn softplus_by_formula() {
        let sp = Softplus::<f64>::default();
        assert_eq!((sp.beta, sp.threshold), (1.0, 20.0));
        // ln 2, ln(1 + e), ln(1 + e⁻¹) = ln(1 + e) − 1.
        let ln2 = core::f64::consts::LN_2;
        let ln1pe = 1.313_261_687_518_222_8;
        assert!(close(sp.f(0.0), ln2, 1e-15));
        assert!(close(sp.f(1.0), ln1pe, 1e-15));
        assert!(close(sp.f(-1.0), ln1pe - 1.0, 1e-15));
        // Below the threshold still the formula: 19 + ln(1 + e⁻¹⁹) = 19.000000005602796.
        assert!(close(sp.f(19.0), 19.000_000_005_602_796, 1e-15));
        // Above it, x exactly, and f′ = 1.
        assert_eq!((sp.f(21.0), sp.df(21.0, 21.0)), (21.0, 1.0));
        assert!(close(sp.df(0.0, 0.0), 0.5, 1e-15));
        assert!(close(
            sp.df(-1.0, 0.0),
            1.0 / (1.0 + core::f64::consts::E),
            1e-15
        ));

        // β = 2: ln(1 + e²)/2 = 1.0634640055214863; βx = 22 > 20 → linear.
        let sp2 = Softplus::<f64>::new(2.0, 20.0);
        assert!(close(sp2.f(1.0), 1.063_464_005_521_486_2, 1e-15));
        assert_eq!(sp2.f(11.0), 11.0);
        let e2 = 0.135_335_283_236_612_7; // σ(2) = 1/(1 + e⁻²)
        assert!(close(sp2.df(1.0, 0.0), 1.0 / (1.0 + e2), 1e-15));

        // A huge threshold: the naive ln(1 + e⁸⁰⁰) would be ∞, and its f′ NaN.
        let wide = Softplus::<f64>::new(1.0, 1e4);
        assert_eq!(wide.f(800.0), 800.0);
        assert_eq!(wide.df(800.0, 800.0), 1.0);
        assert_eq!(wide.f(-800.0), 0.0); // e⁻⁸⁰⁰ ≈ 3.7e−348 underflows
        let sp32 = Softplus::<f32>::new(1.0, 1e4);
        assert_eq!(sp32.f(200.0), 200.0);
    }

    #[test]
    #[should_panic(expected = "`beta` must be non-zero")]
    fn softplus_refuses_beta_zero() {
        let _ = Softplus::<f64>::new(0.0, 20.0);
    }

    #[test]
    fn silu_by_formula() {
        // σ(1) = 0.7310585786300049, σ(−1) = 1 − σ(1).
        let s1 = 0.731_058_578_630_004_9;
        assert!(close(Elementwise::<f64>::f(&Silu, 1.0), s1, 1e-15));
        assert!(close(
            Elementwise::<f64>::f(&Silu, -1.0),
            -(1.0 - s1),
            1e-15
        ));
        assert_eq!(Elementwise::<f64>::f(&Silu, 0.0), 0.0);
        assert_eq!(Elementwise::<f64>::df(&Silu, 0.0, 0.0), 0.5);
        // f′(1) = σ(1)(1 + (1 − σ(1))) = 0.9276705118714867.
        assert!(close(
            Elementwise::<f64>::df(&Silu, 1.0, 0.0),
            0.927_670_511_871_486_7,
            1e-15
        ));
        assert_eq!(Elementwise::<f64>::f(&Silu, -1000.0), 0.0);
    }

    #[test]
    fn gelu_against_an_independent_erf() {
        // Here the reference's 1 + erf cancels for x < 0, so its error is absolute (≈ 1e−16
        // on Φ): compare to within a few of those, scaled by |x|. The tail is tested below.
        for x in [-3.0, -1.5, -0.5, -1e-4, 0.0, 0.25, 1.0, 2.5, 3.5] {
            let phi = 0.5 * (1.0 + erf_series(x * FRAC_1_SQRT_2));
            let want = x * phi;
            let got = Elementwise::<f64>::f(&Gelu, x);
            assert!((got - want).abs() <= 1e-15 * x.abs().max(1e-3), "gelu({x})");
            let dwant = phi + x * (-x * x / 2.0).exp() / (2.0 * core::f64::consts::PI).sqrt();
            let dgot = Elementwise::<f64>::df(&Gelu, x, got);
            assert!((dgot - dwant).abs() <= 2e-15, "gelu′({x})");
            // Φ(x) + Φ(−x) = 1, so gelu(x) − gelu(−x) = x.
            let odd = got - Elementwise::<f64>::f(&Gelu, -x);
            assert!((odd - x).abs() <= 1e-15 * x.abs().max(1e-3));
        }
        // Tabulated: Φ(1) = 0.8413447460685429, so gelu(1) = Φ(1) and gelu(−1) = Φ(1) − 1.
        assert!(close(
            Elementwise::<f64>::f(&Gelu, 1.0),
            0.841_344_746_068_542_9,
            1e-15
        ));
        assert!(close(
            Elementwise::<f64>::f(&Gelu, -1.0),
            0.841_344_746_068_542_9 - 1.0,
            1e-14
        ));
        // The negative tail keeps its relative accuracy (1 + erf would give 0 at −10):
        // gelu(x) = x·erfc(−x/√2)/2.
        for x in [-5.0, -10.0, -20.0] {
            let want = x * 0.5 * erfc_continued_fraction(-x * FRAC_1_SQRT_2);
            assert!(
                close(Elementwise::<f64>::f(&Gelu, x), want, 1e-13),
                "gelu({x})"
            );
        }
        assert!(Elementwise::<f64>::f(&Gelu, -10.0) < 0.0);
        assert!(close(
            Elementwise::<f64>::f(&Gelu, -5.0),
            -1.433_257_859_395_969_6e-6,
            1e-13
        ));
    }

    #[test]
    fn gelu_tanh_against_pytorchs_formula() {
        // PyTorch's form, 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), with √(2/π) typed here.
        let k = 0.797_884_560_802_865_4;
        let torch = |x: f64| 0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh());
        let dtorch = |x: f64| {
            let t = (k * (x + 0.044715 * x * x * x)).tanh();
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x)
        };
        // PyTorch's 1 + tanh u cancels for x < 0: its error is absolute, ≈ 1e−16·|x|.
        for x in [-3.0, -1.5, -0.5, 0.0, 0.25, 1.0, 2.5, 4.0] {
            let got = Elementwise::<f64>::f(&GeluTanh, x);
            assert!((got - torch(x)).abs() <= 2e-15 * x.abs().max(1e-3), "{x}");
            let dgot = Elementwise::<f64>::df(&GeluTanh, x, got);
            assert!((dgot - dtorch(x)).abs() <= 4e-15 * x.abs().max(1.0), "{x}");
        }
        // gelu_tanh(1) = 0.8411919906082767, close to (not equal to) gelu(1).
        assert!(close(
            Elementwise::<f64>::f(&GeluTanh, 1.0),
            0.841_191_990_608_276_7,
            1e-15
        ));
        // Where 1 + tanh u rounds to 0, the σ form still gives a (tiny) negative value.
        assert_eq!(torch(-10.0), 0.0);
        assert!(Elementwise::<f64>::f(&GeluTanh, -10.0) < 0.0);
    }

    #[test]
    fn f32_agrees_with_f64() {
        fn both<A: Elementwise<f32>, B: Elementwise<f64>>(a: A, b: B) {
            for x in [-6.0f32, -2.5, -0.75, -1e-3, 0.0, 0.5, 1.25, 3.0, 8.0] {
                let (y32, y64) = (a.f(x), b.f(x as f64));
                let (d32, d64) = (a.df(x, y32) as f64, b.df(x as f64, y64));
                // Relative for values; absolute below 1 for derivatives, since σ′ = y(1 − y)
                // cancels in f32 as σ → 1.
                assert!(
                    (y32 as f64 - y64).abs() <= 2e-6 * y64.abs().max(1e-3),
                    "{}({x})",
                    B::KIND
                );
                assert!(
                    (d32 - d64).abs() <= 2e-6 * d64.abs().max(1.0),
                    "{}′({x})",
                    B::KIND
                );
            }
        }
        both(Sigmoid, Sigmoid);
        both(Tanh, Tanh);
        both(Elu::new(0.5), Elu::new(0.5));
        both(Selu, Selu);
        both(Softplus::new(2.0, 20.0), Softplus::new(2.0, 20.0));
        both(Silu, Silu);
        both(Gelu, Gelu);
        both(GeluTanh, GeluTanh);
    }
}
