//! Semantic checks: resolves the syntax tree into the IR and reports every mistake at once.
//!
//! Each rule is one small function with the rule in prose above it. Rules report to an
//! [`Errors`] accumulator, on the smallest offending token, and never stop the walk. After a
//! layer with an error, shape inference goes on when the layer's output shape is still known
//! (an activation keeps its input's shape, `dense(10)` outputs `[10]` whatever came in) and
//! stops for the rest of the stack otherwise, so one mistake gives one error, not a cascade.
//!
//! Messages share one style: lowercase, no trailing period, code in backticks, the expected
//! before the found, a hint after `;`.

use crate::ast;
use crate::ir::{self, Init, Kind, Op, Param, Spec, Type};
use crate::report::Errors;
use crate::shape::{self, Hw, Mismatch, Shape};
use quote::format_ident;
use syn::punctuated::Punctuated;
use syn::{Ident, Lit, Token};

/// Why a network could not be resolved, with what the fallback stub needs to type-check.
pub struct Failure {
    pub errors: Errors,
    /// The input shape, when it is well formed.
    pub input: Option<Shape>,
    /// The output shape, when inference reached the last layer.
    pub output: Option<Shape>,
}

/// Resolves and checks the whole network.
pub fn network(net: &ast::Network) -> Result<ir::Network, Failure> {
    let mut cx = Errors::default();
    let input = input_shape(&mut cx, net);
    non_empty(&mut cx, net);
    let (nodes, output) = stack(&mut cx, &net.layers, input);
    match (input, nodes) {
        (Some(input), Some(nodes)) if cx.is_empty() && !nodes.is_empty() => Ok(ir::Network {
            attrs: net.attrs.clone(),
            vis: net.vis.clone(),
            ident: net.ident.clone(),
            input,
            stack: ir::Stack { nodes },
        }),
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
                input,
                output,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The network as a whole

/// The input is `[features]` or `[channels, height, width]`: the two layouts the layers know.
fn input_rank(cx: &mut Errors, net: &ast::Network) -> bool {
    let rank = net.dims.len();
    let ok = rank == 1 || rank == 3;
    if !ok {
        cx.error(
            net.bracket.span.join(),
            format!(
                "expected `[features]` or `[channels, height, width]` as the input shape, found {rank} dimension{}",
                if rank == 1 { "" } else { "s" }
            ),
        );
    }
    ok
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
        [Some(n)] => Shape::Vector(n),
        [Some(c), Some(h), Some(w)] => Shape::Image { c, h, w },
        _ => return None,
    };
    if shape.len().is_none() {
        cx.error(
            net.bracket.span.join(),
            "input shape is too large: its size overflows 64 bits",
        );
        return None;
    }
    Some(shape)
}

/// A network has at least one layer: with none there is nothing to compute or train.
fn non_empty(cx: &mut Errors, net: &ast::Network) {
    if net.layers.is_empty() {
        cx.error(
            net.brace.span.join(),
            "empty network: expected at least one layer",
        );
    }
}

/// The field an unnamed layer gets: `{kind}_{index}`, with the index of its position.
fn generated_name(layer: &ast::Layer, index: usize) -> String {
    let kind = layer.kind.to_string();
    format!("{}_{index}", kind.trim_start_matches("r#"))
}

/// The field names seen so far in a stack, with their layer and index.
type Names<'a> = Vec<(String, &'a ast::Layer, usize)>;

/// Layer names are unique, since each layer becomes a struct field. Unnamed layers are called
/// `{kind}_{index}`, and a given name may collide with one of those too; the error goes on a
/// name the user wrote.
fn unique_name<'a>(cx: &mut Errors, seen: &mut Names<'a>, index: usize, layer: &'a ast::Layer) {
    let name = match &layer.name {
        Some(ident) => ident.to_string(),
        None => generated_name(layer, index),
    };
    if let Some((_, first, first_index)) = seen.iter().find(|(seen, ..)| *seen == name) {
        match (&layer.name, &first.name) {
            (Some(ident), Some(_)) => cx.error(
                ident.span(),
                format!("duplicate layer name `{name}`; each layer becomes a field, so names must be unique"),
            ),
            (Some(ident), None) => cx.error(
                ident.span(),
                format!(
                    "duplicate layer name `{name}`; the unnamed `{}` at index {first_index} is already called `{name}`",
                    first.kind
                ),
            ),
            (None, Some(first_ident)) => cx.error(
                first_ident.span(),
                format!(
                    "duplicate layer name `{name}`; the unnamed `{}` at index {index} is also called `{name}`",
                    layer.kind
                ),
            ),
            (None, None) => cx.error(layer.kind.span(), format!("duplicate layer name `{name}`")),
        }
    }
    seen.push((name, layer, index));
}

// ---------------------------------------------------------------------------------------------
// Layers

fn stack(
    cx: &mut Errors,
    layers: &Punctuated<ast::Layer, Token![,]>,
    input: Option<Shape>,
) -> (Option<Vec<ir::Node>>, Option<Shape>) {
    let mut nodes = Some(Vec::with_capacity(layers.len()));
    let mut shape = input;
    let mut names = Names::new();
    for (index, layer) in layers.iter().enumerate() {
        unique_name(cx, &mut names, index, layer);
        let (resolved, output) = self::layer(cx, index, layer, shape);
        match (resolved, nodes.as_mut()) {
            (Some(resolved), Some(nodes)) => nodes.push(ir::Node::Layer(resolved)),
            _ => nodes = None,
        }
        shape = output;
    }
    (nodes, shape)
}

/// Resolves one layer; returns it (when it and its shapes are fully known) and its output shape
/// (when known, even if the layer has an error).
fn layer(
    cx: &mut Errors,
    index: usize,
    layer: &ast::Layer,
    input: Option<Shape>,
) -> (Option<ir::Layer>, Option<Shape>) {
    if let Some(body) = &layer.body {
        no_blocks_yet(cx, layer, body);
        return (None, None);
    }
    let Some(spec) = known_layer(cx, &layer.kind) else {
        return (None, None);
    };
    let args = bind(cx, spec, layer);
    let (op, output) = lower(cx, spec, layer, &args, input);
    let resolved = match (op, input, output) {
        (Some(op), Some(input), Some(output)) => Some(ir::Layer {
            field: match &layer.name {
                Some(name) => name.clone(),
                None => format_ident!("{}_{}", spec.name, index, span = layer.kind.span()),
            },
            op,
            input,
            output,
            span: layer.kind.span(),
        }),
        _ => None,
    };
    (resolved, output)
}

/// Blocks (`residual { .. }`, `concat { .. }`, `repeat(n) { .. }`) are designed but not built:
/// say so rather than misreading the body; other layers take no body at all.
fn no_blocks_yet(cx: &mut Errors, layer: &ast::Layer, body: &ast::Body) {
    let kind = layer.kind.to_string();
    if ir::PLANNED_BLOCKS.contains(&kind.as_str()) {
        cx.error(
            layer.kind.span(),
            format!("`{kind}` blocks are not supported yet"),
        );
    } else {
        cx.error(
            body.brace.span.join(),
            format!("unexpected `{{ ... }}` after `{kind}`; only blocks take a body, and none is supported yet"),
        );
    }
}

/// Names PyTorch or Keras users reach for, mapped to this DSL's.
const LAYER_ALIASES: &[(&str, &str)] = &[
    ("linear", "dense"),
    ("fc", "dense"),
    ("batchnorm2d", "batch_norm"),
];

/// A layer's kind is one of the table's; a near miss gets a did-you-mean, anything else the list.
fn known_layer(cx: &mut Errors, kind: &Ident) -> Option<&'static Spec> {
    let name = kind.to_string();
    if let Some(spec) = ir::lookup(&name) {
        return Some(spec);
    }
    let names = ir::KINDS.iter().map(|spec| spec.name);
    let near = match alias(&name, LAYER_ALIASES) {
        Some(alias) => vec![alias],
        None => did_you_mean(&name, names.clone()),
    };
    let hint = suggestion(&near).unwrap_or_else(|| format!("the layers are {}", code_list(names)));
    cx.error(kind.span(), format!("unknown layer `{name}`; {hint}"));
    None
}

// ---------------------------------------------------------------------------------------------
// Arguments

/// A parameter's argument once converted to its type.
#[derive(Clone, Copy, Debug)]
enum Typed {
    Int(u64),
    Hw(Hw),
    Same,
    Bool(bool),
    Number(f64),
    Init(Init),
}

/// What was given for one parameter.
enum Slot<'a> {
    Absent,
    /// Given but wrong; the error is reported already.
    Failed,
    Given(Typed, &'a ast::Value),
}

/// A layer's arguments, one slot per parameter of its kind, in the table's order.
struct Args<'a> {
    spec: &'static Spec,
    slots: Vec<Slot<'a>>,
}

/// `conv2d` padding before `same` is resolved.
enum Padding {
    Same,
    Explicit(Hw),
}

impl<'a> Args<'a> {
    fn slot(&self, name: &str) -> &Slot<'a> {
        let index = self.spec.params.iter().position(|p| p.name == name);
        index
            .and_then(|i| self.slots.get(i))
            .unwrap_or(&Slot::Absent)
    }

    fn value(&self, name: &str) -> Option<&'a ast::Value> {
        match self.slot(name) {
            Slot::Given(_, value) => Some(value),
            _ => None,
        }
    }

    /// A required size; `None` if missing or invalid (both reported already).
    fn size(&self, name: &str) -> Option<u64> {
        match self.slot(name) {
            Slot::Given(Typed::Int(n), _) => Some(*n),
            _ => None,
        }
    }

    /// A required (height, width) pair; `None` if missing or invalid.
    fn required_hw(&self, name: &str) -> Option<Hw> {
        match self.slot(name) {
            Slot::Given(Typed::Hw(hw), _) => Some(*hw),
            _ => None,
        }
    }

    /// A (height, width) pair, `default` when absent; `None` if invalid.
    fn hw(&self, name: &str, default: Hw) -> Option<Hw> {
        match self.slot(name) {
            Slot::Absent => Some(default),
            Slot::Given(Typed::Hw(hw), _) => Some(*hw),
            _ => None,
        }
    }

    fn padding(&self, name: &str) -> Option<Padding> {
        match self.slot(name) {
            Slot::Absent => Some(Padding::Explicit((0, 0))),
            Slot::Given(Typed::Same, _) => Some(Padding::Same),
            Slot::Given(Typed::Hw(hw), _) => Some(Padding::Explicit(*hw)),
            _ => None,
        }
    }

    /// A flag; an invalid one falls back to the default (it never affects shapes).
    fn flag(&self, name: &str, default: bool) -> bool {
        match self.slot(name) {
            Slot::Given(Typed::Bool(b), _) => *b,
            _ => default,
        }
    }

    /// A number, `default` when absent (`None` for a required one); `None` if invalid.
    fn number(&self, name: &str, default: Option<f64>) -> Option<f64> {
        match self.slot(name) {
            Slot::Absent => default,
            Slot::Given(Typed::Number(x), _) => Some(*x),
            _ => None,
        }
    }

    /// An explicit init; `None` means the default.
    fn init(&self, name: &str) -> Option<Init> {
        match self.slot(name) {
            Slot::Given(Typed::Init(init), _) => Some(*init),
            _ => None,
        }
    }
}

/// Matches the arguments to the layer's parameters (positional first, in order, then by name)
/// and converts each to its parameter's type.
fn bind<'a>(cx: &mut Errors, spec: &'static Spec, layer: &'a ast::Layer) -> Args<'a> {
    let mut given: Vec<Option<&'a ast::Arg>> = spec.params.iter().map(|_| None).collect();
    let mut named_seen = false;
    let mut positional = 0;
    let mut extra = Vec::new();
    for arg in layer.args.iter().flat_map(|args| args.list.iter()) {
        match &arg.name {
            None if named_seen => positional_after_named(cx, arg),
            None => {
                match given.get_mut(positional) {
                    Some(slot) => *slot = Some(arg),
                    None => extra.push(arg),
                }
                positional += 1;
            }
            Some(name) => {
                named_seen = true;
                match spec
                    .params
                    .iter()
                    .position(|p| name == p.name)
                    .and_then(|i| given.get_mut(i))
                {
                    None => unknown_argument(cx, spec, name),
                    Some(Some(first)) => duplicate_argument(cx, spec, name, first),
                    Some(slot) => *slot = Some(arg),
                }
            }
        }
    }
    too_many_arguments(cx, spec, &extra, positional);
    for (param, arg) in spec.params.iter().zip(&given) {
        if arg.is_none() {
            missing_argument(cx, spec, param, layer);
        }
    }
    let slots = spec
        .params
        .iter()
        .zip(given)
        .map(|(param, arg)| match arg {
            None => Slot::Absent,
            Some(arg) => match convert(cx, spec, param, &arg.value) {
                Some(typed) => Slot::Given(typed, &arg.value),
                None => Slot::Failed,
            },
        })
        .collect();
    Args { spec, slots }
}

/// Positional arguments come first: after a `name = value`, which parameter a bare value is
/// for would be a guess.
fn positional_after_named(cx: &mut Errors, arg: &ast::Arg) {
    cx.error_spanned(
        &arg.value,
        "positional argument after named arguments; give it by name or move it before them",
    );
}

/// A layer takes at most as many positional arguments as it has parameters.
fn too_many_arguments(cx: &mut Errors, spec: &Spec, extra: &[&ast::Arg], found: usize) {
    if extra.is_empty() {
        return;
    }
    let expected = match spec.params.len() {
        0 => "none".to_string(),
        n => format!("at most {n}"),
    };
    let tokens: proc_macro2::TokenStream =
        extra.iter().map(quote::ToTokens::to_token_stream).collect();
    cx.error_spanned(
        tokens,
        format!(
            "too many arguments for `{}`: expected {expected}, found {found}",
            spec.name
        ),
    );
}

/// Argument names PyTorch users reach for, mapped to this DSL's.
const ARG_ALIASES: &[(&str, &str)] = &[
    ("kernel_size", "kernel"),
    ("out_features", "units"),
    ("negative_slope", "slope"),
    ("num_features", "units"),
];

/// Every named argument is a parameter of the layer. Input sizes get their own hint: they
/// are never written, since the macro infers them.
fn unknown_argument(cx: &mut Errors, spec: &Spec, name: &Ident) {
    let written = name.to_string();
    let names = spec.params.iter().map(|p| p.name);
    let hint = if written == "in_channels" || written == "in_features" {
        "input sizes are inferred from the previous layer".to_string()
    } else if let Some(hint) = suggestion(&match alias(&written, ARG_ALIASES) {
        Some(alias) if spec.params.iter().any(|p| p.name == alias) => vec![alias],
        _ => did_you_mean(&written, names.clone()),
    }) {
        hint
    } else if spec.params.is_empty() {
        format!("`{}` takes no arguments", spec.name)
    } else {
        format!("`{}` takes {}", spec.name, code_list(names))
    };
    cx.error(
        name.span(),
        format!("unknown argument `{written}` for `{}`; {hint}", spec.name),
    );
}

/// Each parameter is given once, positionally or by name.
fn duplicate_argument(cx: &mut Errors, spec: &Spec, name: &Ident, first: &ast::Arg) {
    let hint = if first.name.is_none() {
        "; it is already given positionally"
    } else {
        ""
    };
    cx.error(
        name.span(),
        format!("duplicate argument `{name}` for `{}`{hint}", spec.name),
    );
}

/// Parameters without a default must be given.
fn missing_argument(cx: &mut Errors, spec: &Spec, param: &Param, layer: &ast::Layer) {
    if param.default.is_none() {
        cx.error(
            layer.kind.span(),
            format!(
                "missing argument `{}` for `{}`; e.g. `{}`",
                param.name, spec.name, spec.example
            ),
        );
    }
}

/// Each argument has its parameter's type: integers for sizes, an integer or a pair for
/// per-axis values, `same` only as a convolution's padding, `true`/`false` for flags, a finite
/// number for rates, an init scheme for `init`. Sizes must also be positive.
fn convert(cx: &mut Errors, spec: &Spec, param: &Param, value: &ast::Value) -> Option<Typed> {
    let typed = match param.ty {
        Type::Size => integer(value).map(Typed::Int),
        Type::Size2 | Type::PoolPadding => pair(value).map(Typed::Hw),
        Type::Padding if is_same(value) => Some(Typed::Same),
        Type::Padding => pair(value).map(Typed::Hw),
        Type::Bool => boolean(value).map(Typed::Bool),
        Type::Number => number(value).map(Typed::Number),
        Type::Init => return init(cx, value).map(Typed::Init),
    };
    match typed {
        None => {
            ill_typed(cx, param, value);
            None
        }
        Some(_)
            if matches!(param.ty, Type::Size | Type::Size2)
                && !positive(cx, spec, param, value) =>
        {
            None
        }
        Some(typed) => Some(typed),
    }
}

/// The message for an argument of the wrong type, with a hint for the likely confusions.
fn ill_typed(cx: &mut Errors, param: &Param, value: &ast::Value) {
    let hint = if is_same(value) {
        "; `same` is only valid as the padding of `conv2d`"
    } else if matches!(param.ty, Type::Number) && is_number(value) {
        "; the number is not finite"
    } else {
        ""
    };
    cx.error_spanned(
        value,
        format!(
            "expected {} for `{}`, found `{value}`{hint}",
            param.ty.expected(),
            param.name
        ),
    );
}

/// Sizes (units, channels, kernels, strides, dilations) are at least 1: a zero would make an
/// empty tensor, a stride that never moves or a kernel that sees nothing.
fn positive(cx: &mut Errors, spec: &Spec, param: &Param, value: &ast::Value) -> bool {
    let parts: Vec<&ast::Value> = match value {
        ast::Value::Tuple { elems, .. } => elems.iter().collect(),
        _ => vec![value],
    };
    let mut ok = true;
    for part in parts {
        if integer(part) == Some(0) {
            cx.error_spanned(
                part,
                format!(
                    "`{}` of `{}` must be at least 1, found 0",
                    param.name, spec.name
                ),
            );
            ok = false;
        }
    }
    ok
}

/// `init` names one of the schemes; `constant(c)`, `normal(std)` and `uniform(a)` take one
/// number, the others none. A standard deviation or a bound is not negative.
fn init(cx: &mut Errors, value: &ast::Value) -> Option<Init> {
    let (name, args) = match value {
        ast::Value::Ident(name) => (name, None),
        ast::Value::Call { name, args, .. } => (name, Some(args)),
        _ => {
            cx.error_spanned(
                value,
                format!(
                    "expected {} for `init`, found `{value}`",
                    Type::Init.expected()
                ),
            );
            return None;
        }
    };
    let written = name.to_string();
    let Some(&(_, arg_name)) = ir::INITS.iter().find(|(n, _)| *n == written) else {
        unknown_init(cx, name);
        return None;
    };
    let arg = match (arg_name, args) {
        (None, None) => 0.0,
        (None, Some(_)) => {
            cx.error_spanned(
                value,
                format!("expected `{written}`, found `{value}`; `{written}` takes no argument"),
            );
            return None;
        }
        (Some(arg_name), None) => {
            cx.error(
                name.span(),
                format!("expected `{written}({arg_name})`, found `{written}`"),
            );
            return None;
        }
        (Some(arg_name), Some(args)) => {
            let [arg] = args.iter().collect::<Vec<_>>()[..] else {
                cx.error_spanned(
                    value,
                    format!("expected `{written}({arg_name})`, found `{value}`"),
                );
                return None;
            };
            let Some(x) = number(arg) else {
                cx.error_spanned(
                    arg,
                    format!("expected a number for the `{arg_name}` of `{written}`, found `{arg}`"),
                );
                return None;
            };
            if arg_name != "c" && x < 0.0 {
                cx.error_spanned(
                    arg,
                    format!("the `{arg_name}` of `{written}` must be at least 0, found {arg}"),
                );
                return None;
            }
            x
        }
    };
    Init::from_name(&written, arg)
}

/// PyTorch's and Keras's names for the same schemes.
const INIT_ALIASES: &[(&str, &str)] = &[
    ("kaiming_uniform", "he_uniform"),
    ("kaiming_normal", "he_normal"),
    ("glorot_uniform", "xavier_uniform"),
    ("glorot_normal", "xavier_normal"),
];

/// Init names are the runtime's schemes; a near miss gets a did-you-mean.
fn unknown_init(cx: &mut Errors, name: &Ident) {
    let names = ir::INITS.iter().map(|(n, _)| *n);
    let written = name.to_string();
    let near = match alias(&written, INIT_ALIASES) {
        Some(alias) => vec![alias],
        None => did_you_mean(&written, names),
    };
    let hint = match suggestion(&near) {
        Some(hint) => hint,
        None => {
            let all = ir::INITS.iter().map(|(n, arg)| match arg {
                Some(arg) => format!("{n}({arg})"),
                None => n.to_string(),
            });
            format!("the inits are {}", code_list(all))
        }
    };
    cx.error(name.span(), format!("unknown init `{name}`; {hint}"));
}

// ---------------------------------------------------------------------------------------------
// Lowering and shapes

/// Builds the layer's operation and infers its output shape, reporting shape mismatches.
fn lower(
    cx: &mut Errors,
    spec: &Spec,
    layer: &ast::Layer,
    args: &Args,
    input: Option<Shape>,
) -> (Option<Op>, Option<Shape>) {
    let elementwise = |op: Option<Op>| (op, input.map(shape::elementwise));
    match spec.kind {
        Kind::Dense => {
            let Some(units) = args.size("units") else {
                return (None, None);
            };
            if let Some(Err(mismatch)) = input.map(|input| shape::dense(input, units)) {
                report(cx, spec, layer, args, mismatch);
            }
            let op = Op::Dense {
                units,
                bias: args.flag("bias", true),
                init: args.init("init"),
            };
            (Some(op), Some(Shape::Vector(units)))
        }
        Kind::Conv2d => {
            let parts = (
                args.size("out_channels"),
                args.required_hw("kernel"),
                args.hw("stride", (1, 1)),
                args.padding("padding"),
                args.hw("dilation", (1, 1)),
            );
            let (
                Some(out_channels),
                Some(kernel),
                Some(stride),
                Some(padding),
                Some(dilation),
                Some(input),
            ) = (parts.0, parts.1, parts.2, parts.3, parts.4, input)
            else {
                return (None, None);
            };
            if let Shape::Vector(n) = input {
                report(cx, spec, layer, args, Mismatch::NotImage { n });
                return (None, None);
            }
            let padding = match padding {
                Padding::Explicit(padding) => padding,
                Padding::Same => match shape::same_padding(kernel, stride, dilation) {
                    Ok(padding) => padding,
                    Err(mismatch) => {
                        report(cx, spec, layer, args, mismatch);
                        return (None, None);
                    }
                },
            };
            let conv = shape::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
                dilation,
            };
            match shape::conv2d(input, &conv) {
                Ok(output) => (
                    Some(Op::Conv2d {
                        conv,
                        bias: args.flag("bias", true),
                        init: args.init("init"),
                    }),
                    Some(output),
                ),
                Err(mismatch) => {
                    report(cx, spec, layer, args, mismatch);
                    (None, None)
                }
            }
        }
        Kind::MaxPool2d | Kind::AvgPool2d => {
            let kernel = args.required_hw("kernel");
            let Some(kernel) = kernel else {
                return (None, None);
            };
            let (Some(stride), Some(padding), Some(input)) =
                (args.hw("stride", kernel), args.hw("padding", (0, 0)), input)
            else {
                return (None, None);
            };
            let pool = shape::Pool2d {
                kernel,
                stride,
                padding,
            };
            match shape::pool2d(input, &pool) {
                Ok(output) => {
                    let op = if spec.kind == Kind::MaxPool2d {
                        Op::MaxPool2d(pool)
                    } else {
                        Op::AvgPool2d(pool)
                    };
                    (Some(op), Some(output))
                }
                Err(mismatch) => {
                    report(cx, spec, layer, args, mismatch);
                    (None, None)
                }
            }
        }
        Kind::GlobalAvgPool2d | Kind::GlobalMaxPool2d => {
            let Some(input) = input else {
                return (None, None);
            };
            match shape::global_pool2d(input) {
                Ok(output) => {
                    let op = if spec.kind == Kind::GlobalAvgPool2d {
                        Op::GlobalAvgPool2d
                    } else {
                        Op::GlobalMaxPool2d
                    };
                    (Some(op), Some(output))
                }
                Err(mismatch) => {
                    report(cx, spec, layer, args, mismatch);
                    (None, None)
                }
            }
        }
        Kind::Flatten => match input.map(shape::flatten) {
            Some(Ok(output)) => (Some(Op::Flatten), Some(output)),
            Some(Err(mismatch)) => {
                report(cx, spec, layer, args, mismatch);
                (None, None)
            }
            None => (None, None),
        },
        Kind::Relu => elementwise(Some(Op::Relu)),
        Kind::Sigmoid => elementwise(Some(Op::Sigmoid)),
        Kind::Tanh => elementwise(Some(Op::Tanh)),
        Kind::Softmax => elementwise(Some(Op::Softmax)),
        Kind::LeakyRelu => elementwise(
            args.number("slope", Some(0.01))
                .map(|slope| Op::LeakyRelu { slope }),
        ),
        Kind::Dropout => {
            let p = args
                .number("p", None)
                .filter(|&p| dropout_probability(cx, args, p));
            elementwise(p.map(|p| Op::Dropout { p }))
        }
        Kind::BatchNorm => {
            let momentum = args
                .number("momentum", Some(0.1))
                .filter(|&m| batch_norm_momentum(cx, args, m));
            let eps = args
                .number("eps", Some(1e-5))
                .filter(|&eps| batch_norm_eps(cx, args, eps));
            elementwise(
                momentum
                    .zip(eps)
                    .map(|(momentum, eps)| Op::BatchNorm { momentum, eps }),
            )
        }
    }
}

/// Dropout zeroes each unit with probability p and scales the kept ones by 1/(1 − p), so p is
/// in [0, 1): p = 1 would drop every unit and divide by zero.
fn dropout_probability(cx: &mut Errors, args: &Args, p: f64) -> bool {
    let ok = (0.0..1.0).contains(&p);
    if let (false, Some(value)) = (ok, args.value("p")) {
        let hint = if p >= 1.0 {
            "; p = 1 would drop every unit"
        } else {
            ""
        };
        cx.error_spanned(
            value,
            format!("`p` of `dropout` must be in [0, 1), found {value}{hint}"),
        );
    }
    ok
}

/// Batch norm's running statistics move by `momentum` towards each batch's, so it is in
/// [0, 1]: 0 freezes them, 1 keeps only the last batch, anything outside diverges.
fn batch_norm_momentum(cx: &mut Errors, args: &Args, momentum: f64) -> bool {
    let ok = (0.0..=1.0).contains(&momentum);
    if let (false, Some(value)) = (ok, args.value("momentum")) {
        cx.error_spanned(
            value,
            format!("`momentum` of `batch_norm` must be in [0, 1], found {value}"),
        );
    }
    ok
}

/// Batch norm divides by √(variance + eps), so eps is positive: a constant feature would
/// otherwise divide by zero.
fn batch_norm_eps(cx: &mut Errors, args: &Args, eps: f64) -> bool {
    let ok = eps > 0.0;
    if let (false, Some(value)) = (ok, args.value("eps")) {
        cx.error_spanned(
            value,
            format!("`eps` of `batch_norm` must be positive, found {value}"),
        );
    }
    ok
}

/// Reports a shape mismatch through the rule it breaks.
fn report(cx: &mut Errors, spec: &Spec, layer: &ast::Layer, args: &Args, mismatch: Mismatch) {
    match mismatch {
        Mismatch::NotVector { c, h, w } => {
            dense_needs_vector(cx, spec, layer, Shape::Image { c, h, w })
        }
        Mismatch::NotImage { n } => needs_image(cx, spec, layer, n),
        Mismatch::KernelTooLarge {
            input,
            padding,
            effective,
        } => kernel_fits(cx, spec, layer, args, input, padding, effective),
        Mismatch::SameStride { stride } => same_needs_stride_one(cx, layer, args, stride),
        Mismatch::SameEvenKernel { effective } => same_needs_odd_kernel(cx, layer, args, effective),
        Mismatch::PoolPadding { padding, kernel } => {
            pool_padding(cx, spec, layer, args, padding, kernel)
        }
        Mismatch::Zero | Mismatch::TooLarge => too_large(cx, spec, layer),
    }
}

/// `dense` multiplies a vector by a matrix, so an image must be flattened before it.
fn dense_needs_vector(cx: &mut Errors, spec: &Spec, layer: &ast::Layer, found: Shape) {
    cx.error(
        layer.kind.span(),
        format!(
            "`{}` expects a vector, found an image {found}; add `flatten` before it",
            spec.name
        ),
    );
}

/// Convolution and pooling slide a window over height and width: they need an image.
fn needs_image(cx: &mut Errors, spec: &Spec, layer: &ast::Layer, n: u64) {
    cx.error(
        layer.kind.span(),
        format!(
            "`{}` expects an image `[channels, height, width]`, found a vector [{n}]",
            spec.name
        ),
    );
}

/// The (effective, dilated) kernel or pooling window fits in the padded input, else there is
/// not a single position to put it. The message gives every number the sizes came from.
fn kernel_fits(
    cx: &mut Errors,
    spec: &Spec,
    layer: &ast::Layer,
    args: &Args,
    input: Hw,
    padding: Hw,
    effective: Hw,
) {
    let conv = spec.kind == Kind::Conv2d;
    let (what, label) = if conv {
        ("kernel", "effective kernel")
    } else {
        ("window", "window")
    };
    let kernel = args.hw("kernel", effective).unwrap_or(effective);
    let mut message = format!("`{}` {what} {}", spec.name, show(kernel));
    let dilation = args.hw("dilation", (1, 1)).unwrap_or((1, 1));
    if conv && dilation != (1, 1) {
        message += &format!(" with dilation {}", show(dilation));
    }
    let padded = (
        input.0.saturating_add(padding.0.saturating_mul(2)),
        input.1.saturating_add(padding.1.saturating_mul(2)),
    );
    message += &format!(
        " does not fit: input is {}×{} with padding {} (",
        input.0,
        input.1,
        show(padding)
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
    at(cx, args, "kernel", layer, message);
}

/// `same` keeps the output the size of the input, which a stride above 1 makes impossible:
/// the output is about input / stride whatever the padding.
fn same_needs_stride_one(cx: &mut Errors, layer: &ast::Layer, args: &Args, stride: Hw) {
    let message = format!(
        "`same` padding needs stride 1, found {}; with a larger stride the output cannot keep the input size, so give the padding as a number",
        show(stride)
    );
    at(cx, args, "padding", layer, message);
}

/// `same` pads (k̂ − 1)/2 on each side; with an even effective kernel k̂ that is not whole,
/// and the padding would have to differ between the two sides, which `conv2d` does not do.
fn same_needs_odd_kernel(cx: &mut Errors, layer: &ast::Layer, args: &Args, effective: Hw) {
    let kernel = args.hw("kernel", effective).unwrap_or(effective);
    let dilation = args.hw("dilation", (1, 1)).unwrap_or((1, 1));
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
    at(cx, args, "padding", layer, message);
}

/// Pooling padding is at most half the window (PyTorch's rule): more would create windows
/// that hold nothing but padding.
fn pool_padding(
    cx: &mut Errors,
    spec: &Spec,
    layer: &ast::Layer,
    args: &Args,
    padding: Hw,
    kernel: Hw,
) {
    let message = format!(
        "`{}` padding must be at most half the kernel: expected at most {}, found {}",
        spec.name,
        show((kernel.0 / 2, kernel.1 / 2)),
        show(padding)
    );
    at(cx, args, "padding", layer, message);
}

/// Sizes fit in 64 bits (anything near that would not compile or run anyway).
fn too_large(cx: &mut Errors, spec: &Spec, layer: &ast::Layer) {
    cx.error(
        layer.kind.span(),
        format!(
            "the output of `{}` is too large: its size overflows 64 bits",
            spec.name
        ),
    );
}

/// Reports on the argument `name` when it was written, else on the layer's kind.
fn at(cx: &mut Errors, args: &Args, name: &str, layer: &ast::Layer, message: String) {
    match args.value(name) {
        Some(value) => cx.error_spanned(value, message),
        None => cx.error(layer.kind.span(), message),
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// A non-negative integer literal.
fn integer(value: &ast::Value) -> Option<u64> {
    match value {
        ast::Value::Lit {
            minus: None,
            lit: Lit::Int(int),
        } => int.base10_parse().ok(),
        _ => None,
    }
}

/// An integer `n` (meaning `(n, n)`) or a pair `(h, w)` of integers.
fn pair(value: &ast::Value) -> Option<Hw> {
    match value {
        ast::Value::Tuple { elems, .. } => match elems.iter().collect::<Vec<_>>()[..] {
            [h, w] => Some((integer(h)?, integer(w)?)),
            _ => None,
        },
        _ => integer(value).map(|n| (n, n)),
    }
}

fn is_same(value: &ast::Value) -> bool {
    matches!(value, ast::Value::Ident(ident) if ident == "same")
}

fn boolean(value: &ast::Value) -> Option<bool> {
    match value {
        ast::Value::Lit {
            minus: None,
            lit: Lit::Bool(b),
        } => Some(b.value),
        _ => None,
    }
}

fn is_number(value: &ast::Value) -> bool {
    matches!(
        value,
        ast::Value::Lit {
            lit: Lit::Int(_) | Lit::Float(_),
            ..
        }
    )
}

/// A finite number, integer or not, possibly negative.
fn number(value: &ast::Value) -> Option<f64> {
    let (minus, x) = match value {
        ast::Value::Lit {
            minus,
            lit: Lit::Int(int),
        } => (minus.is_some(), int.base10_parse::<f64>().ok()?),
        ast::Value::Lit {
            minus,
            lit: Lit::Float(float),
        } => (minus.is_some(), float.base10_parse::<f64>().ok()?),
        _ => return None,
    };
    let x = if minus { -x } else { x };
    x.is_finite().then_some(x)
}

/// `5` or `(3, 5)`, as the user would write it.
fn show(hw: Hw) -> String {
    if hw.0 == hw.1 {
        hw.0.to_string()
    } else {
        format!("({}, {})", hw.0, hw.1)
    }
}

/// `` `a`, `b`, `c` ``.
fn code_list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Did you mean

fn alias(written: &str, aliases: &[(&str, &'static str)]) -> Option<&'static str> {
    let written = normalize(written);
    aliases
        .iter()
        .find(|(alias, _)| normalize(alias) == written)
        .map(|(_, name)| *name)
}

/// Lowercase without underscores, so `MaxPool2d`, `maxpool2d` and `max_pool2d` meet.
fn normalize(name: &str) -> String {
    name.to_lowercase().replace('_', "")
}

/// The candidates close to `written`: those equal up to case and underscores or sharing a
/// prefix with it (`conv` / `conv2d`, `kernel_size` / `kernel`, `xavier` / both Xavier inits),
/// or else the nearest one within an edit distance of a third of its length.
fn did_you_mean<'a>(written: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let w = normalize(written);
    let scored: Vec<(usize, bool, &str)> = candidates
        .into_iter()
        .map(|candidate| {
            let c = normalize(candidate);
            let prefix = w.len().min(c.len()) >= 2 && (c.starts_with(&w) || w.starts_with(&c));
            (edit_distance(&w, &c), prefix, candidate)
        })
        .collect();
    if let Some(exact) = scored.iter().find(|(d, ..)| *d == 0) {
        return vec![exact.2];
    }
    let prefixed: Vec<&str> = scored
        .iter()
        .filter(|(_, prefix, _)| *prefix)
        .map(|s| s.2)
        .collect();
    if !prefixed.is_empty() {
        return prefixed;
    }
    let near = scored
        .iter()
        .filter(|(d, _, c)| *d <= (normalize(c).chars().count() / 3).max(1));
    near.min_by_key(|(d, ..)| *d)
        .map(|s| s.2)
        .into_iter()
        .collect()
}

/// "did you mean `a`?", "did you mean `a` or `b`?"; `None` without candidates.
fn suggestion(candidates: &[&str]) -> Option<String> {
    let (last, rest) = candidates.split_last()?;
    let mut text = String::from("did you mean ");
    if !rest.is_empty() {
        text += &code_list(rest.iter());
        text += " or ";
    }
    Some(format!("{text}`{last}`?"))
}

/// Levenshtein distance (insertions, deletions, substitutions), two rows at a time.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current.clear();
        current.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous
                .get(j)
                .map_or(usize::MAX, |d| d + usize::from(ca != cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances_by_hand() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("conv2", "conv2d"), 1);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
    }

    #[test]
    fn suggestions() {
        let kinds = || ir::KINDS.iter().map(|s| s.name);
        let none: Vec<&str> = Vec::new();
        assert_eq!(did_you_mean("conv2", kinds()), ["conv2d"]);
        assert_eq!(did_you_mean("Dense", kinds()), ["dense"]);
        assert_eq!(did_you_mean("MaxPool2d", kinds()), ["max_pool2d"]);
        assert_eq!(did_you_mean("maxpool", kinds()), ["max_pool2d"]);
        assert_eq!(did_you_mean("flat", kinds()), ["flatten"]);
        assert_eq!(did_you_mean("sigmod", kinds()), ["sigmoid"]);
        assert_eq!(
            did_you_mean("global", kinds()),
            ["global_avg_pool2d", "global_max_pool2d"]
        );
        assert_eq!(did_you_mean("transformer", kinds()), none);
        assert_eq!(
            did_you_mean("kernel_size", ["kernel", "stride"]),
            ["kernel"]
        );
        let inits = ir::INITS.iter().map(|i| i.0);
        assert_eq!(
            did_you_mean("xavier", inits),
            ["xavier_uniform", "xavier_normal"]
        );
        assert_eq!(alias("Linear", LAYER_ALIASES), Some("dense"));
        let three = suggestion(&["a", "b", "c"]);
        assert_eq!(three.as_deref(), Some("did you mean `a`, `b` or `c`?"));
        assert_eq!(suggestion(&[]), None);
    }
}
