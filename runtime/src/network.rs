//! The trait every `network!`-generated model implements, and its summary table.
//!
//! Optimisers, trainers and the gradient checker are written once against [`Network`];
//! the macro generates only the per-model plumbing (fields, buffers, the call sequence).

use crate::{Flat, NoParams, Params, Scalar, Shape, TensorInfo, Zeros};
use core::fmt;
use core::marker::PhantomData;

/// One row of a model's summary, filled in by the macro at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerRow {
    /// Field name (`"conv1"`, or a generated `"relu_1"`).
    pub name: &'static str,
    /// Layer kind (`"conv2d"`).
    pub kind: &'static str,
    /// Shape of the layer's output for one sample (`[6, 28, 28]`).
    pub output: Shape,
    /// Trainable scalars.
    pub params: usize,
    /// Multiply-accumulates of one forward pass.
    pub macs: usize,
    /// Scratch bytes forward uses beyond its input and output, at this scalar type.
    pub scratch_bytes: usize,
}

/// Copying parameters to or from a flat slice of the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// The slice must hold exactly the model's parameter count.
    LengthMismatch {
        /// The model's parameter count, [`Network::PARAMS`].
        expected: usize,
        /// The slice's length.
        found: usize,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::LengthMismatch { expected, found } => write!(
                f,
                "parameter slice has the wrong length: expected {expected} values, found {found}"
            ),
        }
    }
}

impl core::error::Error for ParamError {}

/// The scalar a network type computes in (`f32` for `Net`, `f64` for `Net<f64>`).
///
/// It exists so that trainers and optimisers can be named by the network alone: their scalar
/// parameter defaults to `<N as Model>::Scalar`, so `Trainer<LeNet5>` and `Adam<LeNet5>` need
/// no `f32`. [`Network<T>`] requires it with `Scalar = T`.
pub trait Model {
    /// The network's scalar type.
    type Scalar: Scalar;
}

/// Where a `state_dict` entry lives: a parameter tensor (`Params::tensor(i)`) or a
/// running-statistics buffer (`Network::running_stats(i)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateEntry {
    /// Parameter tensor `i`.
    Param(usize),
    /// Running-statistics tensor `i`.
    Buffer(usize),
}

/// A model: forward for inference, a recording forward for training, and backward.
///
/// The parameters are the model's [`Params`], in PyTorch order (`fc1.weight` then `fc1.bias`,
/// layer by layer). The gradient type has the same tensors in the same order.
pub trait Network<T: Scalar>: Params<T> + Model<Scalar = T> + Sized {
    /// The input: a flat `SVector<T, n>` (images in channel, row, column order, sequences
    /// step-major) or `[u32; steps]` token ids. Generic code that reads it as numbers (the
    /// input-gradient check) adds a `Flat<T>` bound of its own.
    type Input: Zeros + Clone;
    /// Flat output, `SVector<T, n>`.
    type Output: Zeros + Flat<T> + Clone;
    /// Parameter gradients, one tensor per parameter tensor.
    type Grad: Params<T> + Zeros + Clone;
    /// Everything one sample's training forward keeps for backward.
    type Record: Zeros;

    /// Shape of one input sample as declared (`[1, 28, 28]`; `[steps]` for token ids).
    const INPUT_SHAPE: Shape;
    /// Shape of one output sample (`[10]`; `[steps, n]` for per-step outputs).
    const OUTPUT_SHAPE: Shape;
    /// One row per layer, for [`summary`](Network::summary) and memory budgets.
    const LAYERS: &'static [LayerRow];

    /// Trainable parameter count.
    const PARAMS: usize = <Self as Params<T>>::LEN;
    /// Bytes of the parameters.
    const PARAM_BYTES: usize = <Self as Params<T>>::LEN * T::BYTES;
    /// Bytes of one gradient buffer (also the size of one optimiser state slot).
    const GRAD_BYTES: usize = <Self::Grad as Params<T>>::LEN * T::BYTES;
    /// Bytes of one sample's training record.
    const RECORD_BYTES: usize = core::mem::size_of::<Self::Record>();
    /// Bytes inference needs beyond the input: the planned activation buffers (for a
    /// generated network, the arena its schedule needs at its peak) plus the largest scratch.
    const INFERENCE_BYTES: usize = inference_bytes(Self::LAYERS, T::BYTES);
    /// Working memory of training one sample: its record plus backward's gradient buffers
    /// (for a generated network, its planned arena) and the largest scratch.
    const TRAINING_BYTES: usize = Self::RECORD_BYTES + Self::INFERENCE_BYTES;
    /// Whether some layer (batch norm) needs whole minibatches to train; such a network
    /// trains through [`BatchNetwork`] only.
    const NEEDS_BATCH: bool = false;

    /// Inference. No heap, no runtime shape checks.
    fn forward(&self, x: &Self::Input) -> Self::Output;

    /// Training forward of one sample: fills `rec` with what [`backward`](Network::backward)
    /// needs. Read the output with [`output`](Network::output).
    fn forward_train(&mut self, x: &Self::Input, rec: &mut Self::Record);

    /// The output recorded by the last [`forward_train`](Network::forward_train) into `rec`.
    fn output(rec: &Self::Record) -> &Self::Output;

    /// Backward of one sample: **adds** ∂L/∂θ to `grad`, given `dy = ∂L/∂output` and the
    /// record of its training forward; writes ∂L/∂input into `dx` when asked (skipping it
    /// saves the first layer's input-gradient work).
    fn backward(
        &self,
        rec: &Self::Record,
        dy: &Self::Output,
        grad: &mut Self::Grad,
        dx: Option<&mut Self::Input>,
    );

    /// Restarts the generator of every layer that draws random numbers in training (dropout),
    /// each from `seed` mixed with its position; a no-op for networks without such layers.
    /// Multi-threaded training reseeds each replica per share of a batch, so the masks do not
    /// depend on which thread ran which share.
    fn reseed(&mut self, seed: u64) {
        let _ = seed;
    }

    /// Tensors of running statistics (batch norm's running mean and variance, layer by
    /// layer): state that training moves but that is not trained. 0 without batch norm.
    const RUNNING_STATS: usize = 0;

    /// Running-statistics tensor `i` (`i < RUNNING_STATS`); an empty slice past the end.
    fn running_stats(&self, i: usize) -> &[T] {
        let _ = i;
        &[]
    }

    /// [`running_stats`](Network::running_stats), writable.
    fn running_stats_mut(&mut self, i: usize) -> &mut [T] {
        let _ = i;
        &mut []
    }

    /// Scalars over all running-statistics tensors (the buffers beside `PARAMS`).
    const BUFFERS: usize = 0;

    /// Describes the network as an ONNX graph into `graph`, node by node (see
    /// [`onnx`](crate::onnx)); `network!` generates it. By default the network has none.
    fn onnx(&self, graph: &mut dyn crate::onnx::Graph<T>) {
        graph.unsupported("", "this network");
    }

    /// Running-statistics tensor `i`'s `state_dict` name (`bn1.running_mean`) and shape.
    fn running_stats_info(i: usize) -> TensorInfo {
        <NoParams as Params<T>>::tensor_info(i)
    }

    /// Entry `i` of the network's PyTorch `state_dict`, in its order (each layer's
    /// parameters, then its buffers), for `i < TENSORS + RUNNING_STATS`.
    fn state_entry(i: usize) -> StateEntry {
        if i < Self::TENSORS {
            StateEntry::Param(i)
        } else {
            StateEntry::Buffer(i - Self::TENSORS)
        }
    }

    /// Copies all parameters, in order, into `out` (`out.len()` must equal `PARAMS`).
    fn copy_params_to(&self, out: &mut [T]) -> Result<(), ParamError> {
        check_len(Self::PARAMS, out.len())?;
        let mut at = 0;
        for i in 0..Self::TENSORS {
            let t = self.tensor(i);
            out[at..at + t.len()].copy_from_slice(t);
            at += t.len();
        }
        Ok(())
    }

    /// Sets all parameters, in order, from `src` (`src.len()` must equal `PARAMS`); on a
    /// length mismatch nothing is changed.
    fn copy_params_from(&mut self, src: &[T]) -> Result<(), ParamError> {
        check_len(Self::PARAMS, src.len())?;
        let mut at = 0;
        for i in 0..Self::TENSORS {
            let t = self.tensor_mut(i);
            let n = t.len();
            t.copy_from_slice(&src[at..at + n]);
            at += n;
        }
        Ok(())
    }

    /// The model's table: layer, type, output shape, params, MACs, bytes; totals below.
    fn summary() -> Summary<Self, T> {
        Summary(PhantomData)
    }
}

/// Training a minibatch of `B` samples layer by layer, as layers with batch statistics need.
///
/// Every generated network implements it; the record holds `B` samples' activations, so it
/// costs `B` times the memory of [`Network::Record`]. Networks without batch layers can use
/// either path and get the same gradients.
pub trait BatchNetwork<T: Scalar>: Network<T> {
    /// The activations of `B` samples, layer by layer.
    type BatchRecord<const B: usize>: Zeros;

    /// Training forward of `B` samples; read the outputs with
    /// [`batch_outputs`](BatchNetwork::batch_outputs).
    fn forward_train_batch<const B: usize>(
        &mut self,
        xs: &[Self::Input; B],
        rec: &mut Self::BatchRecord<B>,
    );

    /// The `B` outputs of the last [`forward_train_batch`](BatchNetwork::forward_train_batch),
    /// read from the record (where training keeps them for backward).
    fn batch_outputs<const B: usize>(rec: &Self::BatchRecord<B>) -> &[Self::Output; B];

    /// Backward of `B` samples: **adds** the sum of their parameter gradients to `grad`.
    fn backward_batch<const B: usize>(
        &self,
        rec: &Self::BatchRecord<B>,
        dys: &[Self::Output; B],
        grad: &mut Self::Grad,
    );
}

fn check_len(expected: usize, found: usize) -> Result<(), ParamError> {
    if expected == found {
        Ok(())
    } else {
        Err(ParamError::LengthMismatch { expected, found })
    }
}

/// The largest scratch buffer of any layer: it is live only while its layer runs.
pub const fn max_scratch(layers: &[LayerRow]) -> usize {
    let (mut max, mut i) = (0, 0);
    while i < layers.len() {
        if layers[i].scratch_bytes > max {
            max = layers[i].scratch_bytes;
        }
        i += 1;
    }
    max
}

/// Whether any flag is set (a network needs batches if any of its layers does).
pub const fn any(flags: &[bool]) -> bool {
    let mut i = 0;
    while i < flags.len() {
        if flags[i] {
            return true;
        }
        i += 1;
    }
    false
}

/// The sum of the counts (a network's tensors or parameters: its layers' counts added).
/// Generated code calls it on an array rather than writing `a + b + …`, whose nesting grows
/// with the number of layers and overflows the compiler's stack on deep networks.
pub const fn sum(counts: &[usize]) -> usize {
    let (mut sum, mut i) = (0, 0);
    while i < counts.len() {
        sum += counts[i];
        i += 1;
    }
    sum
}

/// Every layer output plus the largest scratch buffer: what a chain of layers with one
/// buffer each keeps live at most. Generated networks state their planned figure instead.
pub const fn inference_bytes(layers: &[LayerRow], scalar_bytes: usize) -> usize {
    let (mut sum, mut scratch, mut i) = (0, 0, 0);
    while i < layers.len() {
        sum += layers[i].output.len() * scalar_bytes;
        if layers[i].scratch_bytes > scratch {
            scratch = layers[i].scratch_bytes;
        }
        i += 1;
    }
    sum + scratch
}

/// The printable summary of a model type (see [`Network::summary`]).
pub struct Summary<N: Network<T>, T: Scalar = <N as Model>::Scalar>(PhantomData<(N, T)>);

impl<N: Network<T>, T: Scalar> fmt::Display for Summary<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name column fits the longest path (`layer2.shortcut.conv2d_0`), 14 at least.
        let name = N::LAYERS
            .iter()
            .map(|row| row.name.chars().count())
            .fold(14, usize::max);
        let width = name + 64;
        let rule = |f: &mut fmt::Formatter<'_>, c: char| -> fmt::Result {
            for _ in 0..width {
                write!(f, "{c}")?;
            }
            writeln!(f)
        };
        writeln!(
            f,
            "{:<name$} {:<12} {:<16} {:>9} {:>11} {:>10}",
            "layer", "type", "output shape", "params", "MACs", "bytes"
        )?;
        rule(f, '=')?;
        writeln!(
            f,
            "{:<name$} {:<12} {:<16} {:>9} {:>11} {:>10}",
            "input",
            "",
            Padded(N::INPUT_SHAPE),
            0,
            0,
            Thousands(N::INPUT_SHAPE.len() * T::BYTES)
        )?;
        let (mut params, mut macs) = (0, 0);
        for row in N::LAYERS {
            let bytes = (row.params + row.output.len()) * T::BYTES + row.scratch_bytes;
            writeln!(
                f,
                "{:<name$} {:<12} {:<16} {:>9} {:>11} {:>10}",
                row.name,
                row.kind,
                Padded(row.output),
                Thousands(row.params),
                Thousands(row.macs),
                Thousands(bytes)
            )?;
            params += row.params;
            macs += row.macs;
        }
        rule(f, '=')?;
        writeln!(
            f,
            "parameters: {} ({} bytes)",
            Thousands(params),
            Thousands(N::PARAM_BYTES)
        )?;
        if N::RUNNING_STATS > 0 {
            writeln!(
                f,
                "buffers: {} in {} tensors ({} bytes), saved and loaded with the parameters",
                Thousands(N::BUFFERS),
                N::RUNNING_STATS,
                Thousands(N::BUFFERS * T::BYTES)
            )?;
        }
        writeln!(f, "MACs per sample: {}", Thousands(macs))?;
        writeln!(
            f,
            "inference: {} bytes of activations",
            Thousands(N::INFERENCE_BYTES)
        )?;
        writeln!(
            f,
            "training: {} bytes of gradients (the size of each optimiser state buffer),",
            Thousands(N::GRAD_BYTES)
        )?;
        writeln!(
            f,
            "          {} bytes of working memory per sample ({} of record)",
            Thousands(N::TRAINING_BYTES),
            Thousands(N::RECORD_BYTES)
        )
    }
}

/// Formats a shape through `{:<16}` padding (Display of Shape writes piecewise).
struct Padded(Shape);

impl fmt::Display for Padded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Render into a small stack buffer, then pad as one string.
        let mut buf = StackStr::<48>::new();
        fmt::write(&mut buf, format_args!("{}", self.0))?;
        f.pad(buf.as_str())
    }
}

/// 61706 → "61,706".
struct Thousands(usize);

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0u8; 20];
        let (mut n, mut len) = (self.0, 0);
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut buf = StackStr::<32>::new();
        for i in (0..len).rev() {
            buf.push(digits[i] as char);
            if i > 0 && i % 3 == 0 {
                buf.push(',');
            }
        }
        f.pad(buf.as_str())
    }
}

/// A fixed-capacity string for formatting without `alloc`.
struct StackStr<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        StackStr {
            bytes: [0; N],
            len: 0,
        }
    }
    fn push(&mut self, c: char) {
        let mut tmp = [0; 4];
        let _ = fmt::Write::write_str(self, c.encode_utf8(&mut tmp));
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn thousands_separators() {
        assert_eq!(format!("{}", Thousands(0)), "0");
        assert_eq!(format!("{}", Thousands(999)), "999");
        assert_eq!(format!("{}", Thousands(61_706)), "61,706");
        assert_eq!(format!("{:>10}", Thousands(1_234_567)), " 1,234,567");
        assert_eq!(
            format!("{:<10}|", Padded(Shape::image(6, 28, 28))),
            "[6, 28, 28]|"
        );
    }
}
