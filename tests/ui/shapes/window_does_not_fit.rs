//! A pooling window larger than its input.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 2, 2]) {
        avg_pool2d(3),
    }
}

fn main() {}
