//! `max_pool2d` and `avg_pool2d(kernel, stride = kernel, padding = 0, ceil_mode = false,
//! count_include_pad = true)`: `[c, h, w]` → `[c, oh, ow]`; and `adaptive_avg_pool2d(output)`
//! where it is exact, which is average pooling with windows of `input / output`.

use super::{int, len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, req, Signature, Type};
use crate::shape::{self, Pad, Pool2d, Shape};
use quote::quote;

pub const MAX_POOL2D: Kind = Kind {
    sig: Signature {
        name: "max_pool2d",
        params: &[
            req("kernel", Type::Size2),
            opt("stride", Type::Size2, "kernel"),
            opt("padding", Type::PoolPadding, "0"),
            opt("ceil_mode", Type::Bool, "false"),
        ],
        example: "max_pool2d(2)",
    },
    lower: |l| lower(l, true),
};

pub const AVG_POOL2D: Kind = Kind {
    sig: Signature {
        name: "avg_pool2d",
        params: &[
            req("kernel", Type::Size2),
            opt("stride", Type::Size2, "kernel"),
            opt("padding", Type::PoolPadding, "0"),
            opt("ceil_mode", Type::Bool, "false"),
            opt("count_include_pad", Type::Bool, "true"),
        ],
        example: "avg_pool2d(2)",
    },
    lower: |l| lower(l, false),
};

pub const ADAPTIVE_AVG_POOL2D: Kind = Kind {
    sig: Signature {
        name: "adaptive_avg_pool2d",
        params: &[req("output", Type::Size2)],
        example: "adaptive_avg_pool2d((1, 1))",
    },
    lower: adaptive,
};

fn lower(l: &mut Lower, max: bool) -> Lowered {
    let Some(kernel) = l.args.required_hw("kernel") else {
        return Lowered::lost();
    };
    let (Some(stride), Some(padding)) = (l.args.hw("stride", kernel), l.args.padding("padding"))
    else {
        return Lowered::lost();
    };
    let crate::bind::Padding::Explicit(padding) = padding else {
        return Lowered::lost();
    };
    let pool = Pool2d {
        kernel,
        stride,
        padding,
        ceil: l.args.flag("ceil_mode", false),
    };
    let count_pad = l.args.flag("count_include_pad", true);
    pooled(l, pool, max, count_pad)
}

/// PyTorch's adaptive pooling averages rows ⌊i·H/OH⌋ .. ⌈(i+1)·H/OH⌉; when OH divides H those
/// are the windows of an average pooling with kernel and stride H/OH, and otherwise windows of
/// different sizes, which this layer does not do.
fn adaptive(l: &mut Lower) -> Lowered {
    let Some((oh, ow)) = l.args.required_hw("output") else {
        return Lowered::lost();
    };
    let Some((_, h, w)) = l.image() else {
        return Lowered::lost();
    };
    if h % oh != 0 || w % ow != 0 {
        let message = format!(
            "`adaptive_avg_pool2d` to {oh}×{ow} needs an input whose height and width it divides, found {h}×{w}; its windows would differ in size"
        );
        l.error_at("output", message);
        return Lowered::lost();
    }
    let window = (h / oh, w / ow);
    let pool = Pool2d {
        kernel: window,
        stride: window,
        padding: Pad::symmetric((0, 0)),
        ceil: false,
    };
    pooled(l, pool, false, true)
}

fn pooled(l: &mut Lower, pool: Pool2d, max: bool, count_pad: bool) -> Lowered {
    let Some(input) = l.input else {
        return Lowered::lost();
    };
    let output = match shape::pool2d(input, &pool) {
        Ok(output) => output,
        Err(mismatch) => {
            l.mismatch(mismatch);
            return Lowered::lost();
        }
    };
    let (Shape::Image { c, h, w }, Shape::Image { h: oh, w: ow, .. }) = (input, output) else {
        return Lowered::lost();
    };
    let p = pool.padding;
    let dims = [
        c,
        h,
        w,
        pool.kernel.0,
        pool.kernel.1,
        pool.stride.0,
        pool.stride.1,
        p.top,
        p.bottom,
        p.left,
        p.right,
        oh,
        ow,
    ]
    .map(int);
    let (rt, n, o) = (l.rt, len(input), len(output));
    let ty = if max {
        quote!(#rt::layers::MaxPool2d<#(#dims,)* #n, #o>)
    } else {
        quote!(#rt::layers::AvgPool2d<#(#dims,)* #n, #o, #count_pad>)
    };
    let name = if max {
        quote!(MaxPool2d)
    } else {
        quote!(AvgPool2d)
    };
    let int8 = if max { Int8::Keep } else { Int8::None };
    let op = Op {
        ty,
        new: New::Value(quote!(#rt::layers::#name)),
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Transparent,
        tensors: Vec::new(),
        constant: quote!(#rt::layers::#name),
        int8,
    };
    Lowered::ok(op, output)
}
