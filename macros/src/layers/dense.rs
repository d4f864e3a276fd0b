//! `dense(units, bias = true, init = …)`: `[n]` → `[units]`, y = W x + b.

use super::{len, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{opt, req, Signature, Type};
use crate::shape::{self, Shape};
use quote::quote;

pub const DENSE: Kind = Kind {
    sig: Signature {
        name: "dense",
        params: &[
            req("units", Type::Size),
            opt("bias", Type::Bool, "true"),
            opt("init", Type::Init, "he_uniform or xavier_uniform"),
        ],
        example: "dense(10)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let Some(units) = l.args.size("units") else {
        return Lowered::lost();
    };
    let output = Shape::Vector(units);
    // A wrong input does not hide the output: `dense(10)` gives `[10]` whatever came in.
    let input = match l.input.map(|input| (input, shape::dense(input, units))) {
        Some((input, Ok(_))) => input,
        Some((_, Err(mismatch))) => {
            l.mismatch(mismatch);
            return Lowered {
                op: None,
                output: Some(output),
            };
        }
        None => {
            return Lowered {
                op: None,
                output: Some(output),
            }
        }
    };
    let (rt, n, o, bias) = (l.rt, len(input), len(output), l.args.flag("bias", true));
    let op = Op {
        ty: quote!(#rt::layers::Dense<T, #n, #o, #bias>),
        new: New::Init {
            ctor: quote!(#rt::layers::Dense::new),
            explicit: l.args.init("init"),
        },
        in_place: false,
        role: Role::Mixing,
    };
    Lowered::ok(op, output)
}
