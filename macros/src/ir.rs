//! The resolved network: each layer's kind, typed arguments, field name and shapes; and the
//! table of layer kinds (parameters in positional order, their types and defaults) that
//! `check.rs` resolves the syntax tree against.
//!
//! The IR is a tree: a [`Stack`] holds [`Node`]s, and the planned blocks (`residual { .. }`,
//! `concat { .. }`, `repeat(n) { .. }`) will be `Node` variants holding stacks of their own.
//! Walks over it therefore go through `Node` even while it has one variant.

use crate::shape::{Conv2d, Pool2d, Shape};
use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

/// A network ready to expand: every argument typed, every shape known.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub input: Shape,
    pub stack: Stack,
}

/// Nodes run one after the other, each feeding the next.
pub struct Stack {
    pub nodes: Vec<Node>,
}

/// One element of a stack.
pub enum Node {
    Layer(Layer),
}

/// One layer and what it does to the shape.
pub struct Layer {
    /// The struct field: the user's `name:` or `{kind}_{index}`.
    pub field: Ident,
    pub op: Op,
    pub input: Shape,
    pub output: Shape,
    /// The layer's kind identifier, for errors raised while expanding.
    pub span: Span,
}

/// A layer kind with its arguments resolved (defaults filled in, `same` turned into numbers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `init: None` means the default for the following activation (see [`Stack::init_for`]).
    Dense {
        units: u64,
        bias: bool,
        init: Option<Init>,
    },
    Conv2d {
        conv: Conv2d,
        bias: bool,
        init: Option<Init>,
    },
    MaxPool2d(Pool2d),
    AvgPool2d(Pool2d),
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    Flatten,
    Relu,
    Sigmoid,
    Tanh,
    LeakyRelu {
        slope: f64,
    },
    Softmax,
    Dropout {
        p: f64,
    },
    BatchNorm {
        momentum: f64,
        eps: f64,
    },
}

/// The DSL's initialisation schemes, mirroring the runtime's `init::Init`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Zeros,
    Constant(f64),
    Normal(f64),
    Uniform(f64),
    XavierUniform,
    XavierNormal,
    HeUniform,
    HeNormal,
}

/// The layer kinds of the DSL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dense,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    Flatten,
    Relu,
    Sigmoid,
    Tanh,
    LeakyRelu,
    Softmax,
    Dropout,
    BatchNorm,
}

/// What a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A positive integer: `16`.
    Size,
    /// A positive integer or a pair of them, for height and width: `3`, `(3, 5)`.
    Size2,
    /// `conv2d` padding: a non-negative integer, a pair, or `same`.
    Padding,
    /// Pooling padding: a non-negative integer or a pair.
    PoolPadding,
    Bool,
    /// Any finite number: `0.5`, `1e-5`, `2`.
    Number,
    Init,
}

impl Type {
    /// The "expected …" half of an ill-typed-argument message.
    pub fn expected(self) -> &'static str {
        match self {
            Type::Size => "a positive integer",
            Type::Size2 => "an integer or a pair `(h, w)`",
            Type::Padding => "an integer, a pair `(h, w)` or `same`",
            Type::PoolPadding => "an integer or a pair `(h, w)`",
            Type::Bool => "`true` or `false`",
            Type::Number => "a number",
            Type::Init => "an init such as `he_uniform` or `normal(0.1)`",
        }
    }
}

/// One parameter of a layer kind.
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    /// `None` when the argument is required; otherwise the default as shown in signatures.
    pub default: Option<&'static str>,
}

/// One row of the layer table.
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    /// In positional order.
    pub params: &'static [Param],
    /// A short correct use, for hints.
    pub example: &'static str,
}

const fn req(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        default: None,
    }
}

const fn opt(name: &'static str, ty: Type, default: &'static str) -> Param {
    Param {
        name,
        ty,
        default: Some(default),
    }
}

const POOL: &[Param] = &[
    req("kernel", Type::Size2),
    opt("stride", Type::Size2, "kernel"),
    opt("padding", Type::PoolPadding, "0"),
];

/// Every layer kind, its parameters in positional order, and their defaults (PyTorch's).
pub const KINDS: &[Spec] = &[
    Spec {
        name: "dense",
        kind: Kind::Dense,
        params: &[
            req("units", Type::Size),
            opt("bias", Type::Bool, "true"),
            opt("init", Type::Init, "he_uniform or xavier_uniform"),
        ],
        example: "dense(10)",
    },
    Spec {
        name: "conv2d",
        kind: Kind::Conv2d,
        params: &[
            req("out_channels", Type::Size),
            req("kernel", Type::Size2),
            opt("stride", Type::Size2, "1"),
            opt("padding", Type::Padding, "0"),
            opt("dilation", Type::Size2, "1"),
            opt("bias", Type::Bool, "true"),
            opt("init", Type::Init, "he_uniform or xavier_uniform"),
        ],
        example: "conv2d(16, kernel = 3)",
    },
    Spec {
        name: "max_pool2d",
        kind: Kind::MaxPool2d,
        params: POOL,
        example: "max_pool2d(2)",
    },
    Spec {
        name: "avg_pool2d",
        kind: Kind::AvgPool2d,
        params: POOL,
        example: "avg_pool2d(2)",
    },
    Spec {
        name: "global_avg_pool2d",
        kind: Kind::GlobalAvgPool2d,
        params: &[],
        example: "global_avg_pool2d",
    },
    Spec {
        name: "global_max_pool2d",
        kind: Kind::GlobalMaxPool2d,
        params: &[],
        example: "global_max_pool2d",
    },
    Spec {
        name: "flatten",
        kind: Kind::Flatten,
        params: &[],
        example: "flatten",
    },
    Spec {
        name: "relu",
        kind: Kind::Relu,
        params: &[],
        example: "relu",
    },
    Spec {
        name: "sigmoid",
        kind: Kind::Sigmoid,
        params: &[],
        example: "sigmoid",
    },
    Spec {
        name: "tanh",
        kind: Kind::Tanh,
        params: &[],
        example: "tanh",
    },
    Spec {
        name: "leaky_relu",
        kind: Kind::LeakyRelu,
        params: &[opt("slope", Type::Number, "0.01")],
        example: "leaky_relu(slope = 0.1)",
    },
    Spec {
        name: "softmax",
        kind: Kind::Softmax,
        params: &[],
        example: "softmax",
    },
    Spec {
        name: "dropout",
        kind: Kind::Dropout,
        params: &[req("p", Type::Number)],
        example: "dropout(0.5)",
    },
    Spec {
        name: "batch_norm",
        kind: Kind::BatchNorm,
        params: &[
            opt("momentum", Type::Number, "0.1"),
            opt("eps", Type::Number, "1e-5"),
        ],
        example: "batch_norm(momentum = 0.1)",
    },
];

/// Block kinds that are designed but not built yet; `check.rs` names them in its error.
pub const PLANNED_BLOCKS: &[&str] = &["residual", "concat", "repeat"];

/// An init scheme's name and, when it takes one, the name of its argument.
pub const INITS: &[(&str, Option<&str>)] = &[
    ("zeros", None),
    ("constant", Some("c")),
    ("normal", Some("std")),
    ("uniform", Some("a")),
    ("xavier_uniform", None),
    ("xavier_normal", None),
    ("he_uniform", None),
    ("he_normal", None),
];

/// The row of the layer table for `name`.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    KINDS.iter().find(|spec| spec.name == name)
}

impl Init {
    /// The scheme called `name`, given its argument when it takes one.
    pub fn from_name(name: &str, arg: f64) -> Option<Init> {
        Some(match name {
            "zeros" => Init::Zeros,
            "constant" => Init::Constant(arg),
            "normal" => Init::Normal(arg),
            "uniform" => Init::Uniform(arg),
            "xavier_uniform" => Init::XavierUniform,
            "xavier_normal" => Init::XavierNormal,
            "he_uniform" => Init::HeUniform,
            "he_normal" => Init::HeNormal,
            _ => return None,
        })
    }
}

impl Op {
    pub fn kind(&self) -> Kind {
        match self {
            Op::Dense { .. } => Kind::Dense,
            Op::Conv2d { .. } => Kind::Conv2d,
            Op::MaxPool2d(_) => Kind::MaxPool2d,
            Op::AvgPool2d(_) => Kind::AvgPool2d,
            Op::GlobalAvgPool2d => Kind::GlobalAvgPool2d,
            Op::GlobalMaxPool2d => Kind::GlobalMaxPool2d,
            Op::Flatten => Kind::Flatten,
            Op::Relu => Kind::Relu,
            Op::Sigmoid => Kind::Sigmoid,
            Op::Tanh => Kind::Tanh,
            Op::LeakyRelu { .. } => Kind::LeakyRelu,
            Op::Softmax => Kind::Softmax,
            Op::Dropout { .. } => Kind::Dropout,
            Op::BatchNorm { .. } => Kind::BatchNorm,
        }
    }

    /// Whether the layer has trainable tensors (and so a gradient and a `Params` share).
    pub fn has_params(&self) -> bool {
        matches!(
            self,
            Op::Dense { .. } | Op::Conv2d { .. } | Op::BatchNorm { .. }
        )
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|spec| spec.kind == self)
            .map_or("layer", |spec| spec.name)
    }

    /// Layers the default-init rule looks through to find the next activation: they neither
    /// mix features nor change the activation's statistics in a way the init should follow.
    fn transparent_for_init(self) -> bool {
        matches!(
            self,
            Kind::Dropout
                | Kind::BatchNorm
                | Kind::MaxPool2d
                | Kind::AvgPool2d
                | Kind::GlobalAvgPool2d
                | Kind::GlobalMaxPool2d
                | Kind::Flatten
        )
    }
}

impl Stack {
    /// The layers in order (blocks, once they exist, will be walked here).
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.nodes.iter().map(|node| match node {
            Node::Layer(layer) => layer,
        })
    }

    /// The default init of the layer at `index`: He uniform when the next activation (looking
    /// through dropout, batch norm, pooling and flatten) is `relu` or `leaky_relu`, whose
    /// halved variance He's factor 2 makes up for; Xavier uniform otherwise.
    pub fn init_for(&self, index: usize) -> Init {
        let next = self
            .layers()
            .skip(index + 1)
            .map(|l| l.op.kind())
            .find(|k| !k.transparent_for_init());
        match next {
            Some(Kind::Relu | Kind::LeakyRelu) => Init::HeUniform,
            _ => Init::XavierUniform,
        }
    }
}
