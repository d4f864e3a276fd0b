//! batch_norm reads channels as planes; a sequence stores features step by step.
use stacknet::prelude::*;

network! {
    struct Net(input: [10, 4]) {
        dense(8), batch_norm,
    }
}

fn main() {}
