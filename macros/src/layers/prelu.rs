//! `prelu(init = 0.25)`: x for x > 0, a·x otherwise, with a learned slope a per channel
//! (per feature for a vector), PyTorch's `nn.PReLU(num_parameters = channels)`.

use super::{float, int, len, Int8, Kind, Lower, Lowered, New, Op, Role, Tensor};
use crate::bind::{opt, Signature, Type};
use quote::quote;

pub const PRELU: Kind = Kind {
    sig: Signature {
        name: "prelu",
        params: &[opt("init", Type::Number, "0.25")],
        example: "prelu(init = 0.25)",
    },
    lower,
};

fn lower(l: &mut Lower) -> Lowered {
    let (Some(init), Some((c, s)), Some(input)) =
        (l.args.number("init", Some(0.25)), l.per_channel(), l.input)
    else {
        return l.elementwise(None);
    };
    let tensors = vec![Tensor::matrix("weight", &[c])]; // one slope per channel
    let (rt, n, c, s, init) = (l.rt, len(input), int(c), int(s), float(init));
    l.elementwise(Some(Op {
        ty: quote!(#rt::layers::PRelu<T, #c, #s, #n>),
        new: New::Value(quote!(#rt::layers::PRelu::new(#init))),
        in_place: false,
        state: false,
        random: false,
        batch: false,
        role: Role::Activation { he: true },
        tensors,
        constant: quote!(#rt::layers::PRelu { weight: __t0 }),
        int8: Int8::None,
    }))
}
