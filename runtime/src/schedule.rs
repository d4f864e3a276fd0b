//! Learning-rate schedules: the rate as a function of the epoch, for any optimiser.
//!
//! A schedule only computes α(epoch); the training loop hands it to the optimiser between
//! epochs, so every schedule composes with every optimiser:
//!
//! ```
//! use stacknet_runtime::optim::Sgd;
//! use stacknet_runtime::schedule::{Schedule, StepDecay};
//!
//! let schedule = StepDecay::new(0.1, 10, 0.5); // 0.1 for epochs 0–9, 0.05 for 10–19…
//! let mut opt = Sgd::<f32>::new(0.1);
//! for epoch in 0..30 {
//!     opt.set_learning_rate(schedule.lr(epoch));
//!     // … one epoch of `trainer.step(&mut net, &mut opt, …)` …
//! }
//! assert_eq!(opt.learning_rate(), 0.025);
//! ```
//!
//! Epochs count from 0, as PyTorch's `last_epoch` after the first `scheduler.step()` does not:
//! here `lr(0)` is the rate of the first epoch, which is α₀ for every schedule but
//! [`InverseSqrt`] (see there). Any `Fn(usize) -> T` is a schedule too.
//!
//! Rates are in the network's scalar `T`, as the optimisers take them (see
//! [`optim`](crate::optim)): a schedule's rate goes to
//! [`set_learning_rate`](crate::optim::Optimizer::set_learning_rate) as it is.

use crate::Scalar;

/// A learning rate for each epoch, in the scalar `T` of the network it trains.
pub trait Schedule<T: Scalar> {
    /// The learning rate of `epoch` (from 0).
    fn lr(&self, epoch: usize) -> T;
}

impl<T: Scalar, F: Fn(usize) -> T> Schedule<T> for F {
    fn lr(&self, epoch: usize) -> T {
        self(epoch)
    }
}

fn epochs<T: Scalar>(n: usize) -> T {
    T::of(n as f64)
}

/// α₀ for every epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constant<T>(pub T);

impl<T: Scalar> Schedule<T> for Constant<T> {
    fn lr(&self, _epoch: usize) -> T {
        self.0
    }
}

/// Inverse-time decay α₀ / (1 + k·epoch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseTime<T> {
    /// α₀, the learning rate at epoch 0.
    pub lr0: T,
    /// k, the decay per epoch: the rate has halved at epoch 1/k.
    pub k: T,
}

impl<T: Scalar> InverseTime<T> {
    /// α₀ / (1 + k·epoch).
    pub fn new(lr0: T, k: T) -> Self {
        InverseTime { lr0, k }
    }
}

impl<T: Scalar> Schedule<T> for InverseTime<T> {
    fn lr(&self, epoch: usize) -> T {
        self.lr0 / (T::one() + self.k * epochs(epoch))
    }
}

/// Exponential decay α₀·γ^epoch (PyTorch's `ExponentialLR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential<T> {
    /// α₀, the learning rate at epoch 0.
    pub lr0: T,
    /// γ, the factor applied each epoch (below 1 to decay).
    pub gamma: T,
}

impl<T: Scalar> Exponential<T> {
    /// α₀·γ^epoch.
    pub fn new(lr0: T, gamma: T) -> Self {
        Exponential { lr0, gamma }
    }
}

impl<T: Scalar> Schedule<T> for Exponential<T> {
    fn lr(&self, epoch: usize) -> T {
        self.lr0 * self.gamma.powf(epochs(epoch))
    }
}

/// Inverse square-root decay α₀·k / √epoch.
///
/// 1/√0 is infinite, so epoch 0 takes epoch 1's rate: α₀·k for epochs 0 and 1, then
/// α₀·k/√2, α₀·k/√3… (the same as α₀·k / √max(epoch, 1)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseSqrt<T> {
    /// α₀, the base learning rate.
    pub lr0: T,
    /// k, a scale on α₀: epochs 0 and 1 run at α₀·k.
    pub k: T,
}

impl<T: Scalar> InverseSqrt<T> {
    /// α₀·k / √max(epoch, 1).
    pub fn new(lr0: T, k: T) -> Self {
        InverseSqrt { lr0, k }
    }
}

impl<T: Scalar> Schedule<T> for InverseSqrt<T> {
    fn lr(&self, epoch: usize) -> T {
        self.lr0 * self.k / epochs::<T>(epoch.max(1)).sqrt()
    }
}

/// Step decay α₀·γ^⌊epoch / step⌋: multiply by γ every `step` epochs (PyTorch's `StepLR`).
/// A `step` of 0 behaves as 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay<T> {
    /// α₀, the learning rate at epoch 0.
    pub lr0: T,
    /// Epochs between two decays (PyTorch's `step_size`).
    pub step: usize,
    /// γ, the factor applied every `step` epochs.
    pub gamma: T,
}

impl<T: Scalar> StepDecay<T> {
    /// α₀·γ^⌊epoch / step⌋.
    pub fn new(lr0: T, step: usize, gamma: T) -> Self {
        StepDecay { lr0, step, gamma }
    }
}

impl<T: Scalar> Schedule<T> for StepDecay<T> {
    fn lr(&self, epoch: usize) -> T {
        self.lr0 * self.gamma.powf(epochs(epoch / self.step.max(1)))
    }
}

/// Cosine annealing from α₀ down to `lr_min` over `t_max` epochs (PyTorch's
/// `CosineAnnealingLR`, closed form):
/// α = lr_min + (α₀ − lr_min)·(1 + cos(π·epoch / t_max)) / 2.
///
/// As in PyTorch, the cosine continues past `t_max` and the rate climbs back towards α₀, so
/// set `t_max` to the number of epochs; or, with [`warm_restarts`](Cosine::warm_restarts),
/// the rate jumps back to α₀ every `t_max` epochs (SGDR; PyTorch's
/// `CosineAnnealingWarmRestarts` with `T_mult = 1`). A `t_max` of 0 behaves as 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine<T> {
    /// α₀, the rate at epoch 0 (and after each restart).
    pub lr0: T,
    /// The rate at epoch `t_max` (PyTorch's `eta_min`).
    pub lr_min: T,
    /// Epochs of one half-cosine from α₀ to `lr_min` (PyTorch's `T_max`).
    pub t_max: usize,
    /// Whether to jump back to α₀ every `t_max` epochs instead of climbing back.
    pub restarts: bool,
}

impl<T: Scalar> Cosine<T> {
    /// From `lr0` to 0 over `t_max` epochs, no restarts.
    pub fn new(lr0: T, t_max: usize) -> Self {
        Cosine {
            lr0,
            lr_min: T::zero(),
            t_max,
            restarts: false,
        }
    }

    /// Sets the lowest rate (PyTorch's `eta_min`).
    pub fn lr_min(mut self, lr_min: T) -> Self {
        self.lr_min = lr_min;
        self
    }

    /// Restarts from α₀ every `t_max` epochs.
    pub fn warm_restarts(mut self) -> Self {
        self.restarts = true;
        self
    }
}

impl<T: Scalar> Schedule<T> for Cosine<T> {
    fn lr(&self, epoch: usize) -> T {
        let t_max = self.t_max.max(1);
        let t = if self.restarts { epoch % t_max } else { epoch };
        let cos = (T::pi() * epochs(t) / epochs(t_max)).cos();
        self.lr_min + (self.lr0 - self.lr_min) * (T::one() + cos) / T::of(2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-14 * b.abs().max(1e-300)
    }

    fn check(s: &impl Schedule<f64>, want: &[(usize, f64)]) {
        for &(epoch, w) in want {
            let got = s.lr(epoch);
            assert!(close(got, w), "epoch {epoch}: {got} vs {w}");
        }
    }

    #[test]
    fn inverse_time() {
        // 0.5 / (1 + 0.25 e)
        check(
            &InverseTime::new(0.5, 0.25),
            &[(0, 0.5), (1, 0.4), (4, 0.25), (12, 0.125)],
        );
    }

    #[test]
    fn exponential() {
        // 0.2 · 0.5^e
        let s = Exponential::new(0.2, 0.5);
        check(&s, &[(0, 0.2), (1, 0.1), (3, 0.025), (10, 0.2 / 1024.0)]);
        // 0.1 · 0.9^7 = 0.04782969
        check(&Exponential::new(0.1, 0.9), &[(7, 0.047_829_69)]);
    }

    #[test]
    fn inverse_sqrt_holds_epoch_one_at_zero() {
        // 0.3 · 2 / √e, epoch 0 as epoch 1
        let s = InverseSqrt::new(0.3, 2.0);
        check(&s, &[(0, 0.6), (1, 0.6), (4, 0.3), (9, 0.2), (100, 0.06)]);
        check(&s, &[(2, 0.6 / std::f64::consts::SQRT_2)]);
    }

    #[test]
    fn step_decay() {
        // 1.0 · 0.1^⌊e/3⌋
        let s = StepDecay::new(1.0, 3, 0.1);
        check(&s, &[(0, 1.0), (2, 1.0), (3, 0.1), (5, 0.1), (6, 0.01)]);
        assert!((s.lr(9) - 1e-3).abs() < 1e-18);
        // A step of 0 must not divide by zero.
        check(&StepDecay::new(1.0, 0, 0.5), &[(2, 0.25)]);
    }

    #[test]
    fn cosine() {
        // 0.1 + 0.9 (1 + cos(π e / 4)) / 2
        let s = Cosine::new(1.0, 4).lr_min(0.1);
        let half_sqrt2 = std::f64::consts::FRAC_1_SQRT_2;
        check(&s, &[(0, 1.0), (2, 0.55), (4, 0.1)]);
        check(&s, &[(1, 0.1 + 0.9 * (1.0 + half_sqrt2) / 2.0)]);
        check(&s, &[(3, 0.1 + 0.9 * (1.0 - half_sqrt2) / 2.0)]);
        // PyTorch's closed form climbs back after t_max; restarts jump back to α₀.
        check(&s, &[(6, 0.55), (8, 1.0)]);
        let r = s.warm_restarts();
        check(&r, &[(4, 1.0), (5, r.lr(1)), (6, 0.55)]);
    }

    #[test]
    fn closures_and_conversion() {
        let warmup = |e: usize| if e < 5 { 0.01 * (e + 1) as f64 } else { 0.05 };
        assert_eq!(warmup.lr(0), 0.01);
        assert_eq!(warmup.lr(9), 0.05);
        assert_eq!(Constant(0.125f32).lr(3), 0.125f32);
        // In `f32`, as an `f32` network trains: the same rates to `f32` precision.
        let c = Cosine::new(1.0f32, 4).lr_min(0.1);
        assert!(
            (c.lr(1) - (0.1 + 0.9 * (1.0 + core::f32::consts::FRAC_1_SQRT_2) / 2.0)).abs() < 1e-6
        );
    }
}
