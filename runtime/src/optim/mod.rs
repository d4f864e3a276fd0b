//! Optimisers: update a network's parameters from its accumulated gradients.
//!
//! Each optimiser walks parameters, gradients and its own state tensor by tensor through
//! [`Params`](crate::Params); state is held in buffers of the network's gradient type, so its
//! size is fixed at compile time and a step never touches the heap.

mod sgd;

pub use sgd::Sgd;

use crate::{Network, Scalar};

/// One optimisation step: θ ← update(θ, ∂L/∂θ, state).
pub trait Optimizer<T: Scalar, N: Network<T>> {
    fn step(&mut self, net: &mut N, grad: &N::Grad);
    /// The current learning rate (schedules change it between epochs).
    fn learning_rate(&self) -> T;
    fn set_learning_rate(&mut self, lr: T);
}
