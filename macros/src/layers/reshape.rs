//! `reshape(d0, d1, d2)`: the same values read as another shape of as many elements, with
//! nothing moved: `[n]`, `[steps, features]` or `[channels, height, width]` by how many sizes
//! are given. `reshape(28, 28)` reads a `[1, 28, 28]` image's rows as 28 steps.

use super::{len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, req, Signature, Type};
use crate::shape::Shape;
use quote::quote;

pub const RESHAPE: Kind = Kind {
    sig: Signature {
        name: "reshape",
        params: &[
            req("d0", Type::Size),
            opt("d1", Type::Size, "none"),
            opt("d2", Type::Size, "none"),
        ],
        example: "reshape(28, 28)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let dims = ["d0", "d1", "d2"].map(|name| (l.args.given(name), l.args.size(name)));
    let output = match dims {
        [(_, Some(n)), (false, _), (false, _)] => Shape::Vector(n),
        [(_, Some(steps)), (_, Some(features)), (false, _)] => Shape::Sequence { steps, features },
        [(_, Some(c)), (_, Some(h)), (_, Some(w))] => Shape::Image { c, h, w },
        _ => return Lowered::lost(),
    };
    let Some(input) = l.numbers() else {
        return Lowered::lost();
    };
    if output.len().is_none() || output.len() != input.len() {
        let message = format!(
            "`reshape` keeps the number of values: the input {input} has {}, the shape {output} has {}",
            input.len().unwrap_or(u64::MAX),
            output
                .len()
                .map_or("more than 64 bits can count".to_string(), |n| n.to_string())
        );
        l.error(message);
        return Lowered {
            op: None,
            output: Some(output),
        };
    }
    let (rt, n) = (l.rt, len(input));
    let op = Op {
        ty: quote!(#rt::layers::Flatten<#n>),
        new: New::Value(quote!(#rt::layers::Flatten)),
        in_place: true,
        state: false,
        random: false,
        batch: false,
        role: Role::Transparent,
        tensors: Vec::new(),
        constant: quote!(#rt::layers::Flatten),
        int8: Int8::Identity,
    };
    Lowered::ok(op, output)
}
