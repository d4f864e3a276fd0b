//! `bias` takes `true` or `false`.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(4, bias = 1),
    }
}

fn main() {}
