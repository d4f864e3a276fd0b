//! Branches with different spatial sizes cannot be concatenated along channels.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 8, 8]) {
        inception: concat {
            conv2d(4, kernel = 1),
            { conv2d(4, kernel = 3) },
            { max_pool2d(3, stride = 1, padding = 1) },
        },
    }
}

fn main() {}
