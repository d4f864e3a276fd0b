//! The body fits the first copy, not the second: the error names the copy.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 6, 6]) {
        repeat(2) { conv2d(4, kernel = 4) },
    }
}

fn main() {}
