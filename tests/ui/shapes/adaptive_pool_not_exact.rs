//! Adaptive pooling from 7×7 to 2×2 would need windows of different sizes.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 7, 7]) {
        adaptive_avg_pool2d((2, 2)),
    }
}

fn main() {}
