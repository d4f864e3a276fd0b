//! `global_avg_pool2d` and `global_max_pool2d`: `[c, h, w]` → `[c]`, one value per channel.

use super::{int, len, mul, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::Signature;
use crate::shape::{self, Shape};
use quote::quote;

pub const GLOBAL_AVG_POOL2D: Kind = Kind {
    sig: Signature {
        name: "global_avg_pool2d",
        params: &[],
        example: "global_avg_pool2d",
    },
    lower: |l| lower(l, false),
};

pub const GLOBAL_MAX_POOL2D: Kind = Kind {
    sig: Signature {
        name: "global_max_pool2d",
        params: &[],
        example: "global_max_pool2d",
    },
    lower: |l| lower(l, true),
};

fn lower(l: &mut Lower, max: bool) -> Lowered {
    let Some(input) = l.input else {
        return Lowered::lost();
    };
    let output = match shape::global_pool2d(input) {
        Ok(output) => output,
        Err(mismatch) => {
            l.mismatch(mismatch);
            return Lowered::lost();
        }
    };
    let (Shape::Image { c, h, w }, Shape::Vector(_)) = (input, output) else {
        return Lowered::lost();
    };
    let (rt, n, channels, positions) = (l.rt, len(input), int(c), int(mul(&[h, w])));
    let name = if max {
        quote!(GlobalMaxPool2d)
    } else {
        quote!(GlobalAvgPool2d)
    };
    let op = Op {
        ty: quote!(#rt::layers::#name<#channels, #positions, #n>),
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
