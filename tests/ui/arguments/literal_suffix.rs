//! Suffixed literals are refused: `300u8` does not even fit a `u8`, and `0.5f32` says a type
//! the network does not take from its arguments.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dense(300u8),
        dropout(0.5f32),
        dense(2),
    }
}

fn main() {}
