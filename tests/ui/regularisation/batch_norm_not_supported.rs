//! Valid batch norm: parsed and checked, not expanded yet.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(8), batch_norm(momentum = 0.1, eps = 1e-5), relu,
    }
}

fn main() {}
