//! embedding reads token ids: only the first layer of a tokens network sees them.
use stacknet::prelude::*;

network! {
    struct Net(input: [5, 4]) {
        dense(8), embedding(10, 4),
    }
}

fn main() {}
