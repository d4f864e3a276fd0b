//! Token inputs are one id per step.
use stacknet::prelude::*;

network! {
    struct Net(tokens: [5, 3]) {
        embedding(10, 4),
    }
}

fn main() {}
