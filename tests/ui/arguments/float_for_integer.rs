//! A float where a size is expected.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(2.5),
    }
}

fn main() {}
