//! A recurrent layer on a vector: there are no steps.
use stacknet::prelude::*;

network! {
    struct Net(input: [64]) {
        gru(16),
    }
}

fn main() {}
