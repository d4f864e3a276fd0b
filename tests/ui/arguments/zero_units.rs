//! A dense layer of zero units.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(0),
    }
}

fn main() {}
