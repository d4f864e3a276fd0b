//! A zero kernel, in one axis of a pair.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 8, 8]) {
        conv2d(4, kernel = (3, 0)),
    }
}

fn main() {}
