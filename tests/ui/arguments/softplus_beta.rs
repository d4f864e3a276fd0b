//! A softplus with zero beta.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        softplus(beta = 0),
    }
}

fn main() {}
