//! A given name equal to an unnamed layer's generated name.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(8), relu,
        relu_1: dense(2),
    }
}

fn main() {}
