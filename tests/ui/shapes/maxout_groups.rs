//! 10 features are not groups of 3.
use stacknet::prelude::*;

network! {
    struct Net(input: [10]) {
        maxout(3),
    }
}

fn main() {}
