//! More positional arguments than parameters.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(4, true, he_uniform, 7),
        relu(0.1),
    }
}

fn main() {}
