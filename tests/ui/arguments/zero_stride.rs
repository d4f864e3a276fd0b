//! A zero stride.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 8, 8]) {
        max_pool2d(2, stride = 0),
    }
}

fn main() {}
