//! The contract between a layer kernel and the code `network!` generates around it.
//!
//! A layer is a value holding its parameters; its activations live outside it, in buffers
//! the network owns, so the same layer runs inference from `&self` with nothing recorded and
//! training with a per-sample [`Layer::Record`] sized at compile time.

use crate::Scalar;
use nalgebra::SMatrix;

/// Types that have an all-zero value: buffers, gradients, optimiser state, records.
///
/// (nalgebra's `Default` is not implemented for large arrays, and `zeros` is what the
/// kernels mean anyway.)
pub trait Zeros {
    /// The value with every scalar 0 (indices 0, flags `false`).
    fn zeros() -> Self;
}

impl<T: Scalar, const R: usize, const C: usize> Zeros for SMatrix<T, R, C> {
    #[inline]
    fn zeros() -> Self {
        SMatrix::zeros()
    }
}

/// Buffers seen as one flat slice (activations are flat `SVector`s).
pub trait Flat<T> {
    /// Every value in memory order (column-major for a matrix, which for an `SVector` is just
    /// its elements).
    fn flat(&self) -> &[T];
    /// [`flat`](Flat::flat), writable.
    fn flat_mut(&mut self) -> &mut [T];
}

impl<T: Scalar, const R: usize, const C: usize> Flat<T> for SMatrix<T, R, C> {
    #[inline(always)]
    fn flat(&self) -> &[T] {
        self.as_slice()
    }
    #[inline(always)]
    fn flat_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl Zeros for u32 {
    #[inline]
    fn zeros() -> Self {
        0
    }
}

impl Zeros for bool {
    #[inline]
    fn zeros() -> Self {
        false
    }
}

/// A tensor's shape in PyTorch's order: `[out, in]` for dense weights,
/// `[out, in, kh, kw]` for convolution weights, `[n]` for vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
///
/// A fixed array rather than a slice so that shapes are `const` values (the generated
/// `INPUT_SHAPE`, `LAYERS`); read them through [`dims`](Shape::dims).
pub struct Shape {
    /// The sizes, outermost first; only the first `rank` are meaningful, the rest are 0.
    pub dims: [usize; 4],
    /// How many of `dims` are used, 0 (a scalar) to 4.
    pub rank: usize,
}

impl Shape {
    /// `[]`: a scalar, such as batch norm's `num_batches_tracked`.
    pub const fn scalar() -> Self {
        Shape {
            dims: [0; 4],
            rank: 0,
        }
    }
    /// `[n]`: a vector, a bias or a per-channel parameter.
    pub const fn vector(n: usize) -> Self {
        Shape {
            dims: [n, 0, 0, 0],
            rank: 1,
        }
    }
    /// `[rows, cols]`: a dense weight (`[out, in]`) or a sequence (`[steps, features]`).
    pub const fn matrix(rows: usize, cols: usize) -> Self {
        Shape {
            dims: [rows, cols, 0, 0],
            rank: 2,
        }
    }
    /// `[c, h, w]`: an image, channels first.
    pub const fn image(c: usize, h: usize, w: usize) -> Self {
        Shape {
            dims: [c, h, w, 0],
            rank: 3,
        }
    }
    /// `[a, b, c, d]`: a convolution weight (`[out, in / groups, kh, kw]`).
    pub const fn rank4(a: usize, b: usize, c: usize, d: usize) -> Self {
        Shape {
            dims: [a, b, c, d],
            rank: 4,
        }
    }
    /// Number of elements.
    pub const fn len(&self) -> usize {
        let mut n = 1;
        let mut i = 0;
        while i < self.rank {
            n *= self.dims[i];
            i += 1;
        }
        n
    }
    /// Whether some dimension is 0.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `rank` meaningful sizes (`[6, 28, 28]` for an image).
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }
}

impl core::fmt::Display for Shape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// What a parameter tensor is for: regularisers decay weights but not biases by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// Multiplies its input (dense and convolution weights, batch-norm scale γ).
    Weight,
    /// Is added (biases, batch-norm shift β), or is otherwise not to be decayed by default
    /// (PReLU's slopes, as PyTorch advises).
    Bias,
    /// A buffer: state that training moves but that is not trained (batch norm's running
    /// mean and variance); saved and loaded with the parameters, never optimised.
    Buffer,
    /// A buffer that counts (batch norm's `num_batches_tracked`): held as a scalar, written to
    /// files as PyTorch's `I64`.
    Count,
}

/// Describes one parameter tensor: `layer.name`, its PyTorch shape and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The layer's field name in the network (`"fc1"`); empty inside a lone layer.
    pub layer: &'static str,
    /// The tensor's name within the layer (`"weight"`, `"bias"`).
    pub name: &'static str,
    /// The tensor's PyTorch shape (`[out, in]` for a dense weight); its slice in
    /// [`Params::tensor`] holds `shape.len()` values, row-major in this shape.
    pub shape: Shape,
    /// Whether regularisers decay it by default.
    pub kind: TensorKind,
    /// Inputs feeding one output (for initialisation bounds).
    pub fan_in: usize,
    /// Outputs fed by one input.
    pub fan_out: usize,
}

impl core::fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.layer.is_empty() {
            f.write_str(self.name)
        } else {
            write!(f, "{}.{}", self.layer, self.name)
        }
    }
}

/// An ordered set of parameter tensors, each a contiguous slice in PyTorch's memory layout.
///
/// Layers, whole networks, their gradients and optimiser state all implement it, which is
/// what lets one optimiser loop walk parameters, gradients and state side by side.
pub trait Params<T> {
    /// Number of tensors.
    const TENSORS: usize;
    /// Total number of scalars over all tensors.
    const LEN: usize;
    /// Tensor `i` (`i < TENSORS`); an empty slice past the end.
    fn tensor(&self, i: usize) -> &[T];
    /// [`tensor`](Params::tensor), writable (what optimisers and loaders write through).
    fn tensor_mut(&mut self, i: usize) -> &mut [T];
    /// Name, shape and kind of tensor `i`.
    fn tensor_info(i: usize) -> TensorInfo;
}

/// The (empty) parameter set of a parameter-free layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoParams;

impl<T> Params<T> for NoParams {
    const TENSORS: usize = 0;
    const LEN: usize = 0;
    fn tensor(&self, _: usize) -> &[T] {
        &[]
    }
    fn tensor_mut(&mut self, _: usize) -> &mut [T] {
        &mut []
    }
    fn tensor_info(_: usize) -> TensorInfo {
        TensorInfo {
            layer: "",
            name: "",
            shape: Shape::vector(0),
            kind: TensorKind::Bias,
            fan_in: 0,
            fan_out: 0,
        }
    }
}

impl Zeros for NoParams {
    fn zeros() -> Self {
        NoParams
    }
}

/// The record of a layer whose backward needs nothing beyond its input and output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoRecord;

impl Zeros for NoRecord {
    fn zeros() -> Self {
        NoRecord
    }
}

/// A layer kernel: forward for inference, forward for training, and backward.
///
/// A layer's own [`Params`] are its trainable tensors. Inputs and outputs are flat `SVector`s
/// whose lengths are const generics of the layer type;
/// a layer checks its own dimensions in a `const` assertion, so a hand-written layer stack
/// outside `network!` is checked by rustc too.
pub trait Layer<T: Scalar>: Params<T> {
    /// The input: a flat `SVector` for most layers, `[u32; STEPS]` token ids for an embedding.
    /// Generic code that reads it as numbers adds a `Flat<T>` bound of its own.
    type Input: Zeros + Clone;
    /// The output: a flat `SVector` (its length a const generic of the layer type).
    type Output: Zeros + Flat<T> + Clone;
    /// What training forward keeps for backward beyond the input and output
    /// (argmax indices, dropout masks…); [`NoRecord`] for most layers.
    type Record: Zeros;
    /// Parameter gradients, shaped like the parameters; [`NoParams`] when there are none.
    type Grad: Params<T> + Zeros + Clone;
    /// Short kind name for summaries (`"dense"`, `"conv2d"`).
    const KIND: &'static str;
    /// Multiply-accumulates of one forward pass (for summaries).
    const MACS: usize;
    /// Bytes of scratch space forward uses beyond its input and output (im2col buffers…).
    const SCRATCH_BYTES: usize = 0;
    /// Whether training needs the whole minibatch at once (batch statistics): such a layer
    /// only trains through the `*_batch` methods, and per-sample training refuses to build.
    const NEEDS_BATCH: bool = false;

    /// Inference: `y = f(x)`, overwriting every value of `y`: the generated code reuses
    /// buffers without zeroing them, so `y` may hold anything on entry, NaNs included.
    fn forward(&self, x: &Self::Input, y: &mut Self::Output);

    /// Training forward: like [`forward`](Layer::forward) (overwriting all of `y`) but records
    /// what backward needs.
    /// Takes `&mut self` because some layers keep training state (running statistics,
    /// a dropout RNG).
    fn forward_train(&mut self, x: &Self::Input, y: &mut Self::Output, rec: &mut Self::Record) {
        let _ = rec;
        self.forward(x, y);
    }

    /// Backward: given the forward's `x`, `y`, record and `dy = ∂L/∂y`, **adds** `∂L/∂θ` to
    /// `grad` and, when `dx` is given, **writes** `∂L/∂x` into it, overwriting every value
    /// (whatever it held on entry, as for `y` in [`forward`](Layer::forward)).
    fn backward(
        &self,
        x: &Self::Input,
        y: &Self::Output,
        rec: &Self::Record,
        dy: &Self::Output,
        dx: Option<&mut Self::Input>,
        grad: &mut Self::Grad,
    );

    /// Training forward of a minibatch, sample `i` being `xs[i] → ys[i]` (equal lengths).
    /// The default runs [`forward_train`](Layer::forward_train) per sample; layers that need
    /// batch statistics override it.
    fn forward_train_batch(
        &mut self,
        xs: &[Self::Input],
        ys: &mut [Self::Output],
        recs: &mut [Self::Record],
    ) {
        for ((x, y), rec) in xs.iter().zip(ys.iter_mut()).zip(recs.iter_mut()) {
            self.forward_train(x, y, rec);
        }
    }

    /// Backward of a minibatch: adds the summed parameter gradients of all samples to `grad`
    /// and writes each sample's input gradient when `dxs` is given.
    fn backward_batch(
        &self,
        xs: &[Self::Input],
        ys: &[Self::Output],
        recs: &[Self::Record],
        dys: &[Self::Output],
        dxs: Option<&mut [Self::Input]>,
        grad: &mut Self::Grad,
    ) {
        match dxs {
            Some(dxs) => {
                for (i, dx) in dxs.iter_mut().enumerate().take(xs.len()) {
                    self.backward(&xs[i], &ys[i], &recs[i], &dys[i], Some(dx), grad);
                }
            }
            None => {
                for i in 0..xs.len() {
                    self.backward(&xs[i], &ys[i], &recs[i], &dys[i], None, grad);
                }
            }
        }
    }
}

/// A layer that can overwrite its input with its output: element-wise activations and
/// `flatten`. `network!` runs such a layer in place when its input is not needed afterwards
/// (the plan knows; a value a skip connection still reads is never overwritten), which saves
/// the output buffer, its zeroing and a pass over memory.
///
/// Implementing it is the runtime's answer to "can this kind run in place?": the macro's
/// layer module says it would, and the generated call only compiles if the type agrees.
pub trait InPlace<T: Scalar>: Layer<T> {
    /// [`forward`](Layer::forward) in place: the buffer holds `x` on entry and `y` on exit.
    fn forward_in_place(&self, xy: &mut Self::Output);

    /// [`backward`](Layer::backward) in place: given the forward's `x` and `y`, the buffer
    /// holds ∂L/∂y on entry and ∂L/∂x on exit.
    fn backward_in_place(&self, x: &Self::Input, y: &Self::Output, d: &mut Self::Output);
}

/// A layer with a state carried from one step to the next (the recurrent layers), which
/// can start from a given state instead of zeros and report the state it ended in.
///
/// `network!` offers `forward_from` and `forward_train_from` on networks that hold such
/// layers: reading a long sequence chunk by chunk (adjacent sampling), with backward treating
/// each chunk's starting state as a constant (truncated backpropagation through time).
pub trait Recurrent<T: Scalar>: Layer<T> {
    /// What is carried: the hidden state (and an LSTM's cell state) of each direction.
    type State: Zeros + Clone;

    /// [`Layer::forward`] from `state`, writing the state after the last step into `last`.
    fn forward_from(
        &self,
        x: &Self::Input,
        state: &Self::State,
        y: &mut Self::Output,
        last: &mut Self::State,
    );

    /// [`Layer::forward_train`] from `state`; backward treats `state` as a constant.
    fn forward_train_from(
        &mut self,
        x: &Self::Input,
        state: &Self::State,
        y: &mut Self::Output,
        rec: &mut Self::Record,
    );

    /// The state a training forward ended in.
    fn final_state(rec: &Self::Record) -> Self::State;
}

impl<X: Zeros, const B: usize> Zeros for [X; B] {
    fn zeros() -> Self {
        core::array::from_fn(|_| X::zeros())
    }
}

/// Implements [`Params`] with no tensors and [`Zeros`] for a parameter-free layer type.
#[macro_export]
macro_rules! no_params {
    ($ty:ident $(<$($g:ident $(: $b:path)?),* $(; const $c:ident: $ct:ty)*>)?) => {
        impl<T $($(, $g $(: $b)?)*)? $($(, const $c: $ct)*)?> $crate::Params<T> for $ty $(<$($g,)* $($c),*>)? {
            const TENSORS: usize = 0;
            const LEN: usize = 0;
            fn tensor(&self, _: usize) -> &[T] {
                &[]
            }
            fn tensor_mut(&mut self, _: usize) -> &mut [T] {
                &mut []
            }
            fn tensor_info(i: usize) -> $crate::TensorInfo {
                <$crate::NoParams as $crate::Params<T>>::tensor_info(i)
            }
        }
    };
}

/// A layer that draws random numbers in training (dropout), from a generator of its own.
///
/// `network!` forwards [`Network::reseed`](crate::Network::reseed) to every such layer: a
/// replica of a network training on another thread gets streams of its own, and a fixed
/// seed per share of a batch makes multi-threaded training independent of the thread count.
pub trait Random {
    /// Restarts the layer's generator from `seed`.
    fn reseed(&mut self, seed: u64);
}

/// A layer whose training moves statistics that are not parameters: batch norm's running
/// mean and variance, which inference uses.
///
/// `network!` forwards [`Network::running_stats`](crate::Network::running_stats) to every
/// such layer, so that multi-threaded training can start each replica from the network's
/// statistics and combine what the replicas computed.
pub trait RunningStats<T> {
    /// Number of tensors of statistics.
    const TENSORS: usize;
    /// Scalars over all of them.
    const LEN: usize;
    /// Tensor `i` (`i < TENSORS`); an empty slice past the end.
    fn running_stats(&self, i: usize) -> &[T];
    /// [`running_stats`](RunningStats::running_stats), writable.
    fn running_stats_mut(&mut self, i: usize) -> &mut [T];
    /// Tensor `i`'s PyTorch buffer name and shape (kind [`TensorKind::Buffer`] or
    /// [`TensorKind::Count`]), as [`Params::tensor_info`] describes parameters.
    fn running_stats_info(i: usize) -> TensorInfo;
}

/// Tests of the overwrite contract: forward must overwrite all of `y` and backward all of
/// `dx`, since the generated code reuses buffers without zeroing them.
#[cfg(test)]
pub(crate) mod contract {
    use super::{Flat, Layer, Zeros};
    use crate::rng::{uniform_sym, SplitMix64};
    use std::vec::Vec;

    /// Runs `run` on `batch` buffers of zeros and on as many of NaNs, and asserts that both
    /// come out bit-equal: `run` wrote every value and read none of the old ones.
    pub(crate) fn assert_overwrites_batch<B: Zeros + Flat<f64>>(
        kind: &str,
        method: &str,
        batch: usize,
        mut run: impl FnMut(&mut [B]),
    ) {
        let mut zeros: Vec<B> = (0..batch).map(|_| B::zeros()).collect();
        run(&mut zeros);
        let mut nans: Vec<B> = (0..batch).map(|_| B::zeros()).collect();
        nans.iter_mut().for_each(|b| b.flat_mut().fill(f64::NAN));
        run(&mut nans);
        for (s, (z, n)) in zeros.iter().zip(&nans).enumerate() {
            for (i, (a, b)) in z.flat().iter().zip(n.flat()).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits(),
                    "{kind} {method}: sample {s} [{i}] is {b} from a NaN-filled buffer but {a} \
                     from zeros"
                );
            }
        }
    }

    /// [`assert_overwrites_batch`] for one buffer.
    pub(crate) fn assert_overwrites<B: Zeros + Flat<f64>>(
        kind: &str,
        method: &str,
        mut run: impl FnMut(&mut B),
    ) {
        assert_overwrites_batch(kind, method, 1, |b: &mut [B]| run(&mut b[0]));
    }

    /// A buffer of values drawn uniformly from [−1, 1].
    pub(crate) fn random<B: Zeros + Flat<f64>>(rng: &mut SplitMix64) -> B {
        let mut b = B::zeros();
        b.flat_mut()
            .iter_mut()
            .for_each(|v| *v = uniform_sym(rng, 1.0));
        b
    }

    /// The overwrite contract of one layer at a random input and output gradient in [−1, 1].
    pub(crate) fn check_overwrites<L>(layer: &L, seed: u64)
    where
        L: Layer<f64> + Clone,
        L::Input: Flat<f64>,
    {
        let mut rng = SplitMix64::new(seed);
        let x = random(&mut rng);
        let dy = random(&mut rng);
        check_overwrites_at(layer, &x, &dy);
    }

    /// The overwrite contract of one layer at `x` and `dy`: `forward` and `forward_train`
    /// overwrite `y`, `backward` overwrites `dx`. Each run starts from a clone of `layer`, so
    /// a stateful layer (a dropout RNG) repeats itself.
    pub(crate) fn check_overwrites_at<L>(layer: &L, x: &L::Input, dy: &L::Output)
    where
        L: Layer<f64> + Clone,
        L::Input: Flat<f64>,
    {
        check_forward_overwrites_at(layer, x);
        let mut trained = layer.clone();
        let (mut y, mut rec) = (L::Output::zeros(), L::Record::zeros());
        trained.forward_train(x, &mut y, &mut rec);
        assert_overwrites(L::KIND, "backward", |dx| {
            trained.backward(x, &y, &rec, dy, Some(dx), &mut L::Grad::zeros())
        });
    }

    /// The forward half of [`check_overwrites_at`], for layers without an input gradient
    /// (an embedding, whose input is token ids).
    pub(crate) fn check_forward_overwrites_at<L: Layer<f64> + Clone>(layer: &L, x: &L::Input) {
        assert_overwrites(L::KIND, "forward", |y| layer.forward(x, y));
        assert_overwrites(L::KIND, "forward_train", |y| {
            layer.clone().forward_train(x, y, &mut L::Record::zeros())
        });
    }
}
