//! Token ids are indices: they must be embedded before any other layer reads them.
use stacknet::prelude::*;

network! {
    struct Net(tokens: [5]) {
        dense(3),
    }
}

fn main() {}
