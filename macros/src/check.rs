//! Semantic checks: resolves the syntax tree into the IR tree and reports every mistake at once.
//!
//! The walk goes through the stacks in order, scope by scope; each layer is resolved by its
//! kind's module (`layers/`), each block (`residual`, `concat`, `repeat`) by a function here.
//! Each rule is one small function with the rule in prose above it. Rules report to an
//! [`Errors`] accumulator, on the smallest offending token, and never stop the walk. After a
//! layer with an error, shape inference goes on when the layer's output shape is still known
//! (an activation keeps its input's shape, `dense(10)` outputs `[10]` whatever came in) and
//! stops for the rest of the stack otherwise, so one mistake gives one error, not a cascade.
//!
//! Messages share one style: lowercase, no trailing period, code in backticks, the expected
//! before the found, a hint after `;`.

use crate::ast;
use crate::bind::{self, integer, opt, req, Init, Signature, Type};
use crate::ir::{self, Node, Stack};
use crate::layers::{self, Lower, New, Role};
use crate::report::Errors;
use crate::shape::{self, Shape};
use crate::suggest::{alias, code_list, did_you_mean, suggestion};
use proc_macro2::TokenStream;
use quote::format_ident;
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::{Error, Ident};

/// Why a network could not be resolved, with what the fallback stub needs to type-check.
pub struct Failure {
    pub errors: Errors,
    /// The input shape, when it is well formed.
    pub input: Option<Shape>,
    /// The output shape, or when inference could not reach the last layer, the last one known
    /// in the top-level stack.
    pub output: Option<Shape>,
}

/// Resolves and checks the whole network; `rt` is the runtime's path, which resolved ops name.
pub fn network(rt: &TokenStream, net: &ast::Network) -> Result<ir::Network, Failure> {
    let mut walk = Walk {
        cx: Errors::default(),
        rt,
        fields: HashMap::new(),
        totals: Totals::default(),
        layers: 0,
        int8: false,
        last_known: None,
    };
    walk.int8 = int8_attribute(&mut walk.cx, net);
    let weights = crate::weights::attribute(&mut walk.cx, &net.weights);
    let input = input_shape(&mut walk.cx, net);
    non_empty(&mut walk.cx, net);
    reserved_name(&mut walk.cx, net);
    walk.last_known = input.or_else(|| stub_input(net));
    let (stack, output) = walk.stack(&[], &net.items, input, Names::Layers);
    let walk_int8 = walk.int8;
    let last_known = walk.last_known;
    let mut cx = walk.cx;
    match (input, stack) {
        (Some(input), Some(mut stack)) if cx.is_empty() && !stack.nodes.is_empty() => {
            default_inits(&mut stack, false);
            Ok(ir::Network {
                attrs: net.attrs.clone(),
                int8: walk_int8,
                weights,
                vis: net.vis.clone(),
                ident: net.ident.clone(),
                input,
                stack,
            })
        }
        _ => {
            if cx.is_empty() {
                // Every path that drops a layer reports why; this only guards that promise,
                // since a silent stub would compile.
                cx.error(
                    net.ident.span(),
                    "internal error: the network could not be resolved; please report it",
                );
            }
            Err(Failure {
                errors: cx,
                input: input.or_else(|| stub_input(net)),
                // Token ids are never an output: a lone broken `embedding` falls back to `[1]`.
                output: output
                    .or(last_known)
                    .filter(|shape| !matches!(shape, Shape::Tokens { .. })),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The network as a whole

/// The input is `[features]`, `[steps, features]` or `[channels, height, width]` (the layouts
/// the layers know), or `tokens: [steps]`.
fn input_rank(cx: &mut Errors, net: &ast::Network) -> bool {
    let rank = net.dims.len();
    let ok = if net.tokens {
        rank == 1
    } else {
        (1..=3).contains(&rank)
    };
    if !ok {
        let expected = if net.tokens {
            "`tokens: [steps]` (one id per step)"
        } else {
            "`[features]`, `[steps, features]` or `[channels, height, width]`"
        };
        cx.error(
            net.bracket.span.join(),
            format!(
                "expected {expected} as the input shape, found {rank} dimension{}",
                if rank == 1 { "" } else { "s" }
            ),
        );
    }
    ok
}

/// The stub's input after an invalid input shape: the product of the dimensions when they
/// are positive integers (a rank-4 `[1, 1, 28, 28]` still means 784 values), so code feeding
/// the network the vector it meant gets no type mismatch on top of the shape's error.
fn stub_input(net: &ast::Network) -> Option<Shape> {
    let dims: Option<Vec<u64>> = net.dims.iter().map(integer).collect();
    let n = dims?
        .into_iter()
        .try_fold(1u64, |acc, d| (d > 0).then(|| acc.checked_mul(d)).flatten())?;
    Some(Shape::Vector(n))
}

/// Every input dimension is a positive integer.
fn input_dim(cx: &mut Errors, dim: &ast::Value) -> Option<u64> {
    match integer(dim) {
        None => {
            cx.error_spanned(
                dim,
                format!("expected a positive integer for the input dimension, found `{dim}`"),
            );
            None
        }
        Some(0) => {
            cx.error_spanned(dim, "input dimensions must be at least 1, found 0");
            None
        }
        Some(n) => Some(n),
    }
}

fn input_shape(cx: &mut Errors, net: &ast::Network) -> Option<Shape> {
    let dims: Vec<Option<u64>> = net.dims.iter().map(|dim| input_dim(cx, dim)).collect();
    if !input_rank(cx, net) {
        return None;
    }
    let shape = match dims[..] {
        [Some(steps)] if net.tokens => Shape::Tokens { steps },
        [Some(n)] => Shape::Vector(n),
        [Some(steps), Some(features)] => Shape::Sequence { steps, features },
        [Some(c), Some(h), Some(w)] => Shape::Image { c, h, w },
        _ => return None,
    };
    if shape.len().is_none() {
        cx.error(
            net.bracket.span.join(),
            format!("input shape is too large: {}", shape::MAX_VALUES_NOTE),
        );
        return None;
    }
    Some(shape)
}

/// The generated types are generic over their scalar `T`: a network called `T` would be
/// shadowed by its own parameter.
fn reserved_name(cx: &mut Errors, net: &ast::Network) {
    if net.ident == "T" {
        cx.error(
            net.ident.span(),
            "a network cannot be called `T`: the generated types are generic over their scalar `T`; choose another name",
        );
    }
}

/// A network has at least one layer: with none there is nothing to compute or train.
fn non_empty(cx: &mut Errors, net: &ast::Network) {
    if net.items.is_empty() {
        cx.error(
            net.brace.span.join(),
            "empty network: expected at least one layer",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Stacks and names

/// The walk's state: the errors, and every struct field given so far with its path.
struct Walk<'r> {
    cx: Errors,
    rt: &'r TokenStream,
    fields: HashMap<String, String>,
    /// The parameters and the layer outputs so far (saturating), bounded as one tensor is:
    /// the network's struct holds the first, its training record the second.
    totals: Totals,
    /// The items checked so far, repeats unrolled: at most [`MAX_LAYERS`].
    layers: usize,
    /// `#[int8]`: every layer must have an int8 form.
    int8: bool,
    /// The last output shape known in the top-level stack: the stub's output when inference
    /// could not reach the end (after `dense(10), sofmax` it is `[10]`, as most layer kinds
    /// keep their input's shape), so code using the output gets no type mismatch of its own.
    last_known: Option<Shape>,
}

/// The most layers a network may have, `repeat` blocks unrolled. The generated code grows
/// linearly with the layers and compiles in minutes at this size; the bound also stops a
/// `repeat(1000000000)` from unrolling until the macro runs out of memory.
pub const MAX_LAYERS: usize = 10_000;

#[derive(Default)]
struct Totals {
    params: u64,
    values: u64,
}

/// How unnamed items of a stack are called: `{kind}_{index}` for layers; for groups,
/// `group_{index}` in a stack and just `{index}` among a `concat`'s branches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    Layers,
    Branches,
}

/// The name of an item in its scope: the user's, or the generated one.
fn item_name(item: &ast::Item, index: usize, names: Names) -> String {
    if let Some(name) = item.name() {
        return name.unraw().to_string();
    }
    match (item, names) {
        (ast::Item::Layer(layer), _) => format!("{}_{index}", layer.kind.unraw()),
        (ast::Item::Group(_), Names::Layers) => format!("group_{index}"),
        (ast::Item::Group(_), Names::Branches) => index.to_string(),
        (ast::Item::Invalid(_), _) => format!("invalid_{index}"),
    }
}

/// What an item is called in messages about names: `dense` or `{ ... }`.
fn item_kind(item: &ast::Item) -> String {
    match item {
        ast::Item::Layer(layer) => layer.kind.unraw().to_string(),
        ast::Item::Group(_) => "{ ... }".to_string(),
        ast::Item::Invalid(_) => "item".to_string(),
    }
}

/// The names seen so far in a scope, with their item and index.
type Seen<'a> = Vec<(String, &'a ast::Item, usize)>;

/// Names are unique within a scope, since each becomes part of a field and a PyTorch path.
/// Unnamed items are called `{kind}_{index}`, and a given name may collide with one of those
/// too; the error goes on a name the user wrote.
fn unique_name<'a>(
    cx: &mut Errors,
    seen: &mut Seen<'a>,
    index: usize,
    item: &'a ast::Item,
    names: Names,
) {
    if matches!(item, ast::Item::Invalid(_)) {
        return;
    }
    let name = item_name(item, index, names);
    if let Some((_, first, first_index)) = seen.iter().find(|(seen, ..)| *seen == name) {
        match (item.name(), first.name()) {
            (Some(ident), Some(_)) => cx.error(
                ident.span(),
                format!("duplicate layer name `{name}`; each layer becomes a field, so names must be unique"),
            ),
            (Some(ident), None) => cx.error(
                ident.span(),
                format!(
                    "duplicate layer name `{name}`; the unnamed `{}` at index {first_index} is already called `{name}`",
                    item_kind(first)
                ),
            ),
            (None, Some(first_ident)) => cx.error(
                first_ident.span(),
                format!(
                    "duplicate layer name `{name}`; the unnamed `{}` at index {index} is also called `{name}`",
                    item_kind(item)
                ),
            ),
            (None, None) => cx.error(item.span(), format!("duplicate layer name `{name}`")),
        }
    }
    seen.push((name, item, index));
}

/// `a.b.c` from the scope and a name.
fn path(scope: &[String], name: &str) -> Vec<String> {
    let mut path = scope.to_vec();
    path.push(name.to_string());
    path
}

impl<'r> Walk<'r> {
    /// Resolves a stack; returns it (when every item and shape in it is known) and its output
    /// shape (when known, even after errors).
    fn stack(
        &mut self,
        scope: &[String],
        items: &ast::Items,
        input: Option<Shape>,
        names: Names,
    ) -> (Option<Stack>, Option<Shape>) {
        let mut nodes = Some(Vec::with_capacity(items.list.len()));
        let mut shape = input;
        let mut seen = Seen::new();
        for (index, item) in items.list.iter().enumerate() {
            self.missing_commas(items, index);
            unique_name(&mut self.cx, &mut seen, index, item, names);
            let name = item_name(item, index, names);
            let (node, output) = self.item(&path(scope, &name), item, shape);
            match (node, nodes.as_mut()) {
                (Some(node), Some(nodes)) => nodes.push(node),
                _ => nodes = None,
            }
            if scope.is_empty() && output.is_some() {
                self.last_known = output;
            }
            shape = output;
        }
        (nodes.map(|nodes| Stack { nodes }), shape)
    }

    /// The syntax errors of a missing comma before item `index`, in source order with the
    /// rest. The items on both sides are checked as if the comma were there.
    fn missing_commas(&mut self, items: &ast::Items, index: usize) {
        for (_, error) in items.missing_commas.iter().filter(|(i, _)| *i == index) {
            self.cx.push(error.clone());
        }
    }

    /// Resolves one item at `path`.
    fn item(
        &mut self,
        path: &[String],
        item: &ast::Item,
        input: Option<Shape>,
    ) -> (Option<Node>, Option<Shape>) {
        if !self.count(item) {
            return (None, None);
        }
        match item {
            ast::Item::Group(group) => {
                let (stack, output) = self.stack(path, &group.items, input, Names::Layers);
                (stack.map(Node::Group), output)
            }
            // What comes after it is still checked, from an unknown input shape.
            ast::Item::Invalid(error) => {
                self.cx.push(error.clone());
                (None, None)
            }
            ast::Item::Layer(layer)
                if self.int8
                    && matches!(
                        layer.kind.unraw().to_string().as_str(),
                        "residual" | "concat"
                    ) =>
            {
                let message = format!(
                    "`{}` has no int8 form yet, and `#[int8]` asks for one: {INT8_FORMS}",
                    layer.kind.unraw()
                );
                self.cx.error(layer.kind.span(), message);
                (None, None)
            }
            ast::Item::Layer(layer) => match layer.kind.unraw().to_string().as_str() {
                "residual" => self.residual(path, layer, input),
                "concat" => self.concat(path, layer, input),
                "repeat" => self.repeat(path, layer, input),
                _ => self.layer(path, layer, input),
            },
        }
    }

    /// Counts an item against [`MAX_LAYERS`]: false past it, with one error on the first item
    /// too many. Groups and blocks count too, so that nested `repeat`s of empty groups cannot
    /// unroll forever either.
    fn count(&mut self, item: &ast::Item) -> bool {
        self.layers += 1;
        if self.layers == MAX_LAYERS + 1 {
            self.cx.error(
                item.span(),
                format!(
                    "too many layers: a network has at most {MAX_LAYERS} layers, blocks and groups (repeats unrolled), and this `{}` is number {}",
                    item_kind(item),
                    self.layers
                ),
            );
        }
        self.layers <= MAX_LAYERS
    }

    /// Resolves one layer through its kind's module.
    fn layer(
        &mut self,
        path: &[String],
        layer: &ast::Layer,
        input: Option<Shape>,
    ) -> (Option<Node>, Option<Shape>) {
        if let Some(body) = &layer.body {
            unexpected_body(&mut self.cx, layer, body);
            return (None, None);
        }
        let Some(kind) = known_layer(&mut self.cx, &layer.kind) else {
            return (None, None);
        };
        let args = bind::bind(&mut self.cx, &kind.sig, layer);
        let lowered = (kind.lower)(&mut Lower {
            cx: &mut self.cx,
            rt: self.rt,
            sig: &kind.sig,
            layer,
            args: &args,
            input,
        });
        let field = self.field(path, layer);
        let int8 = match &lowered.op {
            Some(op) if self.int8 && op.int8 == layers::Int8::None => {
                let message = format!(
                    "`{}` has no int8 form, and `#[int8]` asks for one: {INT8_FORMS}",
                    kind.sig.name
                );
                self.cx.error(layer.kind.span(), message);
                false
            }
            _ => true,
        };
        let sized = int8
            && lowered
                .op
                .as_ref()
                .is_some_and(|op| self.sizes(path, layer, op.params(), lowered.output));
        let node = match (lowered.op.filter(|_| sized), input, lowered.output, field) {
            (Some(op), Some(input), Some(output), Some(field)) => {
                let init = match &op.new {
                    New::Init {
                        explicit: Some(init),
                        ..
                    } => *init,
                    _ => Init::XavierUniform,
                };
                Some(Node::Layer(ir::Layer {
                    path: path.join("."),
                    field,
                    kind: kind.sig.name,
                    op,
                    init,
                    input,
                    output,
                }))
            }
            _ => None,
        };
        (node, lowered.output)
    }

    /// The layer's output and parameters, and the network's parameters and recorded values up
    /// to it, are at most [`shape::MAX_VALUES`]; each total is reported once, on the layer that
    /// passes it. (A kind's shape function bounds what it computes; this also catches sizes
    /// taken straight from an argument, such as `dense`'s units.)
    fn sizes(
        &mut self,
        path: &[String],
        layer: &ast::Layer,
        params: u64,
        output: Option<Shape>,
    ) -> bool {
        let (span, kind, note) = (
            layer.kind.span(),
            layer.kind.unraw(),
            shape::MAX_VALUES_NOTE,
        );
        if output.is_some_and(|output| output.len().is_none()) {
            let message = format!("the output of `{kind}` is too large: {note}");
            self.cx.error(span, message);
            return false;
        }
        if shape::bounded(params).is_none() {
            let message = format!("the parameters of `{kind}` are too many: {note}");
            self.cx.error(span, message);
            return false;
        }
        let before = (self.totals.params, self.totals.values);
        self.totals.params = before.0.saturating_add(params);
        let values = output.and_then(Shape::len).unwrap_or(0);
        self.totals.values = before.1.saturating_add(values);
        let dotted = path.join(".");
        let mut fits = true;
        for (what, was, now) in [
            ("parameters", before.0, self.totals.params),
            ("values kept for training", before.1, self.totals.values),
        ] {
            if now > shape::MAX_VALUES {
                fits = false;
                if was <= shape::MAX_VALUES {
                    let message =
                        format!("the network's {what} up to `{dotted}` are too many: {note}");
                    self.cx.error(span, message);
                }
            }
        }
        fits
    }

    /// A layer's struct field: the path joined with `_` (a top-level layer keeps the
    /// identifier as written, raw or not). Two paths must not give one field.
    fn field(&mut self, path: &[String], layer: &ast::Layer) -> Option<Ident> {
        let span = layer.name.as_ref().map_or(layer.kind.span(), Ident::span);
        let joined = path.join("_");
        let dotted = path.join(".");
        // The generated struct has fields of its own, all `__`-prefixed (`__scalar`).
        if joined.starts_with("__") {
            let message = format!(
                "layer names starting with `__` are reserved for the fields `network!` generates; rename `{dotted}`"
            );
            self.cx.error(span, message);
            return None;
        }
        if let Some(first) = self.fields.get(&joined) {
            if *first != dotted {
                let message = format!(
                    "layers `{first}` and `{dotted}` would both be the field `{joined}`; rename one of them"
                );
                self.cx.error(span, message);
                return None;
            }
        }
        self.fields.insert(joined.clone(), dotted);
        Some(match (&layer.name, path.len()) {
            (Some(name), 1) => name.clone(),
            // A name rustc rejected (`fc🦀`) joins to no identifier: any distinct field
            // will do, rustc's error being the one that matters.
            _ if !crate::names::is_ident(&joined) => {
                format_ident!("__field{}", self.fields.len(), span = span)
            }
            _ => format_ident!("{}", joined, span = span),
        })
    }
}

/// What `#[int8]` networks can hold, for the messages that refuse a layer.
const INT8_FORMS: &str = "an int8 twin is a chain of `dense`, `conv2d`, `max_pool2d`, `relu`, `relu6`, `flatten`, `reshape` and `dropout` layers, in groups and `repeat`s or not";

/// `#[int8]`, without arguments, at most once: whether the network gets its int8 twin.
fn int8_attribute(cx: &mut Errors, net: &ast::Network) -> bool {
    for (i, attr) in net.int8.iter().enumerate() {
        if i > 0 {
            cx.error_spanned(attr, "`#[int8]` is given twice; once is enough");
        } else if !matches!(attr.meta, syn::Meta::Path(_)) {
            cx.error_spanned(
                &attr.meta,
                "`#[int8]` takes no arguments: write `#[int8]` above the network",
            );
        }
    }
    !net.int8.is_empty()
}

/// Only blocks take a `{ ... }` body.
fn unexpected_body(cx: &mut Errors, layer: &ast::Layer, body: &ast::Group) {
    cx.error(
        body.brace.span.join(),
        format!(
            "unexpected `{{ ... }}` after `{}`; only `residual`, `concat` and `repeat` take a body",
            layer.kind
        ),
    );
}

/// Names PyTorch or Keras users reach for, mapped to this DSL's.
pub const LAYER_ALIASES: &[(&str, &str)] = &[
    ("linear", "dense"),
    ("fc", "dense"),
    ("batchnorm2d", "batch_norm"),
    ("sequential", "a group `{ ... }`"),
    ("add", "residual"),
    ("cat", "concat"),
];

/// The blocks, which `known_layer` lists beside the layer kinds.
const BLOCKS: &[&str] = &["residual", "concat", "repeat"];

/// A layer's kind is one of the table's; a near miss gets a did-you-mean, anything else the list.
fn known_layer(cx: &mut Errors, kind: &Ident) -> Option<&'static layers::Kind> {
    let name = kind.unraw().to_string();
    if let Some(kind) = layers::lookup(&name) {
        return Some(kind);
    }
    let names = layers::KINDS
        .iter()
        .map(|kind| kind.sig.name)
        .chain(BLOCKS.iter().copied());
    let near = match alias(&name, LAYER_ALIASES) {
        Some(alias) => vec![alias],
        None => did_you_mean(&name, names.clone()),
    };
    let hint = suggestion(&near).unwrap_or_else(|| format!("the layers are {}", code_list(names)));
    cx.error(kind.span(), format!("unknown layer `{name}`; {hint}"));
    None
}

// ---------------------------------------------------------------------------------------------
// Blocks

const RESIDUAL: Signature = Signature {
    name: "residual",
    params: &[opt("shortcut", Type::Group, "the identity")],
    example: "residual { conv2d(16, kernel = 3, padding = 1), relu }",
};

const CONCAT: Signature = Signature {
    name: "concat",
    params: &[],
    example: "concat { conv2d(16, kernel = 1), { conv2d(16, kernel = 3, padding = 1) } }",
};

const REPEAT: Signature = Signature {
    name: "repeat",
    params: &[req("n", Type::Size)],
    example: "repeat(2) { conv2d(16, kernel = 3, padding = 1), relu }",
};

impl Walk<'_> {
    /// `residual(shortcut = { .. }) { body }`: body(x) + shortcut(x), the shortcut the
    /// identity when not given. Its layers are in the block's scope, the shortcut's in
    /// `{block}.shortcut`.
    fn residual(
        &mut self,
        path: &[String],
        layer: &ast::Layer,
        input: Option<Shape>,
    ) -> (Option<Node>, Option<Shape>) {
        let args = bind::bind(&mut self.cx, &RESIDUAL, layer);
        let Some(body) = block_body(&mut self.cx, &RESIDUAL, layer) else {
            return (None, None);
        };
        let (body_stack, body_out) = self.stack(path, &body.items, input, Names::Layers);
        let (shortcut_stack, shortcut_out) = match args.group("shortcut") {
            Some(group) => {
                let scope = self::path(path, "shortcut");
                self.stack(&scope, &group.items, input, Names::Layers)
            }
            None if args.given("shortcut") => (None, None),
            None => (Some(Stack::default()), input),
        };
        let output = match (body_out, shortcut_out) {
            (Some(b), Some(s)) if b == s => Some(b),
            (Some(b), Some(s)) => {
                residual_shapes_agree(&mut self.cx, layer, &args, b, s);
                return (None, Some(b));
            }
            (b, s) => return (None, b.or(s)),
        };
        let node = match (body_stack, shortcut_stack, output) {
            (Some(body), Some(shortcut), Some(output)) => Some(Node::Residual {
                path: path.join("."),
                body,
                shortcut,
                output,
            }),
            _ => None,
        };
        (node, output)
    }

    /// `concat { branch, .. }`: every branch (a layer, a group, or `{}` for the identity) runs
    /// on the input, and the outputs are joined along channels or features.
    fn concat(
        &mut self,
        path: &[String],
        layer: &ast::Layer,
        input: Option<Shape>,
    ) -> (Option<Node>, Option<Shape>) {
        bind::bind(&mut self.cx, &CONCAT, layer);
        let Some(body) = block_body(&mut self.cx, &CONCAT, layer) else {
            return (None, None);
        };
        let mut seen = Seen::new();
        let mut branches = Some(Vec::new());
        let mut outputs = Vec::new();
        for (index, item) in body.items.list.iter().enumerate() {
            self.missing_commas(&body.items, index);
            unique_name(&mut self.cx, &mut seen, index, item, Names::Branches);
            let name = item_name(item, index, Names::Branches);
            let (node, output) = self.item(&self::path(path, &name), item, input);
            match (node, branches.as_mut()) {
                (Some(node), Some(branches)) => branches.push(Stack { nodes: vec![node] }),
                _ => branches = None,
            }
            outputs.push((item, output));
        }
        let known: Option<Vec<(&ast::Item, Shape)>> = outputs
            .iter()
            .map(|(item, shape)| shape.map(|s| (*item, s)))
            .collect();
        let output = known.and_then(|known| concat_shapes_agree(&mut self.cx, &known));
        let node = match (branches, output) {
            (Some(branches), Some(output)) => Some(Node::Concat {
                path: path.join("."),
                branches,
                output,
            }),
            _ => None,
        };
        (node, output)
    }

    /// `repeat(n) { body }`: n copies, unrolled, copy k in scope `{block}.k` taking copy
    /// k − 1's output. A copy whose input shape differs from the first copy's is checked again,
    /// and its errors say which copy they are in.
    fn repeat(
        &mut self,
        path: &[String],
        layer: &ast::Layer,
        input: Option<Shape>,
    ) -> (Option<Node>, Option<Shape>) {
        let args = bind::bind(&mut self.cx, &REPEAT, layer);
        let body = block_body(&mut self.cx, &REPEAT, layer);
        let (Some(body), Some(n)) = (body, args.size("n")) else {
            return (None, None);
        };
        let mut copies = Some(Vec::new());
        let mut shape = input;
        for k in 0..n {
            let scope = self::path(path, &k.to_string());
            let outer = std::mem::take(&mut self.cx);
            let (stack, output) = self.stack(&scope, &body.items, shape, Names::Layers);
            let errors = std::mem::replace(&mut self.cx, outer);
            if !errors.is_empty() {
                for error in errors.into_vec() {
                    let message = if k == 0 {
                        error.to_string()
                    } else {
                        format!(
                            "in copy {k} of `repeat({n})`, whose input is {}: {error}",
                            shape.map_or("unknown".to_string(), |s| s.to_string())
                        )
                    };
                    self.cx.push(Error::new(error.span(), message));
                }
                return (None, None);
            }
            match (stack, copies.as_mut()) {
                (Some(stack), Some(copies)) => copies.push(stack),
                _ => copies = None,
            }
            shape = output;
        }
        (copies.map(|copies| Node::Repeat { copies }), shape)
    }
}

/// Blocks have a body, and it is not empty: an empty `residual` would add the input to
/// itself, an empty `repeat` repeat nothing, and an empty `concat` join nothing.
fn block_body<'a>(
    cx: &mut Errors,
    sig: &Signature,
    layer: &'a ast::Layer,
) -> Option<&'a ast::Group> {
    let what = if sig.name == "concat" {
        "branch"
    } else {
        "layer"
    };
    match &layer.body {
        None => {
            cx.error(
                layer.kind.span(),
                format!("`{}` needs a body; e.g. `{}`", sig.name, sig.example),
            );
            None
        }
        Some(body) if body.items.is_empty() => {
            cx.error(
                body.brace.span.join(),
                format!("empty `{}` body: expected at least one {what}", sig.name),
            );
            None
        }
        Some(body) => Some(body),
    }
}

/// The body and the shortcut of a residual are added, so their shapes agree. When the body
/// changes the channels or the size, the fix is a projection shortcut: a 1×1 convolution with
/// the body's channels and the stride that shrinks the input to the body's size.
fn residual_shapes_agree(
    cx: &mut Errors,
    layer: &ast::Layer,
    args: &bind::Args,
    body: Shape,
    shortcut: Shape,
) {
    let what = if args.given("shortcut") {
        "the shortcut gives"
    } else {
        "the identity shortcut passes"
    };
    let mut message = format!(
        "`residual` body and shortcut shapes differ: the body gives {body}, {what} {shortcut}"
    );
    if let (false, Shape::Image { c, h, w }, Shape::Image { h: ih, w: iw, .. }) =
        (args.given("shortcut"), body, shortcut)
    {
        let stride = (ih.div_ceil(h.max(1)), iw.div_ceil(w.max(1)));
        let fits = |i: u64, o: u64, s: u64| (i - 1) / s + 1 == o;
        if h > 0 && w > 0 && fits(ih, h, stride.0) && fits(iw, w, stride.1) {
            let stride = match stride {
                (1, 1) => String::new(),
                (s, t) if s == t => format!(", stride = {s}"),
                (s, t) => format!(", stride = ({s}, {t})"),
            };
            message += &format!(
                "; add a projection: `residual(shortcut = {{ conv2d({c}, kernel = 1{stride}) }}) {{ ... }}`"
            );
        }
    }
    cx.error(layer.kind.span(), message);
}

/// Concatenated branches agree in everything but channels (images) or features (vectors):
/// all vectors, or all images of one height and width.
fn concat_shapes_agree(cx: &mut Errors, branches: &[(&ast::Item, Shape)]) -> Option<Shape> {
    let (_, first) = *branches.first()?;
    // A sequence stores its features step by step, so joining features is an interleave, not
    // the block copy that concat plans: refused until a kernel does it.
    if let Some(&(item, shape)) = branches
        .iter()
        .find(|(_, s)| matches!(s, Shape::Sequence { .. } | Shape::Tokens { .. }))
    {
        cx.error(
            item.span(),
            format!("`concat` joins vectors or images; this branch gives the sequence {shape}, which it cannot join yet: reduce the sequences first (`mean_over_time`, `last`) or `flatten` them"),
        );
        return None;
    }
    let mut total: u64 = 0;
    for (index, &(item, shape)) in branches.iter().enumerate() {
        let agree = match (first, shape) {
            (Shape::Vector(_), Shape::Vector(_)) => true,
            (Shape::Image { h, w, .. }, Shape::Image { h: h2, w: w2, .. }) => h == h2 && w == w2,
            _ => false,
        };
        if !agree {
            let list: Vec<String> = branches
                .iter()
                .enumerate()
                .map(|(i, (_, s))| format!("branch {i} gives {s}"))
                .collect();
            let what = match (first, shape) {
                (Shape::Image { .. }, Shape::Image { .. }) => "height and width",
                _ => "kind (vector or image)",
            };
            cx.error(
                item.span(),
                format!(
                    "`concat` branches must agree in {what}: {}; branch {index} differs from branch 0",
                    list.join(", ")
                ),
            );
            return None;
        }
        let channels = match shape {
            Shape::Image { c, .. } => c,
            _ => shape.len().unwrap_or(u64::MAX),
        };
        total = total.saturating_add(channels);
    }
    Some(match first {
        Shape::Image { h, w, .. } => Shape::Image { c: total, h, w },
        _ => Shape::Vector(total),
    })
}

// ---------------------------------------------------------------------------------------------
// Default inits

/// The default init of each layer with weights: He uniform when the next activation it feeds
/// (looking through dropout, batch norm, pooling, flatten and into and out of blocks) is
/// ReLU-like, whose halved variance He's factor 2 makes up for; Xavier uniform otherwise.
/// `he` is what follows the stack; returns what its first layer means to the layers before.
fn default_inits(stack: &mut Stack, he: bool) -> bool {
    let mut next = he;
    for node in stack.nodes.iter_mut().rev() {
        next = match node {
            Node::Layer(layer) => match layer.op.role {
                Role::Activation { he } => he,
                Role::Transparent => next,
                Role::Mixing => {
                    if let New::Init { explicit: None, .. } = layer.op.new {
                        layer.init = if next {
                            Init::HeUniform
                        } else {
                            Init::XavierUniform
                        };
                    }
                    false
                }
            },
            Node::Group(inner) => default_inits(inner, next),
            Node::Residual { body, shortcut, .. } => {
                default_inits(shortcut, next);
                default_inits(body, next)
            }
            Node::Concat { branches, .. } => {
                let mut any = false;
                for branch in branches {
                    any |= default_inits(branch, next);
                }
                any
            }
            Node::Repeat { copies } => {
                for copy in copies.iter_mut().rev() {
                    next = default_inits(copy, next);
                }
                next
            }
        };
    }
    next
}
