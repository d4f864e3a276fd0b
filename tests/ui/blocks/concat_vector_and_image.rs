//! A vector branch beside an image branch.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 4, 4]) {
        concat { flatten, {} },
    }
}

fn main() {}
