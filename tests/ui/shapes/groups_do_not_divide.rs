//! 6 input channels in 4 groups.
use stacknet::prelude::*;

network! {
    struct Net(input: [6, 8, 8]) {
        conv2d(8, kernel = 3, groups = 4),
    }
}

fn main() {}
