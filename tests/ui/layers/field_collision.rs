//! Two paths that would be one struct field.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        a_b: dense(8),
        a: { b: dense(8) },
    }
}

fn main() {}
