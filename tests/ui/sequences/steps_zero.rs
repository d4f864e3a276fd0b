//! A sequence of zero steps holds nothing.
use stacknet::prelude::*;

network! {
    struct Net(input: [0, 4]) {
        lstm(8),
    }
}

fn main() {}
