//! A repeat that unrolls past the 10,000 layers a network may have: refused on the layer
//! too many, not unrolled until the macro runs out of memory.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        repeat(1000000000000) { relu },
    }
}

network! {
    struct Empty(input: [4]) {
        repeat(10000) { repeat(10000) { {} } },
    }
}

fn main() {}
