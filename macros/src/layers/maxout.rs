//! `maxout(k)`: the maximum of each group of k consecutive channels (features, for a vector),
//! Goodfellow et al.'s maxout units: `[k·c, h, w]` → `[c, h, w]`, `[k·n]` → `[n]`.

use super::{int, len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{req, Signature, Type};
use crate::shape::Shape;
use quote::quote;

pub const MAXOUT: Kind = Kind {
    sig: Signature {
        name: "maxout",
        params: &[req("k", Type::Size)],
        example: "maxout(2)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let (Some(k), Some((c, s)), Some(input)) = (l.args.size("k"), l.per_channel(), l.input) else {
        return Lowered::lost();
    };
    if !c.is_multiple_of(k) {
        let what = match input {
            Shape::Image { .. } => "channels",
            _ => "features",
        };
        let message = format!(
            "`maxout({k})` takes the maximum of groups of {k} {what}, so it needs a multiple of {k}, found {c}"
        );
        l.error_at("k", message);
        return Lowered::lost();
    }
    let output = match input {
        Shape::Image { c, h, w } => Shape::Image { c: c / k, h, w },
        _ => Shape::Vector(c / k),
    };
    let (rt, n, o) = (l.rt, len(input), len(output));
    let (k, c, s) = (int(k), int(c / k), int(s));
    let op = Op {
        ty: quote!(#rt::layers::Maxout<#k, #c, #s, #n, #o>),
        new: New::Value(quote!(#rt::layers::Maxout)),
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Activation { he: false },
        tensors: Vec::new(),
        constant: quote!(#rt::layers::Maxout),
        int8: Int8::None,
    };
    Lowered::ok(op, output)
}
