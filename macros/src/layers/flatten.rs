//! `flatten`: `[c, h, w]` → `[c·h·w]`, the same values in the same order (a vector stays as
//! it is). It runs in place: there is nothing to move.

use super::{len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::Signature;
use crate::shape;
use quote::quote;

pub const FLATTEN: Kind = Kind {
    sig: Signature {
        name: "flatten",
        params: &[],
        example: "flatten",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let Some(input) = l.input else {
        return Lowered::lost();
    };
    match shape::flatten(input) {
        Ok(output) => {
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
        Err(mismatch) => {
            l.mismatch(mismatch);
            Lowered::lost()
        }
    }
}
