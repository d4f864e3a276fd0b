//! Pooling padding above half the kernel.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 9, 9]) {
        max_pool2d(3, padding = 2),
    }
}

fn main() {}
