//! Input and output fit, the weight matrix (2^32 × 2^32) does not: refused on the layer.
use stacknet::prelude::*;

network! {
    struct Net(input: [4294967296]) {
        dense(4294967296),
    }
}

fn main() {}
