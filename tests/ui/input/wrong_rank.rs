//! Inputs are `[n]` or `[c, h, w]`.
use stacknet::prelude::*;

network! {
    struct Net(input: [28, 28]) {
        flatten,
        dense(10),
    }
}

fn main() {}
