//! Stochastic gradient descent, plain and with momentum (PyTorch's `torch.optim.SGD`).
//!
//! PyTorch's `SGD(lr, momentum, dampening, weight_decay, nesterov)` does, per element, with
//! g the gradient, λ the weight decay, μ the momentum and τ the dampening:
//!
//! ```text
//! g ← g + λ w                              (L2 weight decay, coupled)
//! b ← μ b + (1 − τ) g                      (b ← g on the first step)
//! d ← g + μ b   if nesterov,   else d ← b
//! w ← w − α d
//! ```
//!
//! With μ = 0 there is no buffer at all: that is [`Sgd`], which needs no memory beyond the
//! network. With μ > 0 the buffer b has the network's gradient type: that is [`SgdMomentum`].
//!
//! # The two momentum conventions
//!
//! - **Accumulate** (Sutskever et al. 2013): v ← γ v + η g, w ← w − v. This is
//!   `SgdMomentum::new(η, γ)`, PyTorch's default dampening τ = 0 with μ = γ: PyTorch's
//!   buffer is b = v / η. The two agree exactly while η is constant; when a schedule changes
//!   η, PyTorch rescales the whole step (w ← w − η_t (μ b + g)) where the accumulate form
//!   only scales the new gradient.
//! - **Exponential average** (the form taught in Ng's course): v ← β v + (1 − β) g,
//!   w ← w − α v with v₀ = 0. This is [`SgdMomentum::exponential_average`]`(α, β)`
//!   (μ = τ = β, starting from zero). PyTorch's `SGD(lr=α, momentum=β, dampening=β)` is the
//!   same except that its buffer starts at the first gradient instead of (1 − β) g₁; choose it
//!   with [`MomentumStart::FirstGradient`].
//!
//! Nesterov momentum (`.nesterov()`) looks ahead along the buffer: d = g + μ b. PyTorch only
//! accepts it with τ = 0; here any τ is computed by the same formula.

use super::Optimizer;
use crate::{Model, Network, Params, Scalar, Zeros};

/// Plain SGD: w ← w − α (g + λ w). PyTorch's `SGD(lr=α, weight_decay=λ)` with momentum 0.
///
/// Stateless, so one value works for any network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<T> {
    /// Learning rate α.
    pub lr: T,
    /// L2 weight decay λ, added to the gradient of every tensor, biases included (as PyTorch's
    /// `weight_decay`); use [`regularize::L2`](crate::regularize::L2) to spare biases. Default 0.
    pub weight_decay: T,
}

impl<T: Scalar> Sgd<T> {
    /// SGD with learning rate `lr` and no weight decay.
    pub fn new(lr: T) -> Self {
        Sgd {
            lr,
            weight_decay: T::zero(),
        }
    }

    /// Sets the L2 weight decay λ (PyTorch's `weight_decay`).
    pub fn weight_decay(mut self, lambda: T) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// The learning rate. (Also [`Optimizer::learning_rate`]; this inherent copy saves naming
    /// a network type, which the stateless `Sgd` cannot infer.)
    pub fn learning_rate(&self) -> T {
        self.lr
    }

    /// Sets the learning rate (see [`learning_rate`](Sgd::learning_rate)).
    pub fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }

    /// Adds a momentum buffer: PyTorch's `SGD(lr, momentum)`, dampening 0 (the accumulate
    /// convention; see the module docs).
    pub fn momentum<N: Network<T>>(self, momentum: T) -> SgdMomentum<N, T> {
        let mut m = SgdMomentum::new(T::zero(), momentum);
        m.lr = self.lr;
        m.weight_decay = self.weight_decay;
        m
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for Sgd<T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        let (lr, wd) = (self.lr, self.weight_decay);
        for i in 0..N::TENSORS {
            super::Update::sgd(net.tensor_mut(i), grad.tensor(i), lr, wd);
        }
    }
    fn learning_rate(&self) -> T {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }
}

/// How the momentum buffer starts (it only matters when the dampening τ is not 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MomentumStart {
    /// b ← g on the first step, as PyTorch does.
    #[default]
    FirstGradient,
    /// b₀ = 0, so the first step is b ← (1 − τ) g: the textbook exponential average.
    Zero,
}

/// SGD with momentum, optionally Nesterov, with PyTorch's parameters (see the module docs).
///
/// Holds one buffer shaped like the network's gradients.
pub struct SgdMomentum<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// Learning rate α.
    pub lr: T,
    /// μ.
    pub momentum: T,
    /// τ: the fraction of the gradient left out of the buffer. Default 0.
    pub dampening: T,
    /// Use d = g + μ b instead of b. Default false.
    pub nesterov: bool,
    /// L2 weight decay λ on every tensor (PyTorch's `weight_decay`). Default 0.
    pub weight_decay: T,
    /// Default [`MomentumStart::FirstGradient`] (PyTorch).
    pub start: MomentumStart,
    /// The momentum buffer b.
    pub velocity: N::Grad,
    started: bool,
}

impl<N: Network<T>, T: Scalar> SgdMomentum<N, T> {
    /// PyTorch's `SGD(lr, momentum)`: dampening 0, no Nesterov, no weight decay. In the
    /// accumulate convention v ← γ v + η g, w ← w − v this is η = `lr`, γ = `momentum`.
    pub fn new(lr: T, momentum: T) -> Self {
        SgdMomentum {
            lr,
            momentum,
            dampening: T::zero(),
            nesterov: false,
            weight_decay: T::zero(),
            start: MomentumStart::FirstGradient,
            velocity: N::Grad::zeros(),
            started: false,
        }
    }

    /// The exponential-average convention v ← β v + (1 − β) g, w ← w − α v, v₀ = 0: momentum
    /// and dampening β, starting from zero.
    pub fn exponential_average(lr: T, beta: T) -> Self {
        Self::new(lr, beta)
            .dampening(beta)
            .start(MomentumStart::Zero)
    }

    /// Sets the dampening τ.
    pub fn dampening(mut self, dampening: T) -> Self {
        self.dampening = dampening;
        self
    }

    /// Switches to Nesterov momentum.
    pub fn nesterov(mut self) -> Self {
        self.nesterov = true;
        self
    }

    /// Sets the L2 weight decay λ.
    pub fn weight_decay(mut self, lambda: T) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// Chooses how the buffer starts.
    pub fn start(mut self, start: MomentumStart) -> Self {
        self.start = start;
        self
    }

    /// Forgets the momentum, as if no step had been taken.
    pub fn reset(&mut self) {
        crate::train::clear(&mut self.velocity);
        self.started = false;
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for SgdMomentum<N, T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        let (lr, mu, wd) = (self.lr, self.momentum, self.weight_decay);
        let keep = T::one() - self.dampening;
        // PyTorch creates the buffer as a copy of the first gradient.
        let copy = !self.started && self.start == MomentumStart::FirstGradient;
        for i in 0..N::TENSORS {
            let (w, g, b) = (
                net.tensor_mut(i),
                grad.tensor(i),
                self.velocity.tensor_mut(i),
            );
            super::Update::momentum(w, g, b, (lr, mu, keep, wd), copy, self.nesterov);
        }
        self.started = true;
    }
    fn learning_rate(&self) -> T {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }
}
