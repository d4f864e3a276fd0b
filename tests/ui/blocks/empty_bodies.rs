//! Empty `residual`, `repeat` and `concat` bodies.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        residual {},
        repeat(2) {},
        concat {},
    }
}

fn main() {}
