//! Losses: a per-sample value and its gradient with respect to the network's output.
//!
//! Every loss here is a mean over the output's elements (PyTorch's `reduction = "mean"` for
//! one sample); a minibatch step averages over samples on top, so gradients are per batch mean.

mod cross_entropy;
mod l1;
mod mse;
mod sequence;

pub use cross_entropy::{log_sum_exp, BinaryCrossEntropy, SoftmaxCrossEntropy};
pub use l1::L1;
pub use mse::Mse;
pub use sequence::{perplexity, SequenceCrossEntropy};

use crate::Scalar;

/// A loss on outputs of type `Y` against targets of type [`Target`](Loss::Target).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loss for this network's output `{Y}`",
    label = "not a loss for this output",
    note = "the losses here score flat outputs (`SVector<scalar, n>`) in the network's scalar type"
)]
pub trait Loss<T: Scalar, Y> {
    /// What a sample is compared with: a class index, a target vector…
    type Target: ?Sized;
    /// L(y, t).
    fn value(&self, y: &Y, target: &Self::Target) -> T;
    /// Writes ∂L/∂y into `dy` and returns L(y, t).
    fn value_and_grad(&self, y: &Y, target: &Self::Target, dy: &mut Y) -> T;
}
