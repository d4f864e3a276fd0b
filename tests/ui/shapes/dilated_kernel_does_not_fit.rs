//! Dilation makes a kernel too large.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 6, 9]) {
        conv2d(2, kernel = 3, dilation = 3, padding = 0),
    }
}

fn main() {}
