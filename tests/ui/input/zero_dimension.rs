//! An input dimension of zero.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 0, 28]) {
        flatten,
        dense(10),
    }
}

fn main() {}
