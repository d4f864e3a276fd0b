//! Blocks are planned, not built.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        residual { dense(8), relu },
    }
}

fn main() {}
