//! `dropout(p)`: zeroes each value with probability p in training and scales the kept ones by
//! 1/(1 − p); the identity in inference. The shape is kept.

use super::{float, len, Int8, Kind, Lower, Lowered, New, Op, Role};
use crate::bind::{req, Signature, Type};
use quote::quote;

pub const DROPOUT: Kind = Kind {
    sig: Signature {
        name: "dropout",
        params: &[req("p", Type::Number)],
        example: "dropout(0.5)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let p = l.args.number("p", None).filter(|&p| probability(l, p));
    let (Some(p), Some(input)) = (p, l.numbers()) else {
        return l.elementwise(None);
    };
    let (rt, n, p) = (l.rt, len(input), float(p));
    l.elementwise(Some(Op {
        ty: quote!(#rt::layers::Dropout<T, #n>),
        new: New::Value(quote!(#rt::layers::Dropout::new(#p, rng))),
        in_place: false,
        state: false,
        random: true,
        batch: false,
        role: Role::Transparent,
        tensors: Vec::new(),
        // A baked network's dropout draws from a fixed seed until `reseed`.
        constant: quote!(#rt::layers::Dropout::from_parts(#p, (1.0 / (1.0 - #p)) as T, 0)),
        int8: Int8::Identity,
    }))
}

/// Dropout scales the kept units by 1/(1 − p), so p is in [0, 1): p = 1 would drop every unit
/// and divide by zero. That holds for p as the scalar stores it: `0.99999999` is below 1 as
/// written but is 1 in `f32` (and `0.99999999999999999` already in `f64`), so the bound is
/// checked on p rounded to `f32`, the narrowest scalar a network can be built with.
fn probability(l: &mut Lower, p: f64) -> bool {
    let stored = p as f32;
    let ok = (0.0..1.0).contains(&p) && stored < 1.0;
    if let (false, Some(value)) = (ok, l.args.value("p")) {
        let written = value.to_string();
        let rounds = if p >= 1.0 && below_one(&written) {
            ", which is 1 as `f64`"
        } else if p < 1.0 && stored >= 1.0 {
            ", which is 1 as `f32`, one of the scalars the network can be built with"
        } else {
            ""
        };
        let hint = if p >= 1.0 || stored >= 1.0 {
            "; p = 1 would drop every unit"
        } else {
            ""
        };
        l.cx.error_spanned(
            value,
            format!("`p` of `dropout` must be in [0, 1), found {value}{rounds}{hint}"),
        );
    }
    ok
}

/// Whether a decimal literal as written (`0.99999999999999999`, `9.9e-1`) is below 1 exactly,
/// whatever it rounds to: no nonzero digit has a place value of 1 or more.
fn below_one(written: &str) -> bool {
    let (mantissa, exponent) = match written.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (written, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let places = (0..int.len() as i64)
        .rev()
        .chain((1..=frac.len() as i64).map(|k| -k));
    !int.chars()
        .chain(frac.chars())
        .zip(places)
        .any(|(digit, place)| digit.is_ascii_digit() && digit != '0' && place + exponent >= 0)
}
