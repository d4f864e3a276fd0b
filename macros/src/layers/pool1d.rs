//! `max_pool1d(kernel, stride = kernel, padding = 0)` and `avg_pool1d(kernel, stride = kernel,
//! padding = 0, count_include_pad = true)` over time, per feature: `[steps, f]` →
//! `[out_steps, f]`, PyTorch's `nn.MaxPool1d` / `nn.AvgPool1d` on the transposed layout.

use super::{int, len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, req, Signature, Type};
use crate::shape::{self, Shape};
use quote::quote;

pub const MAX_POOL1D: Kind = Kind {
    sig: Signature {
        name: "max_pool1d",
        params: &[
            req("kernel", Type::Size),
            opt("stride", Type::Size, "kernel"),
            opt("padding", Type::Count, "0"),
        ],
        example: "max_pool1d(2)",
    },
    lower: |l| lower(l, false),
};

pub const AVG_POOL1D: Kind = Kind {
    sig: Signature {
        name: "avg_pool1d",
        params: &[
            req("kernel", Type::Size),
            opt("stride", Type::Size, "kernel"),
            opt("padding", Type::Count, "0"),
            opt("count_include_pad", Type::Bool, "true"),
        ],
        example: "avg_pool1d(2)",
    },
    lower: |l| lower(l, true),
};

fn lower(l: &mut Lower, average: bool) -> Lowered {
    let Some(kernel) = l.args.size("kernel") else {
        return Lowered::lost();
    };
    let stride = l
        .args
        .size("stride")
        .or((!l.args.given("stride")).then_some(kernel));
    let (Some(stride), Some(padding)) = (stride, l.args.count("padding", 0)) else {
        return Lowered::lost();
    };
    let Some((steps, f)) = l.sequence() else {
        return Lowered::lost();
    };
    let pool = shape::Pool1d {
        kernel,
        stride,
        padding,
    };
    let input = Shape::Sequence { steps, features: f };
    let output = match shape::pool1d(input, &pool) {
        Ok(output) => output,
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
    let dims = [steps, f, kernel, stride, padding, out_steps].map(int);
    let (n, o) = (len(input), len(output));
    let ty = if average {
        let count_pad = l.args.flag("count_include_pad", true);
        quote!(#rt::layers::AvgPool1d<#(#dims,)* #n, #o, #count_pad>)
    } else {
        quote!(#rt::layers::MaxPool1d<#(#dims,)* #n, #o>)
    };
    let name = if average {
        quote!(AvgPool1d)
    } else {
        quote!(MaxPool1d)
    };
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
        int8: Int8::None,
    };
    Lowered::ok(op, output)
}
