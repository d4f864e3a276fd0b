//! Probabilities written below 1 that are 1 as the scalar stores them: dropout would divide
//! by zero, so each is refused with the type it rounds in.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dropout(0.99999999999999999),
        dropout(0.99999999),
    }
}

fn main() {}
