//! Adam (Kingma and Ba 2015) and AdamW (Loshchilov and Hutter 2019), as PyTorch's
//! `torch.optim.Adam` and `torch.optim.AdamW` (without `amsgrad`).
//!
//! Per element, with t the step count from 1:
//!
//! ```text
//! g ← g + λ w                 (Adam: L2 decay, coupled with the gradient)
//! w ← w − α λ w               (AdamW instead: decoupled decay, scaled by α as in PyTorch)
//! m ← β₁ m + (1 − β₁) g
//! v ← β₂ v + (1 − β₂) g²
//! m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
//! w ← w − α m̂ / (√v̂ + ε)      (ε outside the square root, after bias correction)
//! ```
//!
//! With coupled decay, Adam divides λ w by √v̂ like the gradient, so large-gradient weights
//! are barely decayed; AdamW's decay is the same for every weight.

use super::Optimizer;
use crate::{Model, Network, Params, Scalar, Zeros};

/// Adam with bias correction and optional (coupled) L2 weight decay.
pub struct Adam<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// α. Default 1e-3.
    pub lr: T,
    /// β₁. Default 0.9.
    pub beta1: T,
    /// β₂. Default 0.999.
    pub beta2: T,
    /// ε. Default 1e-8.
    pub eps: T,
    /// L2 weight decay λ on every tensor, added to the gradient. Default 0.
    pub weight_decay: T,
    /// The first moment m.
    pub m: N::Grad,
    /// The second moment v.
    pub v: N::Grad,
    /// Steps taken (t).
    pub steps: u64,
}

/// AdamW: Adam with decoupled weight decay w ← w − α λ w.
pub struct AdamW<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// α. Default 1e-3.
    pub lr: T,
    /// β₁. Default 0.9.
    pub beta1: T,
    /// β₂. Default 0.999.
    pub beta2: T,
    /// ε. Default 1e-8.
    pub eps: T,
    /// Decoupled weight decay λ on every tensor. Default 0.01 (PyTorch's).
    pub weight_decay: T,
    /// The first moment m.
    pub m: N::Grad,
    /// The second moment v.
    pub v: N::Grad,
    /// Steps taken (t).
    pub steps: u64,
}

macro_rules! adam_common {
    ($ty:ident, $weight_decay:expr) => {
        impl<N: Network<T>, T: Scalar> Default for $ty<N, T> {
            fn default() -> Self {
                Self::new(T::of(1e-3))
            }
        }

        impl<N: Network<T>, T: Scalar> $ty<N, T> {
            /// PyTorch's defaults with learning rate `lr`: β = (0.9, 0.999), ε = 1e-8 and the
            #[doc = concat!("weight decay ", stringify!($weight_decay), ".")]
            pub fn new(lr: T) -> Self {
                $ty {
                    lr,
                    beta1: T::of(0.9),
                    beta2: T::of(0.999),
                    eps: T::of(1e-8),
                    weight_decay: T::of($weight_decay),
                    m: N::Grad::zeros(),
                    v: N::Grad::zeros(),
                    steps: 0,
                }
            }

            /// Sets (β₁, β₂).
            pub fn betas(mut self, beta1: T, beta2: T) -> Self {
                self.beta1 = beta1;
                self.beta2 = beta2;
                self
            }

            /// Sets ε, added to √v̂ in the denominator.
            pub fn eps(mut self, eps: T) -> Self {
                self.eps = eps;
                self
            }

            /// Sets the weight decay λ (see the `weight_decay` field for how it applies).
            pub fn weight_decay(mut self, lambda: T) -> Self {
                self.weight_decay = lambda;
                self
            }

            /// Forgets both moments and the step count.
            pub fn reset(&mut self) {
                crate::train::clear(&mut self.m);
                crate::train::clear(&mut self.v);
                self.steps = 0;
            }
        }
    };
}

adam_common!(Adam, 0.0);
adam_common!(AdamW, 0.01);

/// How weight decay enters the step.
#[derive(Clone, Copy)]
enum Decay<T> {
    /// g ← g + λ w.
    Coupled(T),
    /// w ← w − α λ w before the moment update.
    Decoupled(T),
}

/// The update Adam and AdamW share; counts the step in `steps`.
fn adam_step<N: Network<T>, T: Scalar>(
    net: &mut N,
    grad: &N::Grad,
    m: &mut N::Grad,
    v: &mut N::Grad,
    steps: &mut u64,
    (lr, beta1, beta2, eps): (T, T, T, T),
    decay: Decay<T>,
) {
    *steps += 1;
    // β^t underflows to 0 long before t reaches i32::MAX, so clamping changes nothing.
    let t = (*steps).min(i32::MAX as u64) as i32;
    let bc1 = T::one() - beta1.powi(t);
    let bc2_sqrt = (T::one() - beta2.powi(t)).sqrt();
    // PyTorch's arrangement: α/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε).
    let step_size = lr / bc1;
    let (one_minus_b1, one_minus_b2) = (T::one() - beta1, T::one() - beta2);
    let (l2, shrink) = match decay {
        Decay::Coupled(l) => (l, T::one()),
        Decay::Decoupled(l) => (T::zero(), T::one() - lr * l),
    };
    let betas = (beta1, one_minus_b1, beta2, one_minus_b2);
    let step = (step_size, bc2_sqrt, eps, l2, shrink);
    for i in 0..N::TENSORS {
        let (w, g) = (net.tensor_mut(i), grad.tensor(i));
        super::Update::adam(w, g, m.tensor_mut(i), v.tensor_mut(i), betas, step);
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for Adam<N, T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        let hyper = (self.lr, self.beta1, self.beta2, self.eps);
        let decay = Decay::Coupled(self.weight_decay);
        adam_step(
            net,
            grad,
            &mut self.m,
            &mut self.v,
            &mut self.steps,
            hyper,
            decay,
        );
    }
    fn learning_rate(&self) -> T {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for AdamW<N, T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        let hyper = (self.lr, self.beta1, self.beta2, self.eps);
        let decay = Decay::Decoupled(self.weight_decay);
        adam_step(
            net,
            grad,
            &mut self.m,
            &mut self.v,
            &mut self.steps,
            hyper,
            decay,
        );
    }
    fn learning_rate(&self) -> T {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }
}
