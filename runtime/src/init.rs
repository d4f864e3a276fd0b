//! Parameter initialisation schemes, with PyTorch's formulas.
//!
//! Xavier/Glorot (2010) keeps the variance of activations and gradients equal across layers
//! with symmetric activations: Var(w) = 2 / (fan_in + fan_out). He/Kaiming (2015) doubles the
//! variance to make up for ReLU zeroing half its inputs: Var(w) = 2 / fan_in.

use crate::rng::{standard_normal, uniform_sym};
use crate::{Params, Scalar, Zeros};
use rand_core::RngCore;

/// How to fill a tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every value 0 (the default for biases).
    Zeros,
    /// Every value `c`.
    Constant(f64),
    /// N(0, σ²).
    Normal(f64),
    /// U(−a, a).
    Uniform(f64),
    /// U(−b, b) with b = √(6 / (fan_in + fan_out)).
    XavierUniform,
    /// N(0, 2 / (fan_in + fan_out)).
    XavierNormal,
    /// U(−b, b) with b = √(6 / fan_in).
    HeUniform,
    /// N(0, 2 / fan_in).
    HeNormal,
}

impl Init {
    /// Fills `t` for a layer with the given fans.
    pub fn fill<T: Scalar>(
        self,
        t: &mut [T],
        fan_in: usize,
        fan_out: usize,
        rng: &mut (impl RngCore + ?Sized),
    ) {
        use nalgebra::ComplexField as F;
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        for v in t.iter_mut() {
            *v = T::of(match self {
                Init::Zeros => 0.0,
                Init::Constant(c) => c,
                Init::Normal(s) => s * standard_normal(rng),
                Init::Uniform(a) => uniform_sym(rng, a),
                Init::XavierUniform => uniform_sym(rng, F::sqrt(6.0 / (fi + fo))),
                Init::XavierNormal => F::sqrt(2.0 / (fi + fo)) * standard_normal(rng),
                Init::HeUniform => uniform_sym(rng, F::sqrt(6.0 / fi)),
                Init::HeNormal => F::sqrt(2.0 / fi) * standard_normal(rng),
            });
        }
    }
}

/// A layer with every parameter tensor, weights and biases alike, filled by `init` with that
/// tensor's fans: how PyTorch initialises its recurrent layers (U(−1/√H, 1/√H) throughout).
pub fn filled<T: Scalar, L: Params<T> + Zeros>(init: Init, rng: &mut (impl RngCore + ?Sized)) -> L {
    let mut layer = L::zeros();
    for i in 0..L::TENSORS {
        let info = L::tensor_info(i);
        init.fill(layer.tensor_mut(i), info.fan_in, info.fan_out, rng);
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use std::vec;

    fn moments(init: Init, fan_in: usize, fan_out: usize) -> (f64, f64, f64) {
        let mut t = vec![0.0f64; 100_000];
        init.fill(&mut t, fan_in, fan_out, &mut SplitMix64::new(3));
        let n = t.len() as f64;
        let mean = t.iter().sum::<f64>() / n;
        let var = t.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let max = t.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        (mean, var, max)
    }

    #[test]
    fn variances_match_the_formulas() {
        // (init, fan_in, fan_out, expected variance, bound if uniform)
        let cases = [
            (
                Init::XavierUniform,
                30,
                50,
                2.0f64 / 80.0,
                Some((6.0f64 / 80.0).sqrt()),
            ),
            (Init::XavierNormal, 30, 50, 2.0 / 80.0, None),
            (
                Init::HeUniform,
                30,
                50,
                2.0 / 30.0,
                Some((6.0f64 / 30.0).sqrt()),
            ),
            (Init::HeNormal, 30, 50, 2.0 / 30.0, None),
            (Init::Normal(0.5), 1, 1, 0.25, None),
            (Init::Uniform(0.3), 1, 1, 0.09 / 3.0, Some(0.3)),
        ];
        for (init, fi, fo, var, bound) in cases {
            let (m, v, max) = moments(init, fi, fo);
            assert!(m.abs() < 0.01 * var.sqrt() * 5.0, "{init:?} mean {m}");
            assert!(
                (v / var - 1.0).abs() < 0.02,
                "{init:?} var {v} expected {var}"
            );
            if let Some(b) = bound {
                assert!(max <= b && max > 0.99 * b, "{init:?} max {max} bound {b}");
            }
        }
        assert_eq!(moments(Init::Constant(0.25), 3, 3), (0.25, 0.0, 0.25));
        assert_eq!(moments(Init::Zeros, 3, 3), (0.0, 0.0, 0.0));
    }

    #[test]
    fn filled_fills_every_tensor_within_the_bound() {
        use crate::layers::Dense;
        let layer: Dense<f64, 30, 20> = filled(Init::Uniform(0.2), &mut SplitMix64::new(5));
        for i in 0..2 {
            let t = layer.tensor(i);
            assert!(t.iter().all(|v| v.abs() <= 0.2), "tensor {i}");
            // Drawn, not left at zero: the bias too.
            assert!(
                t.iter().filter(|v| **v != 0.0).count() > t.len() * 9 / 10,
                "tensor {i}"
            );
        }
    }
}
