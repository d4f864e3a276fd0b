//! An item that does not parse is set aside up to the next comma, and checking goes on with
//! the items after it, inside blocks too.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dense(4 5),
        relu,
        residual { 7, dense(0) },
    }
}

fn main() {}
