//! Inverted dropout: in training, each unit is zeroed with probability p and the kept ones
//! are scaled by 1/(1 − p), so E(y) = x and inference is the identity.
//!
//! Training forward draws a mask m with mᵢ = 0 (probability p) or 1/(1 − p) and records it:
//! y = m ⊙ x. Backward goes through the same mask: ∂L/∂x = m ⊙ ∂L/∂y. The layer owns its
//! generator (SplitMix64), seeded once from the network's RNG, so a seeded network drops the
//! same units run after run, and a clone repeats its original's masks.

use crate::rng::{uniform01, SplitMix64};
use crate::{Layer, NoParams, Params, Scalar, TensorInfo};
use nalgebra::SVector;
use rand_core::RngCore;

/// Dropout over `N` values with drop probability `p` (0 ≤ p < 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Dropout<T: Scalar, const N: usize> {
    /// p, the probability of dropping a unit.
    p: f64,
    /// 1/(1 − p), the value of a kept unit's mask.
    scale: T,
    rng: SplitMix64,
}

impl<T: Scalar, const N: usize> Dropout<T, N> {
    const VALID: () = assert!(N > 0, "dropout: size must be positive");

    /// Dropout with probability `p`, its generator seeded from `rng.next_u64()`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1) (`network!` rejects such a `p` at compile time).
    pub fn new(p: f64, rng: &mut (impl RngCore + ?Sized)) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        assert!(
            (0.0..1.0).contains(&p),
            "dropout probability must be in [0, 1), found {p}"
        );
        Dropout {
            p,
            scale: T::of(1.0 / (1.0 - p)),
            rng: SplitMix64::new(rng.next_u64()),
        }
    }

    /// Dropout as a constant (`network!`'s `#[weights]` makes one): probability `p`, the kept
    /// units' scale `scale` = 1/(1 − p) in `T`, and a generator seeded with `seed`. The macro
    /// has checked `p`; nothing is checked here.
    pub const fn from_parts(p: f64, scale: T, seed: u64) -> Self {
        Dropout {
            p,
            scale,
            rng: SplitMix64::new(seed),
        }
    }

    /// The drop probability p.
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl<T: Scalar, const N: usize> crate::Random for Dropout<T, N> {
    fn reseed(&mut self, seed: u64) {
        self.rng = SplitMix64::new(seed);
    }
}

impl<T: Scalar, const N: usize> Params<T> for Dropout<T, N> {
    const TENSORS: usize = 0;
    const LEN: usize = 0;
    fn tensor(&self, _: usize) -> &[T] {
        &[]
    }
    fn tensor_mut(&mut self, _: usize) -> &mut [T] {
        &mut []
    }
    fn tensor_info(i: usize) -> TensorInfo {
        <NoParams as Params<T>>::tensor_info(i)
    }
}

impl<T: Scalar, const N: usize> Layer<T> for Dropout<T, N> {
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    /// The mask m: 0 for dropped units, 1/(1 − p) for kept ones.
    type Record = SVector<T, N>;
    type Grad = NoParams;
    const KIND: &'static str = "dropout";
    const MACS: usize = 0;

    /// Inference: the identity (the training scale already keeps E(y) = x).
    #[inline]
    fn forward(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        y.copy_from(x);
    }

    fn forward_train(
        &mut self,
        x: &SVector<T, N>,
        y: &mut SVector<T, N>,
        mask: &mut SVector<T, N>,
    ) {
        if self.p == 0.0 {
            // Exactly the identity, and no draws: p = 0 must not perturb the RNG stream.
            mask.fill(T::one());
            y.copy_from(x);
            return;
        }
        for ((y, m), &x) in y.iter_mut().zip(mask.iter_mut()).zip(x.iter()) {
            // A unit is kept when u ≥ p, which has probability 1 − p for u uniform in [0, 1).
            *m = if uniform01(&mut self.rng) >= self.p {
                self.scale
            } else {
                T::zero()
            };
            *y = *m * x;
        }
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, N>,
        _y: &SVector<T, N>,
        mask: &SVector<T, N>,
        dy: &SVector<T, N>,
        dx: Option<&mut SVector<T, N>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            for ((dx, &m), &dy) in dx.iter_mut().zip(mask.iter()).zip(dy.iter()) {
                *dx = m * dy;
            }
        }
    }
}

/// The identity: ONNX graphs are for inference.
impl<T: Scalar, const N: usize> crate::onnx::ToOnnx<T> for Dropout<T, N> {
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        crate::onnx::unary(g, "Identity", site, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(21);
        // check_layer clones the layer for every probe, so each forward draws the same mask.
        check_layer(&Dropout::<f64, 16>::new(0.3, &mut rng), &mut rng);
        check_layer(&Dropout::<f64, 16>::new(0.0, &mut rng), &mut rng);
        check_layer(&Dropout::<f64, 16>::new(0.9, &mut rng), &mut rng);
    }

    #[test]
    fn mask_values_and_backward_by_hand() {
        let mut d = Dropout::<f64, 64>::new(0.25, &mut SplitMix64::new(4));
        let x = SVector::<f64, 64>::from_fn(|i, _| i as f64 - 20.0);
        let (mut y, mut mask) = (SVector::zeros(), SVector::zeros());
        d.forward_train(&x, &mut y, &mut mask);
        let mut dropped = 0;
        for i in 0..64 {
            // Each mask entry is 0 or 1/(1 − 0.25) = 4/3, and y = m x.
            assert!(mask[i] == 0.0 || mask[i] == 4.0 / 3.0, "mask {}", mask[i]);
            assert_eq!(y[i], mask[i] * x[i]);
            dropped += (mask[i] == 0.0) as usize;
        }
        assert!(dropped > 0 && dropped < 64);
        let dy = SVector::<f64, 64>::from_element(3.0);
        let mut dx = SVector::zeros();
        d.backward(&x, &y, &mask, &dy, Some(&mut dx), &mut NoParams);
        for i in 0..64 {
            assert_eq!(dx[i], 3.0 * mask[i]);
        }
        // Inference is the identity.
        let mut z = SVector::zeros();
        d.forward(&x, &mut z);
        assert_eq!(z, x);
    }

    #[test]
    fn p_zero_is_identity() {
        let mut d = Dropout::<f32, 8>::new(0.0, &mut SplitMix64::new(9));
        let x = SVector::<f32, 8>::from_fn(|i, _| 0.1 + i as f32);
        let (mut y, mut mask) = (SVector::zeros(), SVector::zeros());
        d.forward_train(&x, &mut y, &mut mask);
        assert_eq!(y, x);
        assert_eq!(mask, SVector::<f32, 8>::from_element(1.0));
    }

    #[test]
    fn kept_fraction_and_mean_match_p() {
        const N: usize = 1000;
        let x = SVector::<f64, N>::from_fn(|i, _| 1.0 + (i % 7) as f64);
        for p in [0.1, 0.5, 0.8] {
            let mut d = Dropout::<f64, N>::new(p, &mut SplitMix64::new(17));
            let (mut y, mut mask) = (SVector::zeros(), SVector::zeros());
            let (mut kept, mut sum_y) = (0usize, SVector::<f64, N>::zeros());
            let trials = 200;
            for _ in 0..trials {
                d.forward_train(&x, &mut y, &mut mask);
                kept += mask.iter().filter(|&&m| m != 0.0).count();
                sum_y += y;
            }
            // Kept count ~ Binomial(200 000, 1 − p): its std is at most 224, i.e. 0.0011 of
            // the fraction; 0.006 is over five standard deviations.
            let frac = kept as f64 / (N * trials) as f64;
            assert!((frac - (1.0 - p)).abs() < 0.006, "p {p}: kept {frac}");
            // E(y) = x: the mean over all units and trials of y/x is 1 within the same bound
            // scaled by the kept value 1/(1 − p).
            let ratio = (0..N)
                .map(|i| sum_y[i] / (trials as f64 * x[i]))
                .sum::<f64>()
                / N as f64;
            assert!(
                (ratio - 1.0).abs() < 0.006 / (1.0 - p),
                "p {p}: E(y)/x {ratio}"
            );
        }
    }

    #[test]
    fn seeded_from_the_given_rng() {
        let a = Dropout::<f64, 4>::new(0.5, &mut SplitMix64::new(1));
        let b = Dropout::<f64, 4>::new(0.5, &mut SplitMix64::new(1));
        let c = Dropout::<f64, 4>::new(0.5, &mut SplitMix64::new(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(<Dropout<f64, 4> as Params<f64>>::LEN, 0);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        use crate::layer::contract::check_overwrites;
        // Inference (`forward`, the identity) and training (`forward_train` with its mask,
        // `backward` through it), including p = 0's shortcut.
        let mut rng = SplitMix64::new(22);
        check_overwrites(&Dropout::<f64, 16>::new(0.3, &mut rng), 1);
        check_overwrites(&Dropout::<f64, 16>::new(0.0, &mut rng), 2);
        check_overwrites(&Dropout::<f64, 16>::new(0.9, &mut rng), 3);
    }
}
