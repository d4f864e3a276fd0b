//! Blocks without a body.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        residual,
        repeat(2),
    }
}

fn main() {}
