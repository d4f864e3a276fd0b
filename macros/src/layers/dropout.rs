//! `dropout(p)`: zeroes each value with probability p in training and scales the kept ones by
//! 1/(1 − p); the identity in inference. The shape is kept.

use super::{float, len, Kind, Lower, Lowered, New, Op, Role};
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
        params: 0,
    }))
}

/// Dropout scales the kept units by 1/(1 − p), so p is in [0, 1): p = 1 would drop every unit
/// and divide by zero.
fn probability(l: &mut Lower, p: f64) -> bool {
    let ok = (0.0..1.0).contains(&p);
    if let (false, Some(value)) = (ok, l.args.value("p")) {
        let hint = if p >= 1.0 {
            "; p = 1 would drop every unit"
        } else {
            ""
        };
        l.cx.error_spanned(
            value,
            format!("`p` of `dropout` must be in [0, 1), found {value}{hint}"),
        );
    }
    ok
}
