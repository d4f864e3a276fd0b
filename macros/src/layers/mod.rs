//! The layer kinds, one module each, registered in [`KINDS`].
//!
//! A kind is its argument table (a [`Signature`]) and a `lower` function that turns the bound
//! arguments and the input shape into the output shape and a resolved [`Op`]: the runtime type
//! with every geometry number computed, and its constructor. Whatever a kind cannot accept it
//! reports through [`Lower`], on the smallest offending token. Code generation only prints
//! ops, so it cannot fail. A new kind is one new file here (and its runtime mirror in
//! `runtime/src/layers/`) plus one line in [`KINDS`].

mod activation;
mod batch_norm;
mod conv1d;
mod conv2d;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod global_pool;
mod maxout;
mod over_time;
mod pool;
mod pool1d;
mod prelu;
mod recurrent;
mod reshape;
pub mod tensor;

pub use tensor::{Decode, Role as TensorRole, Tensor};

use crate::ast;
use crate::bind::{show, Args, Init, Signature};
use crate::report::Errors;
use crate::shape::{self, Hw, Mismatch, Pad, Shape};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// One layer kind: how it is written and how it lowers.
pub struct Kind {
    pub sig: Signature,
    pub lower: fn(&mut Lower) -> Lowered,
}

/// Every layer kind of the DSL.
pub const KINDS: &[&Kind] = &[
    &dense::DENSE,
    &conv2d::CONV2D,
    &pool::MAX_POOL2D,
    &pool::AVG_POOL2D,
    &pool::ADAPTIVE_AVG_POOL2D,
    &global_pool::GLOBAL_AVG_POOL2D,
    &global_pool::GLOBAL_MAX_POOL2D,
    &flatten::FLATTEN,
    &reshape::RESHAPE,
    &embedding::EMBEDDING,
    &conv1d::CONV1D,
    &pool1d::MAX_POOL1D,
    &pool1d::AVG_POOL1D,
    &over_time::LAST,
    &over_time::MEAN_OVER_TIME,
    &over_time::MAX_OVER_TIME,
    &recurrent::RNN,
    &recurrent::GRU,
    &recurrent::LSTM,
    &activation::RELU,
    &activation::SIGMOID,
    &activation::TANH,
    &activation::LEAKY_RELU,
    &activation::SOFTMAX,
    &activation::RELU6,
    &activation::ELU,
    &activation::SELU,
    &activation::SOFTPLUS,
    &activation::SILU,
    &activation::GELU,
    &activation::HARD_SIGMOID,
    &activation::HARD_SWISH,
    &prelu::PRELU,
    &maxout::MAXOUT,
    &dropout::DROPOUT,
    &batch_norm::BATCH_NORM,
];

/// The kind called `name`.
pub fn lookup(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|kind| kind.sig.name == name)
}

/// A layer resolved for code generation.
pub struct Op {
    /// The runtime type, e.g. `#rt::layers::Dense<T, 784, 128, true>`.
    pub ty: TokenStream,
    pub new: New,
    /// Whether the layer may overwrite its input (the type implements the runtime's `InPlace`).
    pub in_place: bool,
    /// Whether the layer carries a state from one call to the next on request (the type
    /// implements the runtime's `Recurrent`): the network then offers `forward_from`.
    pub state: bool,
    /// Whether training draws random numbers (the type implements the runtime's `Random`):
    /// the network's `reseed` then reaches the layer.
    pub random: bool,
    /// Whether training needs whole minibatches (batch statistics): the network then does not
    /// implement the runtime's `PerSample`, so the per-sample `Trainer` refuses it. Such a
    /// layer keeps running statistics (the type implements the runtime's `RunningStats`),
    /// which the network's `running_stats` reaches.
    pub batch: bool,
    /// What the layer means to the default-init rule of the layers before it.
    pub role: Role,
    /// Its tensors in `state_dict` order; their trainable scalars are [`Op::params`].
    pub tensors: Vec<Tensor>,
    /// The layer as a constant expression, for `#[weights]`: written with `T` standing for a
    /// concrete scalar, `__t{i}` for tensor `i` as its decoder made it, and `__decode` for
    /// `runtime::baked::{f32, f64}`.
    pub constant: TokenStream,
    /// What the layer becomes in the network's int8 twin (`#[int8]`).
    pub int8: Int8,
}

impl Op {
    /// Trainable scalars (the runtime type's `Params::LEN`, which the generated `new` checks
    /// against this), for the generated docs' table; saturating, never overflowing.
    pub fn params(&self) -> u64 {
        tensor::params(&self.tensors)
    }
}

/// What a layer becomes in a network's int8 twin. The runtime's `quant::Quantize` builds the
/// int8 layer from the float one; this says how it fits the int8 program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int8 {
    /// No int8 form: `#[int8]` refuses the network.
    None,
    /// Requantises to an output scale of its own (dense, conv2d): calibration sets it, and a
    /// ReLU or ReLU6 right after it fuses into its output clamp.
    Rescale,
    /// Keeps its input's quantisation (max pooling).
    Keep,
    /// ReLU or ReLU6: fused into the layer before it, else a clamp of its own.
    Clamp,
    /// Nothing to compute on int8 values (flatten, reshape, dropout at inference).
    Identity,
}

/// How `new(rng)` builds the layer.
pub enum New {
    /// A constructor expression (it may use `rng`).
    Value(TokenStream),
    /// `ctor(init, rng)`, with the user's init or, when `None`, the default rule's.
    Init {
        ctor: TokenStream,
        explicit: Option<Init>,
    },
}

/// A layer's part in the default init: He before ReLU-family activations, Xavier otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An activation; `he` when it halves the variance as ReLU does.
    Activation { he: bool },
    /// Looked through: dropout, batch norm, pooling, flatten.
    Transparent,
    /// Mixes features (dense, convolution): the layers before it see it, not what follows.
    Mixing,
}

/// What `lower` found: the op when the layer is valid, and the output shape whenever it is
/// known (even after an error, so checking goes on without a cascade).
pub struct Lowered {
    pub op: Option<Op>,
    pub output: Option<Shape>,
}

impl Lowered {
    /// Nothing is known: the error is reported, and the following layers are not checked.
    pub fn lost() -> Lowered {
        Lowered {
            op: None,
            output: None,
        }
    }

    pub fn ok(op: Op, output: Shape) -> Lowered {
        Lowered {
            op: Some(op),
            output: Some(output),
        }
    }
}

/// Everything a kind's `lower` sees, and where it reports.
pub struct Lower<'a, 'b> {
    pub cx: &'b mut Errors,
    /// The runtime's path: `$crate::runtime`.
    pub rt: &'b TokenStream,
    pub sig: &'static Signature,
    pub layer: &'a ast::Layer,
    pub args: &'b Args<'a>,
    /// The input shape, unless an earlier error lost it.
    pub input: Option<Shape>,
}

impl Lower<'_, '_> {
    /// Reports on the argument `name` when it was written, else on the layer's kind.
    pub fn error_at(&mut self, name: &str, message: String) {
        match self.args.value(name) {
            Some(value) => self.cx.error_spanned(value, message),
            None => self.cx.error(self.layer.kind.span(), message),
        }
    }

    pub fn error(&mut self, message: String) {
        self.cx.error(self.layer.kind.span(), message);
    }

    /// An element-wise layer: the input shape, and the op built from `ty` and `new`.
    pub fn elementwise(&self, op: Option<Op>) -> Lowered {
        Lowered {
            op,
            output: self.input,
        }
    }

    /// The input as an image, or the error that it is not one.
    pub fn image(&mut self) -> Option<(u64, u64, u64)> {
        match shape::as_image(self.input?) {
            Ok(image) => Some(image),
            Err(mismatch) => {
                self.mismatch(mismatch);
                None
            }
        }
    }

    /// The input as a sequence `(steps, features)`, or the error that it is not one.
    pub fn sequence(&mut self) -> Option<(u64, u64)> {
        match shape::as_sequence(self.input?) {
            Ok(sequence) => Some(sequence),
            Err(mismatch) => {
                self.mismatch(mismatch);
                None
            }
        }
    }

    /// The input, unless it is token ids (which only `embedding` reads): element-wise and
    /// per-feature layers take any tensor of numbers.
    pub fn numbers(&mut self) -> Option<Shape> {
        let input = self.input?;
        if let Shape::Tokens { .. } = input {
            self.needs_embedding(input);
            return None;
        }
        Some(input)
    }

    /// Channels and positions per channel of the input, for the layers that keep one value per
    /// channel (batch norm, PReLU, maxout). A sequence's features are interleaved step by step
    /// rather than planar, which these kernels do not read: that is an error here.
    pub fn per_channel(&mut self) -> Option<(u64, u64)> {
        let input = self.numbers()?;
        let found = channels(input);
        if found.is_none() {
            let message = format!(
                "`{}` over a sequence {input} is not supported: its kernels read channels as planes, and a sequence stores its features step by step; reduce it first (`mean_over_time`, `last`), or `flatten` it",
                self.sig.name
            );
            self.error(message);
        }
        found
    }

    /// Reports a shape mismatch through the rule it breaks.
    pub fn mismatch(&mut self, mismatch: Mismatch) {
        match mismatch {
            Mismatch::NotVector { found } => self.needs_vector(found),
            Mismatch::NotImage { found } => self.needs_image(found),
            Mismatch::NotSequence { found } => self.needs_sequence(found),
            Mismatch::NotTokens { found } => self.needs_tokens(found),
            Mismatch::KernelTooLarge {
                input,
                padding,
                effective,
            } => self.kernel_fits(input, padding, effective),
            Mismatch::SameStride { stride } => self.same_needs_stride_one(stride),
            Mismatch::SameEvenKernel { effective } => self.same_needs_odd_kernel(effective),
            Mismatch::PoolPadding { padding, kernel } => self.pool_padding(padding, kernel),
            Mismatch::Groups {
                in_channels,
                out_channels,
                groups,
            } => self.groups_divide(in_channels, out_channels, groups),
            Mismatch::Zero | Mismatch::TooLarge => self.too_large(),
        }
    }

    /// A matrix layer multiplies a vector, so an image must be flattened before it.
    fn needs_vector(&mut self, found: Shape) {
        if let Shape::Tokens { .. } = found {
            return self.needs_embedding(found);
        }
        let message = format!(
            "`{}` expects a vector, found an image {found}; add `flatten` before it",
            self.sig.name
        );
        self.error(message);
    }

    /// Convolution and pooling slide a window over height and width: they need an image.
    /// Over a sequence, the one-dimensional kind is the one that slides over time.
    fn needs_image(&mut self, found: Shape) {
        let name = self.sig.name;
        let message = match found {
            Shape::Tokens { .. } => return self.needs_embedding(found),
            Shape::Sequence { .. } => {
                let instead = match name {
                    "conv2d" => "use `conv1d` to convolve over time",
                    "max_pool2d" => "use `max_pool1d` to pool over time",
                    "avg_pool2d" | "adaptive_avg_pool2d" => "use `avg_pool1d` to pool over time",
                    "global_max_pool2d" => "use `max_over_time` to reduce it to a vector",
                    _ => "use `mean_over_time` to reduce it to a vector",
                };
                format!("`{name}` expects an image `[channels, height, width]`, found a sequence {found}; {instead}")
            }
            _ => format!(
                "`{name}` expects an image `[channels, height, width]`, found a vector {found}"
            ),
        };
        self.error(message);
    }

    /// Recurrent layers, `conv1d` and the pools over time read `[steps, features]`. An image's
    /// rows can be read as steps without moving data, which `reshape` says.
    fn needs_sequence(&mut self, found: Shape) {
        let name = self.sig.name;
        let hint = match found {
            Shape::Tokens { .. } => return self.needs_embedding(found),
            Shape::Image { c, h, w } => format!(
                "add `reshape({}, {w})` before it to read the image's rows as steps",
                mul(&[c, h])
            ),
            _ => "declare the input as `[steps, features]`, or add `reshape(steps, features)` before it".to_string(),
        };
        let message = format!(
            "`{name}` expects a sequence `[steps, features]`, found {} {found}; {hint}",
            if let Shape::Image { .. } = found {
                "an image"
            } else {
                "a vector"
            }
        );
        self.error(message);
    }

    /// Token ids are indices, not numbers: only `embedding` reads them, as the first layer.
    fn needs_embedding(&mut self, found: Shape) {
        let message = format!(
            "`{}` cannot read token ids ({found}); start the network with `embedding(vocab, dim)`",
            self.sig.name
        );
        self.error(message);
    }

    /// `embedding` looks its input up in a table, so its input must be token ids.
    fn needs_tokens(&mut self, found: Shape) {
        let message = format!(
            "`embedding` expects token ids, found {found}; it must be the first layer of a network declared with `tokens: [steps]`"
        );
        self.error(message);
    }

    /// The (effective, dilated) kernel or pooling window fits in the padded input, else there
    /// is not a single position to put it. The message gives every number the sizes came from.
    fn kernel_fits(&mut self, input: Hw, padding: Pad, effective: Hw) {
        if self.one_dimensional() {
            return self.kernel_fits_in_time(input.1, (padding.left, padding.right), effective.1);
        }
        let conv = self.sig.name == "conv2d";
        let (what, label) = if conv {
            ("kernel", "effective kernel")
        } else {
            ("window", "window")
        };
        let kernel = self.args.hw("kernel", effective).unwrap_or(effective);
        let mut message = format!("`{}` {what} {}", self.sig.name, show(kernel));
        let dilation = self.args.hw("dilation", (1, 1)).unwrap_or((1, 1));
        if conv && dilation != (1, 1) {
            message += &format!(" with dilation {}", show(dilation));
        }
        let padded = (
            input
                .0
                .saturating_add(padding.top)
                .saturating_add(padding.bottom),
            input
                .1
                .saturating_add(padding.left)
                .saturating_add(padding.right),
        );
        message += &format!(
            " does not fit: input is {}×{} with padding {padding} (",
            input.0, input.1,
        );
        message += &match (effective.0 > padded.0, effective.1 > padded.1) {
            (true, true) if effective.0 == effective.1 && padded.0 == padded.1 => {
                format!("{label} {} > {})", effective.0, padded.0)
            }
            (true, true) => format!(
                "{label} {}×{} > {}×{})",
                effective.0, effective.1, padded.0, padded.1
            ),
            (true, false) => format!("{label} height {} > {})", effective.0, padded.0),
            _ => format!("{label} width {} > {})", effective.1, padded.1),
        };
        self.error_at("kernel", message);
    }

    /// [`kernel_fits`](Self::kernel_fits) over time, for the one-dimensional kinds.
    fn kernel_fits_in_time(&mut self, steps: u64, (left, right): Hw, effective: u64) {
        let name = self.sig.name;
        let (what, label) = if name == "conv1d" {
            ("kernel", "effective kernel")
        } else {
            ("window", "window")
        };
        let kernel = self.args.size("kernel").unwrap_or(effective);
        let mut message = format!("`{name}` {what} {kernel}");
        let dilation = self.args.size("dilation").unwrap_or(1);
        if dilation != 1 {
            message += &format!(" with dilation {dilation}");
        }
        let padded = steps.saturating_add(left).saturating_add(right);
        let padding = if left == right {
            format!("{left}")
        } else {
            format!("({left}, {right})")
        };
        message += &format!(
            " does not fit: the sequence has {steps} steps with padding {padding} ({label} {effective} > {padded})"
        );
        self.error_at("kernel", message);
    }

    /// Whether the kind slides over time only (its pairs are `(1, n)`).
    fn one_dimensional(&self) -> bool {
        self.sig.name.ends_with("1d")
    }

    /// A per-axis pair as the user wrote it: one number for the one-dimensional kinds.
    fn show(&self, hw: Hw) -> String {
        if self.one_dimensional() {
            hw.1.to_string()
        } else {
            show(hw)
        }
    }

    /// `same` keeps the output the size of the input, which a stride above 1 makes
    /// impossible: the output is about input / stride whatever the padding.
    fn same_needs_stride_one(&mut self, stride: Hw) {
        let message = format!(
            "`same` padding needs stride 1, found {}; with a larger stride the output cannot keep the input size, so give the padding as a number, or use `same_upper` for TensorFlow's `SAME`",
            self.show(stride)
        );
        self.error_at("padding", message);
    }

    /// `same` pads (k̂ − 1)/2 on each side; with an even effective kernel k̂ that is not
    /// whole, and the two sides would need different padding.
    fn same_needs_odd_kernel(&mut self, effective: Hw) {
        let (kernel, dilation) = if self.one_dimensional() {
            let kernel = self.args.size("kernel").unwrap_or(effective.1);
            ((1, kernel), (1, self.args.size("dilation").unwrap_or(1)))
        } else {
            let kernel = self.args.hw("kernel", effective).unwrap_or(effective);
            (kernel, self.args.hw("dilation", (1, 1)).unwrap_or((1, 1)))
        };
        let found = if dilation == (1, 1) {
            format!("kernel {}", self.show(kernel))
        } else {
            format!(
                "effective kernel {} (kernel {} with dilation {})",
                self.show(effective),
                self.show(kernel),
                self.show(dilation)
            )
        };
        let message = format!(
            "`same` padding needs an odd effective kernel, found {found}; an even one would need more padding on one side than the other, so give the padding as a number"
        );
        self.error_at("padding", message);
    }

    /// Pooling padding is at most half the window (PyTorch's rule): more would create
    /// windows that hold nothing but padding.
    fn pool_padding(&mut self, padding: Pad, kernel: Hw) {
        let found = if self.one_dimensional() {
            padding.left.to_string()
        } else {
            padding.to_string()
        };
        let message = format!(
            "`{}` padding must be at most half the kernel: expected at most {}, found {found}",
            self.sig.name,
            self.show((kernel.0 / 2, kernel.1 / 2)),
        );
        self.error_at("padding", message);
    }

    /// Each group convolves `in/groups` input channels into `out/groups` output channels,
    /// so `groups` divides both.
    fn groups_divide(&mut self, in_channels: u64, out_channels: u64, groups: u64) {
        let message = format!(
            "`groups` of `{}` must divide the input and output channels: found {groups} groups for {in_channels} input and {out_channels} output channels",
            self.sig.name
        );
        self.error_at("groups", message);
    }

    /// Sizes are at most [`shape::MAX_VALUES`] (anything near that would not compile or run
    /// anyway).
    fn too_large(&mut self) {
        let message = format!(
            "the output of `{}` is too large: {}",
            self.sig.name,
            shape::MAX_VALUES_NOTE
        );
        self.error(message);
    }
}

/// An unsuffixed integer literal, as const generic arguments want.
pub fn int(n: u64) -> Literal {
    Literal::u64_unsuffixed(n)
}

/// `N` of a flat tensor (check.rs verified it fits).
pub fn len(shape: Shape) -> Literal {
    int(shape.len().unwrap_or(u64::MAX))
}

/// Saturating product: only reached with sizes shape.rs bounded.
pub fn mul(factors: &[u64]) -> u64 {
    factors.iter().fold(1u64, |acc, &f| acc.saturating_mul(f))
}

/// An `f64` expression; the sign goes outside the literal, as the parser reads it.
pub fn float(x: f64) -> TokenStream {
    if !x.is_finite() {
        // bind.rs rejects non-finite numbers; this only keeps `Literal` from panicking.
        return quote!(::core::f64::NAN);
    }
    let lit = Literal::f64_unsuffixed(x.abs());
    if x.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// Channels and positions per channel of a shape: `(c, h·w)` for an image, `(n, 1)` for a
/// vector (per-feature layers such as batch norm treat each feature as a channel). A sequence
/// has none in this sense: its features are interleaved step by step, not planar.
pub fn channels(shape: Shape) -> Option<(u64, u64)> {
    match shape {
        Shape::Image { c, h, w } => Some((c, mul(&[h, w]))),
        Shape::Vector(n) => Some((n, 1)),
        Shape::Sequence { .. } | Shape::Tokens { .. } => None,
    }
}
