//! Element-wise activations (`relu`, `gelu`, `leaky_relu(slope)`, …) and `softmax`: the shape
//! is kept. The element-wise ones are the runtime's `Activation<F, N>` over an `f`/`df` pair
//! and run in place; softmax's backward needs its output, so it has a buffer of its own.

use super::{float, len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, Signature, Type};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

/// A parameter-free element-wise activation: its name and runtime function type.
macro_rules! simple {
    ($kind:ident, $name:literal, $f:ident, he = $he:literal) => {
        pub const $kind: Kind = Kind {
            sig: Signature {
                name: $name,
                params: &[],
                example: $name,
            },
            lower: |l| {
                let rt = l.rt;
                elementwise(
                    l,
            quote!(#rt::layers::$f),
            quote!(#rt::layers::$f),
                    None,
                    $he,
                )
            },
        };
    };
}

simple!(RELU, "relu", Relu, he = true);
simple!(SIGMOID, "sigmoid", Sigmoid, he = false);
simple!(TANH, "tanh", Tanh, he = false);
simple!(RELU6, "relu6", Relu6, he = true);
simple!(SELU, "selu", Selu, he = false);
simple!(SILU, "silu", Silu, he = false);
simple!(HARD_SIGMOID, "hard_sigmoid", HardSigmoid, he = false);
simple!(HARD_SWISH, "hard_swish", HardSwish, he = false);

pub const ELU: Kind = Kind {
    sig: Signature {
        name: "elu",
        params: &[opt("alpha", Type::Number, "1.0")],
        example: "elu(alpha = 1.0)",
    },
    lower: |l| {
        let Some(alpha) = l.args.number("alpha", Some(1.0)) else {
            return l.elementwise(None);
        };
        let (rt, alpha) = (l.rt, float(alpha));
        elementwise(
            l,
            quote!(#rt::layers::Elu<T>),
            quote!(#rt::layers::Elu::new(#alpha)),
            Some(quote!(#rt::layers::Elu { alpha: #alpha as T })),
            false,
        )
    },
};

/// `softplus(beta = 1, threshold = 20)`: (1/β)·log(1 + e^(βx)), linear above the threshold.
pub const SOFTPLUS: Kind = Kind {
    sig: Signature {
        name: "softplus",
        params: &[
            opt("beta", Type::Number, "1.0"),
            opt("threshold", Type::Number, "20.0"),
        ],
        example: "softplus(beta = 1.0)",
    },
    lower: |l| {
        let beta = l
            .args
            .number("beta", Some(1.0))
            .filter(|&beta| beta_positive(l, beta));
        let threshold = l.args.number("threshold", Some(20.0));
        let (Some(beta), Some(threshold)) = (beta, threshold) else {
            return l.elementwise(None);
        };
        let (rt, beta, threshold) = (l.rt, float(beta), float(threshold));
        elementwise(
            l,
            quote!(#rt::layers::Softplus<T>),
            quote!(#rt::layers::Softplus::new(#beta, #threshold)),
            Some(quote!(#rt::layers::Softplus { beta: #beta as T, threshold: #threshold as T })),
            false,
        )
    },
};

/// Softplus divides by β and its slope is σ(βx): β = 0 divides by zero, and a negative β
/// turns it into a decreasing function no network means.
fn beta_positive(l: &mut Lower, beta: f64) -> bool {
    let ok = beta > 0.0;
    if let (false, Some(value)) = (ok, l.args.value("beta")) {
        l.cx.error_spanned(
            value,
            format!("`beta` of `softplus` must be positive, found {value}"),
        );
    }
    ok
}

/// `gelu(approximate = false)`: x·Φ(x) with the exact Φ, or PyTorch's tanh approximation.
pub const GELU: Kind = Kind {
    sig: Signature {
        name: "gelu",
        params: &[opt("approximate", Type::Bool, "false")],
        example: "gelu(approximate = true)",
    },
    lower: |l| {
        let rt = l.rt;
        let f = if l.args.flag("approximate", false) {
            quote!(#rt::layers::GeluTanh)
        } else {
            quote!(#rt::layers::Gelu)
        };
        elementwise(l, f.clone(), f, None, false)
    },
};

pub const LEAKY_RELU: Kind = Kind {
    sig: Signature {
        name: "leaky_relu",
        params: &[opt("slope", Type::Number, "0.01")],
        example: "leaky_relu(slope = 0.1)",
    },
    lower: |l| {
        let Some(slope) = l.args.number("slope", Some(0.01)) else {
            return l.elementwise(None);
        };
        let (rt, slope) = (l.rt, float(slope));
        elementwise(
            l,
            quote!(#rt::layers::LeakyRelu<T>),
            quote!(#rt::layers::LeakyRelu::new(#slope)),
            Some(quote!(#rt::layers::LeakyRelu { slope: #slope as T })),
            true,
        )
    },
};

pub const SOFTMAX: Kind = Kind {
    sig: Signature {
        name: "softmax",
        params: &[],
        example: "softmax",
    },
    lower: |l| {
        let Some(input) = l.numbers() else {
            return Lowered::lost();
        };
        if let Shape::Sequence { .. } = input {
            let message = format!("`softmax` over a sequence {input} would normalise across all of its steps at once; end the network with the logits and train with `SequenceCrossEntropy`, which takes the softmax of each step");
            l.error(message);
            return l.elementwise(None);
        }
        let (rt, n) = (l.rt, len(input));
        l.elementwise(Some(Op {
            ty: quote!(#rt::layers::Softmax<#n>),
            new: New::Value(quote!(#rt::layers::Softmax)),
            in_place: false,
            state: false,
            random: false,
            batch: false,
            role: Role::Activation { he: false },
            tensors: Vec::new(),
            constant: quote!(#rt::layers::Softmax),
            int8: Int8::None,
        }))
    },
};

/// `Activation<f, N>` built from `f`'s value (`constant` when `value` is not a constant
/// expression): in place, and He-initialised before if `he`.
fn elementwise(
    l: &mut Lower,
    f: TokenStream,
    value: TokenStream,
    constant: Option<TokenStream>,
    he: bool,
) -> Lowered {
    let Some(input) = l.numbers() else {
        return Lowered::lost();
    };
    let (rt, n) = (l.rt, len(input));
    // The activations with an int8 form: a clamp at the zero point (and at q(6)).
    let constant = constant.unwrap_or_else(|| value.clone());
    let int8 = match l.sig.name {
        "relu" | "relu6" => Int8::Clamp,
        _ => Int8::None,
    };
    l.elementwise(Some(Op {
        ty: quote!(#rt::layers::Activation<#f, #n>),
        new: New::Value(quote!(#rt::layers::Activation(#value))),
        in_place: true,
        state: false,
        random: false,
        batch: false,
        role: Role::Activation { he },
        tensors: Vec::new(),
        constant: quote!(#rt::layers::Activation(#constant)),
        int8,
    }))
}
