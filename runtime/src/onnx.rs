//! ONNX export, the `no_std` half: what a network says to build its ONNX graph.
//!
//! `network!` generates [`Network::onnx`](crate::Network::onnx), which walks the plan: the
//! input, then each layer through its type's [`ToOnnx`], each residual's `Add` and each
//! concat's `Concat`, then the output. Layers describe themselves as ONNX nodes and
//! initializers into a [`Graph`], a sink the `std` facade implements with a protobuf writer
//! (`stacknet::onnx`). Nothing here allocates: names are parts the sink joins, and a tensor
//! whose ONNX layout differs from the runtime's (an LSTM's gate order) is given as slices in
//! ONNX's order.
//!
//! Values are NCHW with a leading batch dimension: `[N, n]` for a vector, `[N, steps,
//! features]` for a sequence, `[N, c, h, w]` for an image, `[N, steps]` int64 for token ids.

use crate::{Scalar, Shape};

/// A name in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Name<'a> {
    /// A value of the network's plan: 0 is the input.
    Value(usize),
    /// `{layer}.{name}`: a layer's parameter (`fc1.weight`, PyTorch's name), constant or
    /// intermediate value.
    Of(&'a str, &'a str),
    /// An optional input left out.
    Absent,
}

/// A node attribute.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Attr<'a> {
    /// `name = integer`.
    Int(&'a str, i64),
    /// `name = [integers]`.
    Ints(&'a str, &'a [i64]),
    /// `name = float`.
    Float(&'a str, f32),
    /// `name = "string"`.
    Str(&'a str, &'a str),
    /// `name = ["strings"]`.
    Strs(&'a str, &'a [&'a str]),
}

/// Where an ONNX graph is written.
pub trait Graph<T> {
    /// The graph input, value 0: `shape` per sample, int64 ids when `tokens`.
    fn input(&mut self, shape: Shape, tokens: bool);
    /// The graph output: `value`, of `shape` per sample.
    fn output(&mut self, value: usize, shape: Shape);
    /// An initializer of the network's values, `parts` concatenated in order.
    fn tensor(&mut self, name: Name<'_>, dims: &[usize], parts: &[&[T]]);
    /// A float constant.
    fn floats(&mut self, name: Name<'_>, dims: &[usize], values: &[f32]);
    /// An int64 constant (a shape for `Reshape`, indices).
    fn ints(&mut self, name: Name<'_>, dims: &[usize], values: &[i64]);
    /// A node of ONNX operator `op` (default domain); absent inputs are left empty.
    fn node(&mut self, op: &str, inputs: &[Name<'_>], outputs: &[Name<'_>], attrs: &[Attr<'_>]);
    /// `layer` (a `kind`) has no ONNX form yet: the export fails naming it.
    fn unsupported(&mut self, layer: &str, kind: &str);
}

/// One layer's place in the graph.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    /// Its PyTorch path: parameters are `{layer}.{name}`.
    pub layer: &'a str,
    /// The value it reads.
    pub input: Name<'a>,
    /// The value it writes.
    pub output: Name<'a>,
    /// The input's shape per sample, as the plan has it.
    pub input_shape: Shape,
    /// The output's shape per sample.
    pub output_shape: Shape,
}

impl<'a> Site<'a> {
    /// The layer's own name `{layer}.{name}`, for parameters, constants and intermediates.
    pub fn of(&self, name: &'a str) -> Name<'a> {
        Name::Of(self.layer, name)
    }
}

/// A layer type's ONNX form.
pub trait ToOnnx<T> {
    /// Writes the layer's nodes and initializers; the default reports it has none.
    fn onnx(&self, g: &mut dyn Graph<T>, site: &Site<'_>) {
        g.unsupported(site.layer, core::any::type_name::<Self>());
    }
}

/// `x → op(x)`, one node without attributes.
pub fn unary<T>(g: &mut dyn Graph<T>, op: &str, site: &Site<'_>, attrs: &[Attr<'_>]) {
    g.node(op, &[site.input], &[site.output], attrs);
}

/// `Reshape` of the input to the output's shape (with the batch dimension kept).
pub fn reshape<T>(g: &mut dyn Graph<T>, site: &Site<'_>) {
    let shape = site.of("shape");
    let dims = site.output_shape.dims();
    let mut target = [0i64; 5];
    target[0] = -1;
    for (t, &d) in target[1..].iter_mut().zip(dims) {
        *t = d as i64;
    }
    g.ints(shape, &[dims.len() + 1], &target[..dims.len() + 1]);
    g.node("Reshape", &[site.input, shape], &[site.output], &[]);
}

/// `y = x Wᵀ + b` (`Gemm` with `transB`), over `[N, in]`.
pub fn gemm<T: Scalar>(
    g: &mut dyn Graph<T>,
    site: &Site<'_>,
    weight: &[T],
    out: usize,
    inputs: usize,
    bias: Option<&[T]>,
) {
    let w = site.of("weight");
    g.tensor(w, &[out, inputs], &[weight]);
    let b = match bias {
        Some(bias) => {
            let b = site.of("bias");
            g.tensor(b, &[out], &[bias]);
            b
        }
        None => Name::Absent,
    };
    g.node(
        "Gemm",
        &[site.input, w, b],
        &[site.output],
        &[Attr::Int("transB", 1)],
    );
}

/// A convolution's weight `weight` (of `dims`) and optional bias of `out` channels as
/// initializers, and the `Conv` node from `x` to `y`.
#[allow(clippy::too_many_arguments)]
pub fn conv<T: Scalar>(
    g: &mut dyn Graph<T>,
    site: &Site<'_>,
    (x, y): (Name<'_>, Name<'_>),
    weight: &[T],
    dims: &[usize],
    bias: Option<&[T]>,
    attrs: &[Attr<'_>],
) {
    let w = site.of("weight");
    g.tensor(w, dims, &[weight]);
    let b = match bias {
        Some(bias) => {
            let b = site.of("bias");
            g.tensor(b, &dims[..1], &[bias]);
            b
        }
        None => Name::Absent,
    };
    g.node("Conv", &[x, w, b], &[y], attrs);
}

/// Runs `body` on a sequence `[N, steps, features]` as ONNX's 1-D operators want it,
/// `[N, features, steps]`: a `Transpose` on each side. `body` reads and writes the names it
/// is given.
pub fn over_channels<T>(
    g: &mut dyn Graph<T>,
    site: &Site<'_>,
    body: impl FnOnce(&mut dyn Graph<T>, Name<'_>, Name<'_>),
) {
    let (x, y) = (site.of("channels_first"), site.of("channels_first_out"));
    let perm = [Attr::Ints("perm", &[0, 2, 1])];
    g.node("Transpose", &[site.input], &[x], &perm);
    body(g, x, y);
    g.node("Transpose", &[y], &[site.output], &perm);
}

/// Whether a pool's output size `out` is ceil mode's (one more window than floor mode's)
/// for `len` positions, padding `pad` in all, window `k` and stride `s`.
pub const fn ceil_mode(len: usize, pad: usize, k: usize, s: usize, out: usize) -> bool {
    out > (len + pad - k) / s + 1
}
