//! Zero copies of a block.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        repeat(0) { dense(8), relu },
    }
}

fn main() {}
