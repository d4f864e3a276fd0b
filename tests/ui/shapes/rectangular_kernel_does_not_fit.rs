//! One axis of a rectangular kernel too large.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 9, 2]) {
        conv2d(2, kernel = (3, 5), padding = 1),
    }
}

fn main() {}
