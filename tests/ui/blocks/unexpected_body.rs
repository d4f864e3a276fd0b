//! Only blocks take a body.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        dense(8) { relu },
    }
}

fn main() {}
