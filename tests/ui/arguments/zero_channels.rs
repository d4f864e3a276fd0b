//! A convolution with zero output channels.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 8, 8]) {
        conv2d(0, kernel = 3),
    }
}

fn main() {}
