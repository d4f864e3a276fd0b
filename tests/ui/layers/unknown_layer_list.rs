//! An unknown layer with no near match lists the layers.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        transformer(4),
    }
}

fn main() {}
