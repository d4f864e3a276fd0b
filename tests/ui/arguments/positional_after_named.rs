//! Positional arguments come first.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6, kernel = 3, 2),
    }
}

fn main() {}
