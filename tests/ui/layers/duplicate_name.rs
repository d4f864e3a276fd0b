//! Two layers with the same field name.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        fc: dense(8), relu,
        fc: dense(2),
    }
}

fn main() {}
