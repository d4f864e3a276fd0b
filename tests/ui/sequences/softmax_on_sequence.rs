//! softmax over a sequence would mix its steps.
use stacknet::prelude::*;

network! {
    struct Net(input: [10, 4]) {
        dense(3), softmax,
    }
}

fn main() {}
