//! A network without layers.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {}
}

fn main() {}
