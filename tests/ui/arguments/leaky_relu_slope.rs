//! `leaky_relu` slope must be a number.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(4), leaky_relu(slope = fast),
    }
}

fn main() {}
