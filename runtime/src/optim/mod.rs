//! Optimisers: update a network's parameters from its accumulated gradients.
//!
//! Each optimiser walks parameters, gradients and its own state tensor by tensor through
//! [`Params`](crate::Params); state is held in buffers of the network's gradient type, so its
//! size is fixed at compile time and a step never touches the heap.
//!
//! Every optimiser follows PyTorch's definition, defaults and names (`torch.optim`):
//!
//! | type             | PyTorch      | state buffers | defaults                                  |
//! |------------------|--------------|---------------|-------------------------------------------|
//! | [`Sgd`]          | `SGD`        | none          | weight_decay 0                            |
//! | [`SgdMomentum`]  | `SGD`        | 1             | dampening 0, nesterov off                 |
//! | [`Adagrad`]      | `Adagrad`    | 1             | lr 0.01, eps 1e-10 outside √, lr_decay 0  |
//! | [`RmsProp`]      | `RMSprop`    | 1             | lr 0.01, alpha 0.99, eps 1e-8 outside √   |
//! | [`Adadelta`]     | `Adadelta`   | 2             | lr 1.0, rho 0.9, eps 1e-6 inside both √   |
//! | [`Adam`]         | `Adam`       | 2             | lr 1e-3, betas (0.9, 0.999), eps 1e-8     |
//! | [`AdamW`]        | `AdamW`      | 2             | as Adam, weight_decay 0.01 (decoupled)    |
//!
//! Every hyperparameter (learning rate, momentum, betas, ε, weight decay) is given in the
//! network's scalar type `T`, the type the update computes in, and read back unchanged from
//! [`Optimizer::learning_rate`]: there is no second float type to convert through, and an
//! `f32` network (a Cortex-M4F has single-precision hardware only) never touches `f64`, while
//! an `f64` network keeps every digit of a hyperparameter it is checked against PyTorch with.
//!
//! `weight_decay` is PyTorch's: λ w added to the gradient of *every* tensor (for AdamW, the
//! decoupled w ← w − α λ w). To decay weights but not biases, leave it at 0 and add
//! [`regularize::L2`](crate::regularize::L2) to the gradients before the step.
//!
//! Optimisers that hold state are generic over the network type `N`; it is inferred from the
//! first [`step`](Optimizer::step) (or [`Trainer::step`](crate::train::Trainer::step)), or
//! can be named: `Adam::<MyNet>::new(1e-3)`. The scalar comes second and defaults to the
//! network's ([`Model::Scalar`]), so `Adam<MyNet>` is a whole type.

mod adadelta;
mod adagrad;
mod adam;
mod rmsprop;
mod sgd;
mod update;

pub(crate) use update::Update;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use rmsprop::RmsProp;
pub use sgd::{MomentumStart, Sgd, SgdMomentum};

use crate::{Model, Network, Scalar};

/// One optimisation step: θ ← update(θ, ∂L/∂θ, state).
///
/// Named by the network alone, as the optimisers are: `Box<dyn Optimizer<MyNet>>` picks one
/// at run time.
pub trait Optimizer<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// Updates every parameter of `net` in place from `grad` (the trainers pass the
    /// minibatch's mean gradient), advancing the optimiser's own state (moments, step count).
    fn step(&mut self, net: &mut N, grad: &N::Grad);
    /// The current learning rate (schedules change it between epochs).
    fn learning_rate(&self) -> T;
    /// Replaces the learning rate for the following steps; the state is kept.
    fn set_learning_rate(&mut self, lr: T);
}

/// Where ε enters the denominator of [`Adagrad`] and [`RmsProp`].
///
/// The two forms differ most when the accumulated squares are small: √(s + ε) is at least √ε
/// (1e-5 for ε = 1e-10), while √s + ε can be as small as ε.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpsPlacement {
    /// g / (√s + ε): PyTorch's `Adagrad` and `RMSprop`.
    #[default]
    Outside,
    /// g / √(s + ε): the form written in many textbooks.
    Inside,
}

impl EpsPlacement {
    /// The denominator for accumulated squares `s`.
    #[inline(always)]
    fn denominator<T: Scalar>(self, s: T, eps: T) -> T {
        match self {
            EpsPlacement::Outside => s.sqrt() + eps,
            EpsPlacement::Inside => (s + eps).sqrt(),
        }
    }
}
