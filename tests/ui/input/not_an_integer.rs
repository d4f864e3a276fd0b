//! Input dimensions are integers.
use stacknet::prelude::*;

network! {
    struct Net(input: [2.5]) {
        dense(10),
    }
}

fn main() {}
