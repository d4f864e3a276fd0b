//! `last`, `mean_over_time` and `max_over_time`: a sequence `[steps, f]` reduced to the vector
//! `[f]`: its last step, or the mean or maximum of each feature over the steps.

use super::{int, len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::Signature;
use crate::shape::{self, Shape};
use proc_macro2::TokenStream;
use quote::quote;

pub const LAST: Kind = Kind {
    sig: Signature {
        name: "last",
        params: &[],
        example: "last",
    },
    lower: |l| {
        let rt = l.rt.clone();
        lower(l, quote!(#rt::layers::Last))
    },
};

pub const MEAN_OVER_TIME: Kind = Kind {
    sig: Signature {
        name: "mean_over_time",
        params: &[],
        example: "mean_over_time",
    },
    lower: |l| {
        let rt = l.rt.clone();
        lower(l, quote!(#rt::layers::MeanOverTime))
    },
};

pub const MAX_OVER_TIME: Kind = Kind {
    sig: Signature {
        name: "max_over_time",
        params: &[],
        example: "max_over_time",
    },
    lower: |l| {
        let rt = l.rt.clone();
        lower(l, quote!(#rt::layers::MaxOverTime))
    },
};

fn lower(l: &mut Lower, ty: TokenStream) -> Lowered {
    let Some((steps, f)) = l.sequence() else {
        return Lowered::lost();
    };
    let input = Shape::Sequence { steps, features: f };
    let Ok(output) = shape::over_time(input) else {
        return Lowered::lost();
    };
    let (n, steps, f) = (len(input), int(steps), int(f));
    let op = Op {
        ty: quote!(#ty<#steps, #f, #n>),
        new: New::Value(ty.clone()),
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Transparent,
        tensors: Vec::new(),
        constant: ty,
        int8: Int8::None,
    };
    Lowered::ok(op, output)
}
