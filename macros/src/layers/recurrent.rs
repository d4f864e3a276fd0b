//! `rnn(hidden, nonlinearity = tanh, sequences = false, bidirectional = false)`, `gru(hidden,
//! …)` and `lstm(hidden, …)`: PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM` (one layer,
//! `batch_first`) over `[steps, features]`.
//!
//! With `sequences = true` the output is every step's hidden state, `[steps, d·hidden]`;
//! otherwise the final state of each direction, `[d·hidden]` (d = 2 when bidirectional, the
//! forward direction's first, as PyTorch orders `h_n`). Stacking is writing two layers.
//! Parameters are initialised U(−1/√hidden, 1/√hidden), as PyTorch does.

use super::{int, len, Decode, Int8, Kind, Lower, Lowered, New, Op, Role, Tensor, TensorRole};
use crate::bind::{opt, req, Init, Signature, Type};
use crate::shape::{self, Shape};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub const RNN: Kind = Kind {
    sig: Signature {
        name: "rnn",
        params: &[
            req("hidden", Type::Size),
            opt("nonlinearity", Type::Nonlinearity, "tanh"),
            opt("sequences", Type::Bool, "false"),
            opt("bidirectional", Type::Bool, "false"),
            opt("init", Type::Init, "uniform(1/√hidden)"),
        ],
        example: "rnn(64)",
    },
    lower: |l| lower(l, Cell::Rnn),
};

pub const GRU: Kind = Kind {
    sig: Signature {
        name: "gru",
        params: &[
            req("hidden", Type::Size),
            opt("sequences", Type::Bool, "false"),
            opt("bidirectional", Type::Bool, "false"),
            opt("init", Type::Init, "uniform(1/√hidden)"),
        ],
        example: "gru(64)",
    },
    lower: |l| lower(l, Cell::Gru),
};

pub const LSTM: Kind = Kind {
    sig: Signature {
        name: "lstm",
        params: &[
            req("hidden", Type::Size),
            opt("sequences", Type::Bool, "false"),
            opt("bidirectional", Type::Bool, "false"),
            opt("init", Type::Init, "uniform(1/√hidden)"),
        ],
        example: "lstm(128)",
    },
    lower: |l| lower(l, Cell::Lstm),
};

#[derive(Clone, Copy)]
enum Cell {
    Rnn,
    Gru,
    Lstm,
}

impl Cell {
    /// The runtime type's name.
    fn ty(self, rt: &TokenStream) -> TokenStream {
        match self {
            Cell::Rnn => quote!(#rt::layers::Rnn),
            Cell::Gru => quote!(#rt::layers::Gru),
            Cell::Lstm => quote!(#rt::layers::Lstm),
        }
    }

    /// Gates stacked in the weight matrices: PyTorch's `[gates·hidden, in]`.
    fn gates(self) -> u64 {
        match self {
            Cell::Rnn => 1,
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }
}

fn lower(l: &mut Lower, cell: Cell) -> Lowered {
    let Some(hidden) = l.args.size("hidden") else {
        return Lowered::lost();
    };
    let Some(relu) = l
        .args
        .word("nonlinearity", "tanh")
        .map(|word| word == "relu")
    else {
        return Lowered::lost();
    };
    let (sequences, bidirectional) = (
        l.args.flag("sequences", false),
        l.args.flag("bidirectional", false),
    );
    let directions = if bidirectional { 2 } else { 1 };
    let Some((steps, features)) = l.sequence() else {
        return Lowered::lost();
    };
    let input = Shape::Sequence { steps, features };
    let output = match shape::recurrent(input, hidden, directions, sequences) {
        // The weights are [gates·hidden, max(in, hidden)]: that count must fit as well.
        Ok(output)
            if hidden
                .checked_mul(cell.gates())
                .and_then(|rows| rows.checked_mul(hidden.max(features)))
                .is_some() =>
        {
            output
        }
        Ok(_) | Err(_) => {
            l.mismatch(shape::Mismatch::TooLarge);
            return Lowered::lost();
        }
    };
    let rt = l.rt;
    let name = cell.ty(rt);
    let dims = [steps, features, hidden, directions].map(int);
    let (n, o) = (len(input), len(output));
    let ty = match cell {
        Cell::Rnn => quote!(#name<T, #(#dims,)* #sequences, #n, #o, #relu>),
        _ => quote!(#name<T, #(#dims,)* #sequences, #n, #o>),
    };
    // Per direction: weight_ih [G·H, IN], weight_hh [G·H, H], bias_ih and bias_hh [G·H],
    // held as [[[T; IN]; H]; G] and [[T; H]; G].
    let rows = cell.gates().saturating_mul(hidden);
    let mut tensors = Vec::new();
    let mut directions_constant = Vec::new();
    for (d, suffix) in ["", "_reverse"]
        .iter()
        .take(directions as usize)
        .enumerate()
    {
        let named = |name: &str, dims: &[u64], decode| {
            Tensor::new(
                format!("{name}_l0{suffix}"),
                dims,
                TensorRole::Param,
                decode,
            )
        };
        tensors.push(named("weight_ih", &[rows, features], Decode::Array3));
        tensors.push(named("weight_hh", &[rows, hidden], Decode::Array3));
        tensors.push(named("bias_ih", &[rows], Decode::Array2));
        tensors.push(named("bias_hh", &[rows], Decode::Array2));
        let t = |i: usize| format_ident!("__t{}", 4 * d + i);
        let (ih, hh, bih, bhh) = (t(0), t(1), t(2), t(3));
        directions_constant.push(quote!(#rt::layers::recurrent::Direction {
            weight_ih: #ih,
            weight_hh: #hh,
            bias_ih: #bih,
            bias_hh: #bhh,
        }));
    }
    let bound = 1.0 / (hidden as f64).sqrt();
    let op = Op {
        ty,
        new: New::Init {
            ctor: quote!(#rt::init::filled::<T, _>),
            explicit: Some(l.args.init("init").unwrap_or(Init::Uniform(bound))),
        },
        in_place: false,
        state: true,
        random: false,
        batch: false,
        role: Role::Mixing,
        tensors,
        constant: quote!(#name { dirs: [#(#directions_constant),*] }),
        int8: Int8::None,
    };
    Lowered::ok(op, output)
}
