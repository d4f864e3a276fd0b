//! Batch norm momentum outside [0, 1].
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(8), batch_norm(momentum = 1.5),
    }
}

fn main() {}
