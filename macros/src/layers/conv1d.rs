//! `conv1d(out_channels, kernel, stride = 1, padding = 0, dilation = 1, groups = 1, bias = true,
//! init = …)` over time: `[steps, channels]` → `[out_steps, out_channels]`, PyTorch's
//! `nn.Conv1d` with the features of a step as its channels.
//!
//! Sequences are stored step-major, the transpose of PyTorch's `[channels, length]`
//! activations; the weights keep PyTorch's `[out_channels, channels / groups, kernel]`. Padding
//! is a number, `(left, right)`, `same` (stride 1, output the input's length) or `same_upper`
//! (TensorFlow's `SAME`: output ⌈L / s⌉, the odd padding at the end).

use super::{int, len, mul, tensor, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, req, Padding, Signature, Type};
use crate::shape::{self, Shape};
use quote::quote;

pub const CONV1D: Kind = Kind {
    sig: Signature {
        name: "conv1d",
        params: &[
            req("out_channels", Type::Size),
            req("kernel", Type::Size),
            opt("stride", Type::Size, "1"),
            opt("padding", Type::Padding1d, "0"),
            opt("dilation", Type::Size, "1"),
            opt("groups", Type::Size, "1"),
            opt("bias", Type::Bool, "true"),
            opt("init", Type::Init, "he_uniform or xavier_uniform"),
        ],
        example: "conv1d(16, kernel = 3)",
    },
    lower,
};

/// An optional size: its default when absent, `None` when invalid (reported already).
fn size_or(l: &Lower, name: &str, default: u64) -> Option<u64> {
    l.args
        .size(name)
        .or((!l.args.given(name)).then_some(default))
}

fn lower(l: &mut Lower) -> Lowered {
    let parts = (
        l.args.size("out_channels"),
        l.args.size("kernel"),
        size_or(l, "stride", 1),
        l.args.padding1d("padding"),
        size_or(l, "dilation", 1),
        size_or(l, "groups", 1),
    );
    let (
        Some(out_channels),
        Some(kernel),
        Some(stride),
        Some(padding),
        Some(dilation),
        Some(groups),
    ) = parts
    else {
        return Lowered::lost();
    };
    let Some((steps, c)) = l.sequence() else {
        return Lowered::lost();
    };
    let padding = match padding {
        Padding::Explicit(pad) => Ok((pad.left, pad.right)),
        Padding::Same => {
            shape::same_padding((1, kernel), (1, stride), (1, dilation)).map(|(_, p)| (p, p))
        }
        Padding::SameUpper => {
            shape::same_upper_padding((1, steps), (1, kernel), (1, stride), (1, dilation))
                .map(|pad| (pad.left, pad.right))
        }
    };
    let conv = padding.and_then(|padding| {
        let conv = shape::Conv1d {
            out_channels,
            kernel,
            stride,
            padding,
            dilation,
            groups,
        };
        shape::conv1d(Shape::Sequence { steps, features: c }, &conv).map(|out| (conv, out))
    });
    let (conv, output) = match conv {
        Ok(found) => found,
        Err(mismatch) => {
            l.mismatch(mismatch);
            return Lowered::lost();
        }
    };
    let Shape::Sequence {
        steps: out_steps, ..
    } = output
    else {
        return Lowered::lost();
    };
    let rt = l.rt;
    let dims = [
        steps,
        c,
        out_channels,
        kernel,
        stride,
        conv.padding.0,
        conv.padding.1,
        dilation,
        groups,
        out_steps,
    ]
    .map(int);
    let k = int(mul(&[c / groups, kernel]));
    let (n, o, bias) = (
        len(Shape::Sequence { steps, features: c }),
        len(output),
        l.args.flag("bias", true),
    );
    let op = Op {
        ty: quote!(#rt::layers::Conv1d<T, #(#dims,)* #k, #n, #o, #bias>),
        new: New::Init {
            ctor: quote!(#rt::layers::Conv1d::new),
            explicit: l.args.init("init"),
        },
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Mixing,
        tensors: tensor::weight_bias(&[out_channels, c / groups, kernel], bias),
        constant: tensor::weight_bias_constant(quote!(#rt::layers::Conv1d), bias),
        int8: Int8::None,
    };
    Lowered::ok(op, output)
}
