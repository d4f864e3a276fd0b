//! Element-wise activations (`relu`, `tanh`, `leaky_relu(slope)`, …) and `softmax`: the shape
//! is kept. The element-wise ones are the runtime's `Activation<F, N>` over an `f`/`df` pair
//! and run in place; softmax's backward needs its output, so it has a buffer of its own.

use super::{float, len, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, Signature, Type};
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
                elementwise(l, quote!(#rt::layers::$f), quote!(#rt::layers::$f), $he)
            },
        };
    };
}

simple!(RELU, "relu", Relu, he = true);
simple!(SIGMOID, "sigmoid", Sigmoid, he = false);
simple!(TANH, "tanh", Tanh, he = false);

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
        let Some(input) = l.input else {
            return Lowered::lost();
        };
        let (rt, n) = (l.rt, len(input));
        l.elementwise(Some(Op {
            ty: quote!(#rt::layers::Softmax<#n>),
            new: New::Value(quote!(#rt::layers::Softmax)),
            in_place: false,
            role: Role::Activation { he: false },
        }))
    },
};

/// `Activation<f, N>` built from `f`'s value: in place, and He-initialised before if `he`.
fn elementwise(l: &mut Lower, f: TokenStream, value: TokenStream, he: bool) -> Lowered {
    let Some(input) = l.input else {
        return Lowered::lost();
    };
    let (rt, n) = (l.rt, len(input));
    l.elementwise(Some(Op {
        ty: quote!(#rt::layers::Activation<#f, #n>),
        new: New::Value(quote!(#rt::layers::Activation(#value))),
        in_place: true,
        role: Role::Activation { he },
    }))
}
