//! An unknown argument, with a did-you-mean.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6, kernel = 5, strides = 2),
    }
}

fn main() {}
