//! `batch_norm(momentum = 0.1, eps = 1e-5)`: per feature after a dense layer, per channel over
//! the h·w positions of an image, with batch statistics in training (so it trains through the
//! batch path only) and running statistics in inference. The shape is kept.

use super::{
    float, int, len, Decode, Int8, Kind, Lower, Lowered, New, Op, Role, Tensor, TensorRole,
};
use crate::bind::{opt, Signature, Type};
use quote::quote;

pub const BATCH_NORM: Kind = Kind {
    sig: Signature {
        name: "batch_norm",
        params: &[
            opt("momentum", Type::Number, "0.1"),
            opt("eps", Type::Number, "1e-5"),
        ],
        example: "batch_norm(momentum = 0.1)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let momentum = l
        .args
        .number("momentum", Some(0.1))
        .filter(|&m| momentum_in_range(l, m));
    let eps = l
        .args
        .number("eps", Some(1e-5))
        .filter(|&eps| eps_positive(l, eps));
    let (Some(momentum), Some(eps), Some((c, s)), Some(input)) =
        (momentum, eps, l.per_channel(), l.input)
    else {
        return l.elementwise(None);
    };
    // PyTorch's names: γ and β are `weight` and `bias`, then the buffers.
    let tensors = vec![
        Tensor::matrix("weight", &[c]),
        Tensor::matrix("bias", &[c]),
        Tensor::new("running_mean", &[c], TensorRole::Buffer, Decode::Matrix),
        Tensor::new("running_var", &[c], TensorRole::Buffer, Decode::Matrix),
        Tensor::new("num_batches_tracked", &[], TensorRole::Count, Decode::Array),
    ];
    let (rt, n, c, s) = (l.rt, len(input), int(c), int(s));
    let (momentum, eps) = (float(momentum), float(eps));
    l.elementwise(Some(Op {
        ty: quote!(#rt::layers::BatchNorm<T, #c, #s, #n>),
        new: New::Value(quote!(#rt::layers::BatchNorm::new(#momentum, #eps))),
        in_place: false,
        state: false,
        random: false,
        batch: true,
        role: Role::Transparent,
        tensors,
        constant: quote!(#rt::layers::BatchNorm {
            gamma: __t0,
            beta: __t1,
            running_mean: __t2,
            running_var: __t3,
            num_batches_tracked: __t4,
            momentum: #momentum as T,
            eps: #eps as T,
        }),
        int8: Int8::None,
    }))
}

/// The running statistics move by `momentum` towards each batch's, so it is in [0, 1]: 0
/// freezes them, 1 keeps only the last batch, anything outside diverges.
fn momentum_in_range(l: &mut Lower, momentum: f64) -> bool {
    let ok = (0.0..=1.0).contains(&momentum);
    if let (false, Some(value)) = (ok, l.args.value("momentum")) {
        l.cx.error_spanned(
            value,
            format!("`momentum` of `batch_norm` must be in [0, 1], found {value}"),
        );
    }
    ok
}

/// Batch norm divides by √(variance + eps), so eps is positive: a constant feature would
/// otherwise divide by zero.
fn eps_positive(l: &mut Lower, eps: f64) -> bool {
    let ok = eps > 0.0;
    if let (false, Some(value)) = (ok, l.args.value("eps")) {
        l.cx.error_spanned(
            value,
            format!("`eps` of `batch_norm` must be positive, found {value}"),
        );
    }
    ok
}
