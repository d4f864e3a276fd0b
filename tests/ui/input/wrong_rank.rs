//! Inputs are `[n]`, `[steps, features]` or `[c, h, w]`.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 1, 28, 28]) {
        flatten,
        dense(10),
    }
}

fn main() {}
