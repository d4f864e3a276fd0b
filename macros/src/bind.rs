//! Arguments: the parameter tables' types, and binding a layer's written arguments to its
//! parameters (positional first, then by name), each converted to its type.
//!
//! Every rule is one small function with the rule in prose above it; each reports on the
//! smallest offending token and lets the walk go on.

use crate::ast;
use crate::report::Errors;
use crate::shape::{Hw, Pad};
use crate::suggest::{alias, code_list, did_you_mean, suggestion};
use syn::punctuated::Punctuated;
use syn::{Ident, Lit, Token};

/// What a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A positive integer: `16`.
    Size,
    /// A positive integer or a pair of them, for height and width: `3`, `(3, 5)`.
    Size2,
    /// `conv2d` padding: a non-negative integer, a pair, a pair of pairs, `same` or `same_upper`.
    Padding,
    /// Pooling padding: a non-negative integer, a pair or a pair of pairs.
    PoolPadding,
    /// `conv1d` padding: a non-negative integer, a pair `(left, right)`, `same` or `same_upper`.
    Padding1d,
    /// A non-negative integer: `0`, `1`.
    Count,
    /// A recurrent layer's nonlinearity: `tanh` or `relu`.
    Nonlinearity,
    Bool,
    /// Any finite number: `0.5`, `1e-5`, `2`.
    Number,
    Init,
    /// A group of layers: `{ conv2d(32, kernel = 1) }`.
    Group,
}

impl Type {
    /// The "expected …" half of an ill-typed-argument message.
    pub fn expected(self) -> &'static str {
        match self {
            Type::Size => "a positive integer",
            Type::Size2 => "an integer or a pair `(h, w)`",
            Type::Padding => {
                "an integer, a pair `(h, w)`, `((top, bottom), (left, right))`, `same` or `same_upper`"
            }
            Type::PoolPadding => "an integer, a pair `(h, w)` or `((top, bottom), (left, right))`",
            Type::Padding1d => "an integer, a pair `(left, right)`, `same` or `same_upper`",
            Type::Count => "a non-negative integer",
            Type::Nonlinearity => "`tanh` or `relu`",
            Type::Bool => "`true` or `false`",
            Type::Number => "a number",
            Type::Init => "an init such as `he_uniform` or `normal(0.1)`",
            Type::Group => "a group of layers `{ ... }`",
        }
    }
}

/// One parameter of a layer kind or block.
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    /// `None` when the argument is required; otherwise the default as shown in signatures.
    pub default: Option<&'static str>,
}

pub const fn req(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        default: None,
    }
}

pub const fn opt(name: &'static str, ty: Type, default: &'static str) -> Param {
    Param {
        name,
        ty,
        default: Some(default),
    }
}

/// What binding needs of a layer kind or block: its name, its parameters in positional order
/// and a short correct use for hints.
pub struct Signature {
    pub name: &'static str,
    pub params: &'static [Param],
    pub example: &'static str,
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

/// A parameter's argument once converted to its type.
#[derive(Clone, Copy, Debug)]
pub enum Typed {
    Int(u64),
    Hw(Hw),
    /// Padding per side: `((top, bottom), (left, right))`.
    Pad(Pad),
    Same,
    SameUpper,
    Bool(bool),
    Number(f64),
    Init(Init),
    /// A word from a fixed list (`tanh`).
    Word(&'static str),
    /// A `{ ... }` group (read back from the value).
    Group,
}

/// What was given for one parameter.
pub enum Slot<'a> {
    Absent,
    /// Given but wrong; the error is reported already.
    Failed,
    Given(Typed, &'a ast::Value),
}

/// A layer's arguments, one slot per parameter of its kind, in the table's order.
pub struct Args<'a> {
    spec: &'static Signature,
    slots: Vec<Slot<'a>>,
}

/// Padding before `same` and `same_upper` are resolved.
pub enum Padding {
    /// PyTorch's `same`: the output keeps the input's size (stride 1, even split).
    Same,
    /// TensorFlow's `SAME` (ONNX's `SAME_UPPER`): output ⌈i / s⌉, any odd share at the end.
    SameUpper,
    Explicit(Pad),
}

impl<'a> Args<'a> {
    pub fn slot(&self, name: &str) -> &Slot<'a> {
        let index = self.spec.params.iter().position(|p| p.name == name);
        index
            .and_then(|i| self.slots.get(i))
            .unwrap_or(&Slot::Absent)
    }

    pub fn value(&self, name: &str) -> Option<&'a ast::Value> {
        match self.slot(name) {
            Slot::Given(_, value) => Some(value),
            _ => None,
        }
    }

    /// A required size; `None` if missing or invalid (both reported already).
    pub fn size(&self, name: &str) -> Option<u64> {
        match self.slot(name) {
            Slot::Given(Typed::Int(n), _) => Some(*n),
            _ => None,
        }
    }

    /// A required (height, width) pair; `None` if missing or invalid.
    pub fn required_hw(&self, name: &str) -> Option<Hw> {
        match self.slot(name) {
            Slot::Given(Typed::Hw(hw), _) => Some(*hw),
            _ => None,
        }
    }

    /// A (height, width) pair, `default` when absent; `None` if invalid.
    pub fn hw(&self, name: &str, default: Hw) -> Option<Hw> {
        match self.slot(name) {
            Slot::Absent => Some(default),
            Slot::Given(Typed::Hw(hw), _) => Some(*hw),
            _ => None,
        }
    }

    pub fn padding(&self, name: &str) -> Option<Padding> {
        match self.slot(name) {
            Slot::Absent => Some(Padding::Explicit(Pad::symmetric((0, 0)))),
            Slot::Given(Typed::Same, _) => Some(Padding::Same),
            Slot::Given(Typed::SameUpper, _) => Some(Padding::SameUpper),
            Slot::Given(Typed::Hw(hw), _) => Some(Padding::Explicit(Pad::symmetric(*hw))),
            Slot::Given(Typed::Pad(pad), _) => Some(Padding::Explicit(*pad)),
            _ => None,
        }
    }

    /// `conv1d` padding as (left, right), before `same` and `same_upper` are resolved.
    pub fn padding1d(&self, name: &str) -> Option<Padding> {
        match self.slot(name) {
            Slot::Absent => Some(Padding::Explicit(Pad::symmetric((0, 0)))),
            Slot::Given(Typed::Same, _) => Some(Padding::Same),
            Slot::Given(Typed::SameUpper, _) => Some(Padding::SameUpper),
            Slot::Given(Typed::Hw((left, right)), _) => Some(Padding::Explicit(Pad {
                top: 0,
                bottom: 0,
                left: *left,
                right: *right,
            })),
            _ => None,
        }
    }

    /// A non-negative integer, `default` when absent; `None` if invalid.
    pub fn count(&self, name: &str, default: u64) -> Option<u64> {
        match self.slot(name) {
            Slot::Absent => Some(default),
            Slot::Given(Typed::Int(n), _) => Some(*n),
            _ => None,
        }
    }

    /// A word from the parameter's list, `default` when absent; `None` if invalid.
    pub fn word(&self, name: &str, default: &'static str) -> Option<&'static str> {
        match self.slot(name) {
            Slot::Absent => Some(default),
            Slot::Given(Typed::Word(word), _) => Some(word),
            _ => None,
        }
    }

    /// A group argument (`shortcut = { ... }`), when given and valid.
    pub fn group(&self, name: &str) -> Option<&'a ast::Group> {
        match self.slot(name) {
            Slot::Given(Typed::Group, ast::Value::Group(group)) => Some(group),
            _ => None,
        }
    }

    /// Whether the argument was written (valid or not).
    pub fn given(&self, name: &str) -> bool {
        !matches!(self.slot(name), Slot::Absent)
    }

    /// A flag; an invalid one falls back to the default (it never affects shapes).
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.slot(name) {
            Slot::Given(Typed::Bool(b), _) => *b,
            _ => default,
        }
    }

    /// A number, `default` when absent (`None` for a required one); `None` if invalid.
    pub fn number(&self, name: &str, default: Option<f64>) -> Option<f64> {
        match self.slot(name) {
            Slot::Absent => default,
            Slot::Given(Typed::Number(x), _) => Some(*x),
            _ => None,
        }
    }

    /// An explicit init; `None` means the default.
    pub fn init(&self, name: &str) -> Option<Init> {
        match self.slot(name) {
            Slot::Given(Typed::Init(init), _) => Some(*init),
            _ => None,
        }
    }
}

/// Matches the arguments to the layer's parameters (positional first, in order, then by name)
/// and converts each to its parameter's type.
pub fn bind<'a>(cx: &mut Errors, spec: &'static Signature, layer: &'a ast::Layer) -> Args<'a> {
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
fn too_many_arguments(cx: &mut Errors, spec: &Signature, extra: &[&ast::Arg], found: usize) {
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
fn unknown_argument(cx: &mut Errors, spec: &Signature, name: &Ident) {
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
fn duplicate_argument(cx: &mut Errors, spec: &Signature, name: &Ident, first: &ast::Arg) {
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
fn missing_argument(cx: &mut Errors, spec: &Signature, param: &Param, layer: &ast::Layer) {
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
fn convert(cx: &mut Errors, spec: &Signature, param: &Param, value: &ast::Value) -> Option<Typed> {
    let typed = match param.ty {
        Type::Size => integer(value).map(Typed::Int),
        Type::Size2 => pair(value).map(Typed::Hw),
        Type::Padding if is_same(value) => Some(Typed::Same),
        Type::Padding if is_ident(value, SAME_UPPER) => Some(Typed::SameUpper),
        Type::Padding | Type::PoolPadding => padding(value),
        Type::Padding1d if is_same(value) => Some(Typed::Same),
        Type::Padding1d if is_ident(value, SAME_UPPER) => Some(Typed::SameUpper),
        Type::Padding1d => pair(value).map(Typed::Hw),
        Type::Count => integer(value).map(Typed::Int),
        Type::Nonlinearity => ["tanh", "relu"]
            .into_iter()
            .find(|word| is_ident(value, word))
            .map(Typed::Word),
        Type::Group => matches!(value, ast::Value::Group(_)).then_some(Typed::Group),
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
        Some(Typed::Number(x)) if !fits_f32(x) => {
            let became = if x.abs() > f32::MAX as f64 {
                "infinite"
            } else {
                "zero"
            };
            cx.error_spanned(
                value,
                format!(
                    "`{}` = {value} is outside the range of `f32`, one of the scalars the network can be built with: there it would be {became}",
                    param.name
                ),
            );
            None
        }
        Some(typed) => Some(typed),
    }
}

/// Numbers reach the kernels as the network's scalar, f32 or f64: one beyond f32's finite
/// range (or a nonzero one below its smallest normal) would silently become ∞ or 0 there.
fn fits_f32(x: f64) -> bool {
    x == 0.0 || (x.abs() <= f32::MAX as f64 && x.abs() >= f32::MIN_POSITIVE as f64)
}

/// The message for an argument of the wrong type, with a hint for the likely confusions.
fn ill_typed(cx: &mut Errors, param: &Param, value: &ast::Value) {
    let suffixed = literal_suffix(value)
        .map(|suffix| format!("; network arguments are plain numbers: drop the suffix `{suffix}`"));
    let hint = if let Some(hint) = &suffixed {
        hint.as_str()
    } else if is_same(value) || is_ident(value, SAME_UPPER) {
        "; `same` and `same_upper` are only valid as the padding of `conv2d` and `conv1d`"
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
fn positive(cx: &mut Errors, spec: &Signature, param: &Param, value: &ast::Value) -> bool {
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
    let Some(&(_, arg_name)) = INITS.iter().find(|(n, _)| *n == written) else {
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
    let names = INITS.iter().map(|(n, _)| *n);
    let written = name.to_string();
    let near = match alias(&written, INIT_ALIASES) {
        Some(alias) => vec![alias],
        None => did_you_mean(&written, names),
    };
    let hint = match suggestion(&near) {
        Some(hint) => hint,
        None => {
            let all = INITS.iter().map(|(n, arg)| match arg {
                Some(arg) => format!("{n}({arg})"),
                None => n.to_string(),
            });
            format!("the inits are {}", code_list(all))
        }
    };
    cx.error(name.span(), format!("unknown init `{name}`; {hint}"));
}

// ---------------------------------------------------------------------------------------------
// Values

/// A non-negative integer literal.
pub fn integer(value: &ast::Value) -> Option<u64> {
    match value {
        ast::Value::Lit {
            minus: None,
            lit: Lit::Int(int),
        } if int.suffix().is_empty() => int.base10_parse().ok(),
        _ => None,
    }
}

/// An integer `n` (meaning `(n, n)`) or a pair `(h, w)` of integers.
pub fn pair(value: &ast::Value) -> Option<Hw> {
    match value {
        ast::Value::Tuple { elems, .. } => match elems.iter().collect::<Vec<_>>()[..] {
            [h, w] => Some((integer(h)?, integer(w)?)),
            _ => None,
        },
        _ => integer(value).map(|n| (n, n)),
    }
}

fn is_same(value: &ast::Value) -> bool {
    is_ident(value, "same")
}

/// TensorFlow's `SAME` padding, under ONNX's precise name.
const SAME_UPPER: &str = "same_upper";

fn is_ident(value: &ast::Value, name: &str) -> bool {
    matches!(value, ast::Value::Ident(ident) if ident == name)
}

/// `n`, `(h, w)` (both sides alike) or `((top, bottom), (left, right))`.
fn padding(value: &ast::Value) -> Option<Typed> {
    if let ast::Value::Tuple { elems, .. } = value {
        if let [ast::Value::Tuple { elems: h, .. }, ast::Value::Tuple { elems: w, .. }] =
            elems.iter().collect::<Vec<_>>()[..]
        {
            let side = |e: &Punctuated<ast::Value, Token![,]>| match e.iter().collect::<Vec<_>>()[..]
            {
                [a, b] => Some((integer(a)?, integer(b)?)),
                _ => None,
            };
            let ((top, bottom), (left, right)) = (side(h)?, side(w)?);
            return Some(Typed::Pad(Pad {
                top,
                bottom,
                left,
                right,
            }));
        }
    }
    pair(value).map(Typed::Hw)
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
pub fn number(value: &ast::Value) -> Option<f64> {
    let (minus, x) = match value {
        ast::Value::Lit {
            minus,
            lit: Lit::Int(int),
        } if int.suffix().is_empty() => (minus.is_some(), int.base10_parse::<f64>().ok()?),
        ast::Value::Lit {
            minus,
            lit: Lit::Float(float),
        } if float.suffix().is_empty() => (minus.is_some(), float.base10_parse::<f64>().ok()?),
        _ => return None,
    };
    let x = if minus { -x } else { x };
    x.is_finite().then_some(x)
}

/// The type suffix of a number literal (`u8` of `300u8`), when it has one: the DSL's numbers
/// are plain, and a suffix would silently say something else (`300u8` does not fit a `u8`).
pub fn literal_suffix(value: &ast::Value) -> Option<&str> {
    let suffix = match value {
        ast::Value::Lit {
            lit: Lit::Int(int), ..
        } => int.suffix(),
        ast::Value::Lit {
            lit: Lit::Float(float),
            ..
        } => float.suffix(),
        _ => "",
    };
    (!suffix.is_empty()).then_some(suffix)
}

/// `5` or `(3, 5)`, as the user would write it.
pub fn show(hw: Hw) -> String {
    if hw.0 == hw.1 {
        hw.0.to_string()
    } else {
        format!("({}, {})", hw.0, hw.1)
    }
}
