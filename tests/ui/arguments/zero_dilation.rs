//! A zero dilation.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 8, 8]) {
        conv2d(4, kernel = 3, dilation = 0),
    }
}

fn main() {}
