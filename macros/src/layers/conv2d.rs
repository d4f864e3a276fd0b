//! `conv2d(out_channels, kernel, stride = 1, padding = 0, dilation = 1, groups = 1, bias = true,
//! init = …)`: `[c, h, w]` → `[out_channels, oh, ow]`, PyTorch's cross-correlation.
//!
//! Padding is a number, `(h, w)`, `((top, bottom), (left, right))`, `same` (PyTorch's: stride 1,
//! output the input's size) or `same_upper` (TensorFlow's `SAME` at any stride: output ⌈i / s⌉,
//! the odd padding at the bottom and right). `groups = in_channels` is a depthwise convolution.

use super::{int, len, mul, tensor, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, req, Padding, Signature, Type};
use crate::shape::{self, Shape};
use quote::quote;

pub const CONV2D: Kind = Kind {
    sig: Signature {
        name: "conv2d",
        params: &[
            req("out_channels", Type::Size),
            req("kernel", Type::Size2),
            opt("stride", Type::Size2, "1"),
            opt("padding", Type::Padding, "0"),
            opt("dilation", Type::Size2, "1"),
            opt("groups", Type::Size, "1"),
            opt("bias", Type::Bool, "true"),
            opt("init", Type::Init, "he_uniform or xavier_uniform"),
        ],
        example: "conv2d(16, kernel = 3)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let parts = (
        l.args.size("out_channels"),
        l.args.required_hw("kernel"),
        l.args.hw("stride", (1, 1)),
        l.args.padding("padding"),
        l.args.hw("dilation", (1, 1)),
        l.args
            .size("groups")
            .or((!l.args.given("groups")).then_some(1)),
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
    let Some((c, h, w)) = l.image() else {
        return Lowered::lost();
    };
    let padding = match padding {
        Padding::Explicit(padding) => Ok(padding),
        Padding::Same => shape::same_padding(kernel, stride, dilation).map(shape::Pad::symmetric),
        Padding::SameUpper => shape::same_upper_padding((h, w), kernel, stride, dilation),
    };
    let conv = padding.and_then(|padding| {
        let conv = shape::Conv2d {
            out_channels,
            kernel,
            stride,
            padding,
            dilation,
            groups,
        };
        shape::conv2d(Shape::Image { c, h, w }, &conv).map(|output| (conv, output))
    });
    let (conv, output) = match conv {
        Ok(found) => found,
        Err(mismatch) => {
            l.mismatch(mismatch);
            return Lowered::lost();
        }
    };
    let Shape::Image { h: oh, w: ow, .. } = output else {
        return Lowered::lost();
    };
    let rt = l.rt;
    let (kh, kw) = conv.kernel;
    let p = conv.padding;
    let dims = [
        c,
        h,
        w,
        out_channels,
        kh,
        kw,
        conv.stride.0,
        conv.stride.1,
        p.top,
        p.bottom,
        p.left,
        p.right,
        conv.dilation.0,
        conv.dilation.1,
        groups,
        oh,
        ow,
    ]
    .map(int);
    let k = int(mul(&[c / groups, kh, kw]));
    let positions = int(mul(&[oh, ow]));
    let (n, o, bias) = (
        len(Shape::Image { c, h, w }),
        len(output),
        l.args.flag("bias", true),
    );
    let op = Op {
        ty: quote!(#rt::layers::Conv2d<T, #(#dims,)* #k, #positions, #n, #o, #bias>),
        new: New::Init {
            ctor: quote!(#rt::layers::Conv2d::new),
            explicit: l.args.init("init"),
        },
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Mixing,
        tensors: tensor::weight_bias(&[out_channels, c / groups, kh, kw], bias),
        constant: tensor::weight_bias_constant(quote!(#rt::layers::Conv2d), bias),
        int8: Int8::Rescale,
    };
    Lowered::ok(op, output)
}
