//! The checked network as a tree: stacks of layers and blocks, every shape known, every layer
//! with its PyTorch path and resolved op. `check.rs` builds it; `plan.rs` lowers it to a
//! schedule.

use crate::bind::Init;
use crate::layers::Op;
use crate::shape::Shape;
use syn::{Attribute, Ident, Visibility};

/// A network ready to plan: every argument typed, every shape known.
pub struct Network {
    pub attrs: Vec<Attribute>,
    /// `#[int8]`: the network also gets an int8 twin.
    pub int8: bool,
    /// `#[weights = "…"]`: the file the network's `BAKED` constants are decoded from.
    pub weights: Option<syn::LitStr>,
    pub vis: Visibility,
    pub ident: Ident,
    pub input: Shape,
    pub stack: Stack,
}

/// Nodes run one after the other, each feeding the next. An empty stack is the identity.
#[derive(Default)]
pub struct Stack {
    pub nodes: Vec<Node>,
}

/// One element of a stack.
pub enum Node {
    Layer(Layer),
    /// A named scope: its layers' paths start with its name.
    Group(Stack),
    /// `body(x) + shortcut(x)`; an empty shortcut is the identity.
    Residual {
        path: String,
        body: Stack,
        shortcut: Stack,
        output: Shape,
    },
    /// The branches run on the same input; their outputs are concatenated along channels
    /// (images) or features (vectors). An empty branch is the identity.
    Concat {
        path: String,
        branches: Vec<Stack>,
        output: Shape,
    },
    /// `repeat(n)`, unrolled: copy k has its own parameters and takes copy k − 1's output.
    Repeat {
        copies: Vec<Stack>,
    },
}

/// One layer and what it does to the shape.
pub struct Layer {
    /// The PyTorch path: `"layer1.0.conv1"`.
    pub path: String,
    /// The struct field: the path with `_` for `.` (`layer1_0_conv1`), or the user's name.
    pub field: Ident,
    /// The kind's name in the DSL (`"conv2d"`), for docs.
    pub kind: &'static str,
    pub op: Op,
    /// The init of a layer with weights: the user's, or the default rule's (see `check.rs`).
    pub init: Init,
    pub input: Shape,
    pub output: Shape,
}
