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
//! - [`fit`] (feature `std`): [`Fit`](fit::Fit), the training loop (validation, metrics,
//!   early stopping, callbacks, a progress bar), [`evaluate`](fit::evaluate) and the
//!   [`History`](fit::History) with its learning-curve SVG.
//! - [`prelude`]: what a training program needs in scope.
//!
//! Sequences: a network declared `(input: [steps, features])` reads a sequence and one
//! declared `(tokens: [steps])` reads token ids (`[u32; steps]`), through `embedding`,
//! `rnn`/`gru`/`lstm`, `conv1d`, pools over time and per-step `dense`; a network with
//! recurrent layers also gets `forward_from`/`forward_train_from` and a `…State` type, which
//! carry the hidden state from one chunk of a long sequence to the next.
//!
//! # Examples
//!
//! Run one with `cargo run --release --example NAME` from the repository. Examples are not
//! items, so intra-doc links cannot reach them: each link below is relative to these pages as
//! `cargo doc` writes them into `target/doc/stacknet/`, which puts the source three levels up
//! (a build with another `CARGO_TARGET_DIR`, or the pages on a registry, lose the link but
//! keep the path).
//!
//! - [`examples/quickstart.rs`](../../../examples/quickstart.rs): the README's quick start,
//!   LeNet-5 through [`Fit`](fit::Fit) on both cores with a validation split, early stopping
//!   and learning curves, then [`evaluate_classifier`](fit::evaluate_classifier).
//! - [`examples/lenet.rs`](../../../examples/lenet.rs): the flagship. LeNet-5 trained on the
//!   bundled MNIST digits with a progress bar, test accuracy, a confusion matrix, and the
//!   weights saved as safetensors in PyTorch's names and reloaded with `--load`.
//! - [`examples/resnet.rs`](../../../examples/resnet.rs): a residual network with batch norm
//!   and a strided projection shortcut, trained through the minibatch path
//!   ([`BatchTrainer`](runtime::train::BatchTrainer)).
//! - [`examples/mnist_rows.rs`](../../../examples/mnist_rows.rs): an LSTM reading each digit
//!   as 28 steps of 28 pixels, with Adam and gradient-norm clipping.
//! - [`examples/char_rnn.rs`](../../../examples/char_rnn.rs): a character-level LSTM language
//!   model on public-domain English text against a bigram baseline; truncated
//!   backpropagation through time with the carried state, and text generation.
//! - [`examples/mnist_mlp.rs`](../../../examples/mnist_mlp.rs): a 784-128-10 perceptron, the
//!   smallest training loop over real data.
//! - [`examples/xor.rs`](../../../examples/xor.rs): a 2-4-1 network learns XOR, the whole API
//!   in a few lines.
//! - [`examples/lenet_setups.rs`](../../../examples/lenet_setups.rs): LeNet-5 trained with each
//!   optimiser, with and without a cosine schedule, to choose `lenet`'s defaults.
//! - [`examples/bench.rs`](../../../examples/bench.rs): the LeNet-5 benchmark (inference and
//!   training steps, heap allocations per call, peak memory; `--layers` profiles each layer).
//! - [`examples/bench_tiny.rs`](../../../examples/bench_tiny.rs): MLPerf Tiny's ResNet-8 and
//!   DS-CNN and the row-reading LSTM, timed as the Python peers time them.
//! - [`examples/embedded/`](../../../examples/embedded/src/lib.rs) (its own crate): LeNet-5
//!   as a `no_std` static library without an allocator, weights decoded at compile time,
//!   called from C.
//! - [`examples/cortex-m/`](../../../examples/cortex-m/src/main.rs) (its own crate): firmware
//!   for a Cortex-M4F under QEMU that runs LeNet-5 from flash and trains an MLP on the device,
//!   measuring its flash, RAM and instructions.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
// One exception, argued where it is: `parallel::team` lends a closure to its threads.
#![deny(unsafe_code)]

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
pub mod fit;
#[cfg(feature = "std")]
pub mod onnx;
#[cfg(feature = "std")]
pub mod parallel;

/// The `no_std` runtime: layer kernels with forward and backward on nalgebra static matrices,
/// losses, optimisers, schedules, int8 quantisation, safetensors, and the traits that
/// `network!`-generated models implement.
///
/// This is the crate `stacknet-runtime`, re-exported whole (generated code names it as
/// `stacknet::runtime`, so a user needs no dependency of their own on it) and documented here
/// page by page. Everything in it works without `std` and without an allocator: every buffer
/// has a size known at compile time. Tensors are flat `SVector<T, N>`s; images are stored in
/// PyTorch's (channel, row, column) order, so `flatten` moves no data.
pub mod runtime {
    // A module of inlined re-exports rather than `pub use stacknet_runtime as runtime`: rustdoc
    // does not inline a re-exported crate, so with `--no-deps` the runtime had no pages. Not
    // a glob either: that would inline all of nalgebra's pages too (48 MB, even beside an
    // explicit `no_inline` re-export). A module or item added to the runtime's root must be
    // added here; generated code names them as `::stacknet::runtime::…`, so every network in
    // the tests fails to compile when one is missing.
    #[doc(inline)]
    pub use stacknet_runtime::no_params;
    #[doc(inline)]
    pub use stacknet_runtime::{
        baked, data, gradcheck, graph, hint, init, kernels, layer, layers, loss, network, onnx,
        optim, quant, regularize, rng, safetensors, samples, scalar, schedule, simd, train,
    };
    #[doc(no_inline)]
    pub use stacknet_runtime::{nalgebra, rand_core};
    #[doc(inline)]
    pub use stacknet_runtime::{
        AsInput, AsTarget, BatchNetwork, Flat, InPlace, Label, Layer, LayerRow, Model, Network,
        NoParams, NoRecord, ParamError, Params, PerSample, Random, Recurrent, RunningStats, Scalar,
        Shape, StateEntry, TensorInfo, TensorKind, Zeros,
    };
}

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
///     /// docs                                  doc comments and attributes go on the struct
///     #[derive(Clone)]
///     #[int8]                                   optional: also the int8 twin `NAMEInt8`
///     #[weights = "net.safetensors"]            optional: `NAME::<f32>::BAKED` and
///                                               `NAME::<f64>::BAKED` from the file
///     VISIBILITY struct NAME(input: [DIMS]) {   DIMS: `n` (a vector) or `c, h, w` (an image)
///         ITEM, ITEM, ...                       a trailing comma is fine
///     }
/// }
///
/// ITEM  = (NAME :)? LAYER                       `relu`, `fc1: dense(120)`
///       | (NAME :)? BLOCK
///       | (NAME :)? { ITEM, ... }               a group: a named scope (`features: { ... }`)
/// LAYER = KIND | KIND(ARG, ...)
/// BLOCK = residual { ITEM, ... }                body(x) + x
///       | residual(shortcut = { ITEM, ... }) { ITEM, ... }      body(x) + shortcut(x)
///       | concat { BRANCH, ... }                the branches on the same input, joined along
///                                               channels (images) or features (vectors)
///       | repeat(n) { ITEM, ... }               n copies, each with its own parameters
/// BRANCH = ITEM                                 one layer, a group, or `{}` (the identity)
/// ARG   = VALUE | NAME = VALUE                  positional first, in the order of the table
/// VALUE = 5 | 0.5 | -1e-3 | true | false        numbers and flags
///       | (3, 5) | ((0, 1), (0, 1))             (height, width) pairs; padding per side
///       | same | same_upper                     `conv2d` padding only
///       | he_uniform | normal(0.1)              inits
/// ```
///
/// Blocks nest, and copy k of a `repeat` takes copy k − 1's output shape (so a stage can start
/// with a stride). Every layer has a PyTorch path: named blocks and groups scope their children
/// (`layer1.conv1.weight`), copies are numbered (`stage.0.conv2d_0.weight`), a residual's
/// shortcut is `{block}.shortcut`, a concat's unnamed group branches are numbered; unnamed items
/// are `{kind}_{index}`. The struct field is the path with `_` for `.` (`net.layer1_conv1`), and
/// parameters are listed in PyTorch's registration order (a body before its shortcut).
///
///
///
/// | layer and arguments (defaults) | input → output |
/// |---|---|
/// | `dense(units, bias = true, init = …)` | `[n]` → `[units]` |
/// | `conv2d(out_channels, kernel, stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, init = …)` | `[c, h, w]` → `[out_channels, oh, ow]` |
/// | `max_pool2d(kernel, stride = kernel, padding = 0, ceil_mode = false)` | `[c, h, w]` → `[c, oh, ow]` |
/// | `avg_pool2d(kernel, stride = kernel, padding = 0, ceil_mode = false, count_include_pad = true)` | `[c, h, w]` → `[c, oh, ow]` |
/// | `adaptive_avg_pool2d((oh, ow))`, where oh and ow divide the input (equal windows) | `[c, h, w]` → `[c, oh, ow]` |
/// | `global_avg_pool2d`, `global_max_pool2d` | `[c, h, w]` → `[c]` |
/// | `flatten` | anything → `[len]` |
/// | `relu`, `relu6`, `sigmoid`, `tanh`, `leaky_relu(slope = 0.01)`, `elu(alpha = 1)`, `selu`, `softplus(beta = 1, threshold = 20)`, `silu`, `gelu(approximate = false)` (exact erf, or PyTorch's tanh form), `hard_sigmoid`, `hard_swish`, `softmax` | unchanged |
/// | `prelu(init = 0.25)`: a learned slope per channel (per feature on vectors) | unchanged |
/// | `maxout(k)`: the maximum of each group of k channels (features) | `[k·c, h, w]` → `[c, h, w]` |
/// | `dropout(p)`, 0 ≤ p < 1 (inverted dropout, identity at inference) | unchanged |
/// | `batch_norm(momentum = 0.1, eps = 1e-5)`: per feature on vectors, per channel on images | unchanged |
///
/// `kernel`, `stride` and `dilation` are `k` or `(kh, kw)`; padding is `p`, `(ph, pw)` or
/// `((top, bottom), (left, right))`, and for `conv2d` also `same` (PyTorch's: stride 1, output
/// the input's size) or `same_upper` (TensorFlow's `SAME`, ONNX's `SAME_UPPER`: at any stride
/// the output is ⌈i / s⌉ and the odd padding goes at the bottom and right, as the MLPerf Tiny
/// models use it). Sizes follow PyTorch: with the effective kernel k̂ = k + (k − 1)(d − 1), a
/// convolution gives o = ⌊(i + p_lo + p_hi − k̂)/s⌋ + 1 and pooling
/// o = ⌊(i + p_lo + p_hi − k)/s⌋ + 1 (⌈⌉ with `ceil_mode`, less one if the last window would start past the input and its
/// leading padding); pooling padding is at most half the kernel; `groups` divides both channel
/// counts (`groups = in_channels` is depthwise). `init` is one of `zeros`, `constant(c)`,
/// `normal(std)`, `uniform(a)`, `xavier_uniform`, `xavier_normal`, `he_uniform`, `he_normal`; by
/// default He before a ReLU-family activation (looking through pooling, batch norm, dropout and
/// into and out of blocks), Xavier otherwise.
///
/// A residual network, its shapes and parameter names:
///
/// ```
/// use stacknet::prelude::*;
///
/// network! {
///     pub struct Tiny(input: [3, 8, 8]) {
///         conv1: conv2d(8, kernel = 3, padding = 1), relu,
///         stage: residual(shortcut = { conv2d(16, kernel = 1, stride = 2) }) {
///             conv2d(16, kernel = 3, stride = 2, padding = 1), relu,
///             conv2d(16, kernel = 3, padding = 1),
///         },
///         branches: concat { conv2d(4, kernel = 1), {} },   // [20, 4, 4]
///         global_avg_pool2d,
///         fc: dense(10),
///     }
/// }
///
/// assert_eq!(Tiny::<f32>::tensor_info(4).to_string(), "stage.conv2d_2.weight");
/// assert_eq!(Tiny::<f32>::tensor_info(6).to_string(), "stage.shortcut.conv2d_0.weight");
/// let net = Tiny::<f32>::new(&mut SplitMix64::new(1));
/// let logits = net.forward(&SVector::zeros());
/// # let _ = (logits, &net.stage_shortcut_conv2d_0.weight);
/// ```
///
/// # What it generates
///
/// For `pub struct Net(…) { … }`, with `T` the scalar (`f32` by default, `f64` for gradient
/// checks), all with the declared visibility:
///
/// - `struct Net<T: Scalar = f32>`: one public field per layer, named as written or
///   `{kind}_{index}` for unnamed layers (`relu_1`, `max_pool2d_2`), with `_` for the `.` of
///   its path inside blocks (`layer1_conv1`), each of its runtime type
///   (`layers::Dense<T, 784, 128, true>`); and `Net::new(&mut rng)`.
/// - `NetGrad<T>` (parameter gradients, one field per layer), `NetRecord<T>` (what one
///   sample's backward needs) and `NetBatchRecord<T, B>` (the same for `B` samples).
/// - [`Params`](runtime::Params) for `Net` and `NetGrad` (tensors in PyTorch's order, names
///   and layouts: `fc1.weight` as `[out, in]`, then `fc1.bias`), [`Zeros`](runtime::Zeros)
///   for the gradient and records, [`Network`](runtime::Network) (`INPUT_SHAPE`,
///   `OUTPUT_SHAPE`, `PARAMS`, byte sizes, `LAYERS` for `summary()`, `forward`,
///   `forward_train`, `backward`), [`BatchNetwork`](runtime::BatchNetwork) and
///   [`Model`](runtime::Model) (`Scalar = T`, so that `Trainer<Net>` names the scalar).
/// - With `#[weights = "file.safetensors"]` (a path relative to the source file, as
///   `include_bytes!` takes it): the constants `Net::<f32>::BAKED` and `Net::<f64>::BAKED`,
///   the network with the file's tensors decoded at compile time (F32, F64, F16, BF16; `I64`
///   batch counts), for a `static` in read-only memory. The macro reads the file when it
///   expands and reports every tensor that is missing, of another shape or dtype, or not the
///   network's, naming it with both shapes.
/// - Docs on every public item, so `#![deny(missing_docs)]` holds: after the user's own, the
///   struct's docs list every layer's type, output shape and parameter count with the totals,
///   and `PARAMS` is written out as a number, so `cargo doc` shows them.
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
/// [0, 1), `batch_norm` momentum outside [0, 1] or a non-positive eps; a `#[weights]` file
/// that cannot be read, is not safetensors, or does not hold exactly the network's tensors.
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
    #[cfg(feature = "std")]
    pub use crate::fit::{
        evaluate, evaluate_classifier, evaluate_with, Accuracy, Callback, Control, EarlyStopping,
        EpochRecord, Evaluation, Fit, FitError, History, MeanAbsoluteError, Metric, Mode, Monitor,
    };
    pub use crate::network;
    pub use stacknet_runtime::init::Init;
    pub use stacknet_runtime::loss::{
        perplexity, BinaryCrossEntropy, Loss, Mse, SequenceCrossEntropy, SoftmaxCrossEntropy, L1,
    };
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
    pub use stacknet_runtime::train::{
        accuracy, argmax, checked_argmax, predict, BatchTrainer, Diverged, Trainer,
    };
    pub use stacknet_runtime::{
        BatchNetwork, Flat, Label, Layer, Model, Network, Params, PerSample, Scalar, Zeros,
    };

    #[cfg(feature = "std")]
    pub use crate::parallel::{ParallelBatchTrainer, ParallelTrainer};
}
