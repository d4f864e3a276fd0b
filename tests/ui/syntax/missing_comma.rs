//! A missing comma between layers is a syntax error on the next token.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dense(8) relu,
    }
}

fn main() {}
