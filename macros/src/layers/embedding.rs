//! `embedding(vocab, dim, init = normal(1))`: `tokens [steps]` → `[steps, dim]`, row `id` of a
//! `[vocab, dim]` table for each token id (PyTorch's `nn.Embedding`, initialised N(0, 1) as
//! there). It reads token ids, so it is the first layer of a `tokens: [steps]` network.

use super::{int, len, Int8, Kind, Lower, Lowered, New, Op, Role, Tensor};
use crate::bind::{opt, req, Init, Signature, Type};
use crate::shape::{self, Shape};
use quote::quote;

pub const EMBEDDING: Kind = Kind {
    sig: Signature {
        name: "embedding",
        params: &[
            req("vocab", Type::Size),
            req("dim", Type::Size),
            opt("init", Type::Init, "normal(1)"),
        ],
        example: "embedding(vocab = 65, dim = 16)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let (Some(vocab), Some(dim)) = (l.args.size("vocab"), l.args.size("dim")) else {
        return Lowered::lost();
    };
    let Some(input) = l.input else {
        return Lowered::lost();
    };
    let output = match shape::embedding(input, dim) {
        Ok(output) => output,
        Err(mismatch) => {
            l.mismatch(mismatch);
            return Lowered::lost();
        }
    };
    if vocab.checked_mul(dim).and_then(shape::bounded).is_none() {
        let message = format!(
            "the table of `embedding` is too large: {vocab}×{dim} is {}",
            shape::MAX_VALUES_NOTE
        );
        l.error_at("vocab", message);
        return Lowered::lost();
    }
    let Shape::Tokens { steps } = input else {
        return Lowered::lost();
    };
    let (rt, o) = (l.rt, len(output));
    let tensors = vec![Tensor::matrix("weight", &[vocab, dim])];
    let (steps, vocab, dim) = (int(steps), int(vocab), int(dim));
    let op = Op {
        ty: quote!(#rt::layers::Embedding<T, #steps, #vocab, #dim, #o>),
        new: New::Init {
            ctor: quote!(#rt::layers::Embedding::new),
            explicit: Some(l.args.init("init").unwrap_or(Init::Normal(1.0))),
        },
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Mixing,
        tensors,
        constant: quote!(#rt::layers::Embedding { weight: __t0 }),
        int8: Int8::None,
    };
    Lowered::ok(op, output)
}
