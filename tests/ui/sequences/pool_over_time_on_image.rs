//! The pools over time read sequences.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 8, 8]) {
        max_pool1d(2),
    }
}

fn main() {}
