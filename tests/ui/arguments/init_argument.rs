//! Init schemes with and without their argument.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(4, init = normal),
        dense(4, init = he_normal(2.0)),
        dense(4, init = uniform(-0.5)),
    }
}

fn main() {}
