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

/// Declares a network: a struct holding its layers, with inference, training forward and
/// backward code whose every shape the compiler has checked.
///
/// ```
/// use stacknet::prelude::*;
///
/// network! {
///     /// LeNet-5 for 28×28 grayscale digits.
///     #[derive(Clone)]
///     pub struct LeNet5(input: [1, 28, 28]) {
///         conv1: conv2d(6, kernel = 5, padding = 2),  // [6, 28, 28]
///         relu,
///         max_pool2d(2),                              // [6, 14, 14]
///         conv2: conv2d(16, kernel = 5),              // [16, 10, 10]
///         relu,
///         max_pool2d(2),                              // [16, 5, 5]
///         flatten,                                    // [400]
///         fc1: dense(120), relu,
///         fc2: dense(84), relu,
///         fc3: dense(10),
///     }
/// }
///
/// let net = LeNet5::<f32>::new(&mut SplitMix64::new(42));
/// let logits: SVector<f32, 10> = net.forward(&SVector::zeros());
/// assert_eq!(LeNet5::<f32>::PARAMS, 61_706);
/// assert_eq!(LeNet5::<f32>::LAYERS[2].name, "max_pool2d_2");
/// # let _ = logits;
/// ```
///
/// # Grammar
///
/// ```text
/// network! {
///     /// docs                                  doc comments and attributes: on the struct
///     #[derive(Clone)]
///     VISIBILITY struct NAME(input: [DIMS]) {   DIMS: `n` (a vector) or `c, h, w` (an image)
///         LAYER, LAYER, ...                     a trailing comma is fine
///     }
/// }
///
/// LAYER = (FIELD :)? KIND                       `relu`, `fc1: dense(120)`
///       | (FIELD :)? KIND(ARG, ...)
/// ARG   = VALUE | NAME = VALUE                  positional first, in the order of the table
/// VALUE = 5 | 0.5 | -1e-3 | true | false        numbers and flags
///       | (3, 5)                                (height, width) pairs
///       | same                                  `conv2d` padding only
///       | he_uniform | normal(0.1)              inits
/// ```
///
/// Shapes are `[features]` or `[channels, height, width]` (stored flat in PyTorch's
/// channel, row, column order). Every later shape is inferred.
///
/// # Layers
///
/// | layer and arguments (defaults) | input → output |
/// |---|---|
/// | `dense(units, bias = true, init = …)` | `[n]` → `[units]` |
/// | `conv2d(out_channels, kernel, stride = 1, padding = 0, dilation = 1, bias = true, init = …)` | `[c, h, w]` → `[out_channels, oh, ow]` |
/// | `max_pool2d(kernel, stride = kernel, padding = 0)`, `avg_pool2d(…)` | `[c, h, w]` → `[c, oh, ow]` |
/// | `global_avg_pool2d`, `global_max_pool2d` | `[c, h, w]` → `[c]` |
/// | `flatten` | anything → `[len]` |
/// | `relu`, `sigmoid`, `tanh`, `leaky_relu(slope = 0.01)`, `softmax` | unchanged |
/// | `dropout(p)`, with 0 ≤ p < 1 | unchanged |
/// | `batch_norm(momentum = 0.1, eps = 1e-5)`: per feature on vectors, per channel on images; trains with `BatchTrainer` | unchanged |
///
/// `kernel`, `stride` and `dilation` are `k` or `(kh, kw)`; `conv2d`'s padding is `p`,
/// `(ph, pw)` or `same`. Output sizes follow PyTorch: with the effective kernel
/// k̂ = k + (k − 1)(d − 1), a convolution gives o = ⌊(i + 2p − k̂)/s⌋ + 1 and pooling
/// o = ⌊(i + 2p − k)/s⌋ + 1. `same` pads (k̂ − 1)/2 and needs stride 1 and an odd k̂;
/// pooling padding is at most half the kernel.
///
/// `init` is one of `zeros`, `constant(c)`, `normal(std)`, `uniform(a)`, `xavier_uniform`,
/// `xavier_normal`, `he_uniform`, `he_normal`. The default is `he_uniform` when the next
/// activation (looking through dropout, batch norm, pooling and flatten) is `relu` or
/// `leaky_relu`, and `xavier_uniform` otherwise.
///
/// # What it generates
///
/// For `pub struct Net(…) { … }`, with `T` the scalar (`f32` by default, `f64` for gradient
/// checks), all with the declared visibility:
///
/// - `struct Net<T: Scalar = f32>`: one public field per layer, named as written or
///   `{kind}_{index}` for unnamed layers (`relu_1`, `max_pool2d_2`), each of its runtime
///   type (`layers::Dense<T, 784, 128, true>`); and `Net::new(&mut rng)`.
/// - `NetGrad<T>` (parameter gradients, one field per layer), `NetRecord<T>` (what one
///   sample's backward needs) and `NetBatchRecord<T, B>` (the same for `B` samples).
/// - [`Params`](runtime::Params) for `Net` and `NetGrad` (tensors in PyTorch's order, names
///   and layouts: `fc1.weight` as `[out, in]`, then `fc1.bias`), [`Zeros`](runtime::Zeros)
///   for the gradient and records, [`Network`](runtime::Network) (`INPUT_SHAPE`,
///   `OUTPUT_SHAPE`, `PARAMS`, byte sizes, `LAYERS` for `summary()`, `forward`,
///   `forward_train`, `backward`) and [`BatchNetwork`](runtime::BatchNetwork).
///
/// # Errors
///
/// Every mistake is a compile error on the token at fault, all reported in one pass; the
/// network is then replaced by a stub, so code that uses it reports nothing more:
///
/// ```compile_fail
/// use stacknet::prelude::*;
///
/// network! {
///     struct LeNet(input: [1, 12, 12]) {
///         conv1: conv2d(6, kernel = 5),   // 12 → 8
///         relu,
///         max_pool2d(2),                  // 8 → 4
///         conv2: conv2d(16, kernel = 5),  // error: `conv2d` kernel 5 does not fit: input is
///     }                                   // 4×4 with padding 0 (effective kernel 5 > 4)
/// }
/// ```
///
/// The checks: unknown layers, arguments and inits (with a did-you-mean); missing,
/// duplicate, ill-typed or too many arguments; zero sizes; duplicate layer names; an empty
/// network; a malformed input shape; `dense` on an image (add `flatten`); convolution or
/// pooling on a vector; kernels or windows that do not fit the padded input; `same` with a
/// stride or an even kernel; pooling padding over half the kernel; `dropout` outside
/// [0, 1), `batch_norm` momentum outside [0, 1] or a non-positive eps.
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
