//! A required argument left out.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6),
    }
}

fn main() {}
