//! The struct header must give the input shape.
use stacknet::prelude::*;

network! {
    struct Net {
        dense(8),
    }
}

fn main() {}
