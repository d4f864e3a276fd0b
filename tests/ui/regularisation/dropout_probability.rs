//! Dropout probabilities outside [0, 1).
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(8), dropout(1.0),
        dense(8), dropout(p = -0.1),
    }
}

fn main() {}
