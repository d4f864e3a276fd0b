//! # stacknet
//!
//! Small neural networks whose shapes are checked by the compiler. The [`network!`] macro
//! declares a layer stack inline, infers and checks every shape at compile time, and generates
//! heap-free forward and backward code on nalgebra static matrices.
//!
//! - [`network!`]: the macro (grammar in its docs and in the README).
//! - [`runtime`]: the `no_std` kernels, losses, optimisers and traits the generated code uses.
//! - [`data`] (feature `std`): MNIST's IDX loader, minibatch orders, a progress bar,
//!   confusion matrices, a weights file and the examples' command line.
//! - [`prelude`]: what a training program needs in scope.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
pub mod data;

pub use stacknet_runtime as runtime;
pub use stacknet_runtime::nalgebra;

/// Declares a network; see the crate docs and the README for the grammar.
///
/// This `macro_rules!` shim passes `$crate` to the procedural macro so the generated code
/// names the runtime through this crate, however the user renamed or re-exported it.
#[macro_export]
macro_rules! network {
    ($($body:tt)*) => {
        $crate::__private::network_impl! { $crate; $($body)* }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use stacknet_macros::network_impl;
}

/// Everything a training program needs in scope.
pub mod prelude {
    pub use crate::network;
    pub use stacknet_runtime::init::Init;
    pub use stacknet_runtime::loss::{BinaryCrossEntropy, Loss, Mse, SoftmaxCrossEntropy, L1};
    pub use stacknet_runtime::nalgebra::{SMatrix, SVector};
    pub use stacknet_runtime::optim::{
        Adadelta, Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd, SgdMomentum,
    };
    pub use stacknet_runtime::regularize::{
        clip_grad_norm, clip_grad_value, Regularizer, L1 as L1Penalty, L2,
    };
    pub use stacknet_runtime::rng::SplitMix64;
    pub use stacknet_runtime::schedule::{
        Cosine, Exponential, InverseSqrt, InverseTime, Schedule, StepDecay,
    };
    pub use stacknet_runtime::train::{accuracy, argmax, predict, BatchTrainer, Trainer};
    pub use stacknet_runtime::{BatchNetwork, Flat, Layer, Network, Params, Scalar, Zeros};
}
