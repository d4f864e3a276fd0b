//! A convolution after `flatten`.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        flatten,
        conv2d(6, kernel = 5),
    }
}

fn main() {}
