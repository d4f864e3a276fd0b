//! Pooling on a vector input.
use stacknet::prelude::*;

network! {
    struct Net(input: [64]) {
        max_pool2d(2),
        global_avg_pool2d,
    }
}

fn main() {}
