//! `dense(units, bias = true, init = …)`: `[n]` → `[units]`, y = W x + b. On a sequence the
//! same dense applies to every step, `[steps, n]` → `[steps, units]` (PyTorch's `nn.Linear` on
//! a `[steps, n]` tensor).

use super::{int, len, tensor, Int8, Kind, Lower, Lowered, New, Op, Role};
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
    // Per step on a sequence: the weight is [units, features] either way.
    let fan_in = match input {
        Shape::Sequence { features, .. } => features,
        _ => input.len().unwrap_or(u64::MAX),
    };
    let tensors = tensor::weight_bias(&[units, fan_in], bias);
    // The per-step dense has no int8 form yet.
    let int8 = match input {
        Shape::Sequence { .. } => Int8::None,
        _ => Int8::Rescale,
    };
    let (ty, ctor, path, output) = match input {
        Shape::Sequence { steps, features } => {
            let output = Shape::Sequence {
                steps,
                features: units,
            };
            let (o, steps, features, units) = (len(output), int(steps), int(features), int(units));
            (
                quote!(#rt::layers::TimeDense<T, #steps, #features, #units, #n, #o, #bias>),
                quote!(#rt::layers::TimeDense::new),
                quote!(#rt::layers::TimeDense),
                output,
            )
        }
        _ => (
            quote!(#rt::layers::Dense<T, #n, #o, #bias>),
            quote!(#rt::layers::Dense::new),
            quote!(#rt::layers::Dense),
            output,
        ),
    };
    let op = Op {
        ty,
        new: New::Init {
            ctor,
            explicit: l.args.init("init"),
        },
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Mixing,
        tensors,
        constant: tensor::weight_bias_constant(path, bias),
        int8,
    };
    Lowered::ok(op, output)
}
