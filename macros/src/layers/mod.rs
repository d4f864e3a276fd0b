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
mod conv2d;
mod dense;
mod dropout;
mod flatten;
mod global_pool;
mod maxout;
mod pool;
mod prelu;

use crate::ast;
use crate::bind::{show, Args, Init, Signature};
use crate::report::Errors;
use crate::shape::{Hw, Mismatch, Pad, Shape};
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
    /// What the layer means to the default-init rule of the layers before it.
    pub role: Role,
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

    /// The input as an image, or the error that it is a vector.
    pub fn image(&mut self) -> Option<(u64, u64, u64)> {
        match self.input? {
            Shape::Image { c, h, w } => Some((c, h, w)),
            Shape::Vector(n) => {
                self.mismatch(Mismatch::NotImage { n });
                None
            }
        }
    }

    /// Reports a shape mismatch through the rule it breaks.
    pub fn mismatch(&mut self, mismatch: Mismatch) {
        match mismatch {
            Mismatch::NotVector { c, h, w } => self.needs_vector(Shape::Image { c, h, w }),
            Mismatch::NotImage { n } => self.needs_image(n),
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
        let message = format!(
            "`{}` expects a vector, found an image {found}; add `flatten` before it",
            self.sig.name
        );
        self.error(message);
    }

    /// Convolution and pooling slide a window over height and width: they need an image.
    fn needs_image(&mut self, n: u64) {
        let message = format!(
            "`{}` expects an image `[channels, height, width]`, found a vector [{n}]",
            self.sig.name
        );
        self.error(message);
    }

    /// The (effective, dilated) kernel or pooling window fits in the padded input, else there
    /// is not a single position to put it. The message gives every number the sizes came from.
    fn kernel_fits(&mut self, input: Hw, padding: Pad, effective: Hw) {
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

    /// `same` keeps the output the size of the input, which a stride above 1 makes
    /// impossible: the output is about input / stride whatever the padding.
    fn same_needs_stride_one(&mut self, stride: Hw) {
        let message = format!(
            "`same` padding needs stride 1, found {}; with a larger stride the output cannot keep the input size, so give the padding as a number, or use `same_upper` for TensorFlow's `SAME`",
            show(stride)
        );
        self.error_at("padding", message);
    }

    /// `same` pads (k̂ − 1)/2 on each side; with an even effective kernel k̂ that is not
    /// whole, and the two sides would need different padding.
    fn same_needs_odd_kernel(&mut self, effective: Hw) {
        let kernel = self.args.hw("kernel", effective).unwrap_or(effective);
        let dilation = self.args.hw("dilation", (1, 1)).unwrap_or((1, 1));
        let found = if dilation == (1, 1) {
            format!("kernel {}", show(kernel))
        } else {
            format!(
                "effective kernel {} (kernel {} with dilation {})",
                show(effective),
                show(kernel),
                show(dilation)
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
        let message = format!(
            "`{}` padding must be at most half the kernel: expected at most {}, found {padding}",
            self.sig.name,
            show((kernel.0 / 2, kernel.1 / 2)),
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

    /// Sizes fit in 64 bits (anything near that would not compile or run anyway).
    fn too_large(&mut self) {
        let message = format!(
            "the output of `{}` is too large: its size overflows 64 bits",
            self.sig.name
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
/// vector (per-feature layers such as batch norm treat each feature as a channel).
pub fn channels(shape: Shape) -> (u64, u64) {
    match shape {
        Shape::Image { c, h, w } => (c, mul(&[h, w])),
        Shape::Vector(n) => (n, 1),
    }
}
