//! `units` fits `u64`, the output's bytes do not fit `isize`: refused on the layer.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dense(18446744073709551615),
    }
}

fn main() {}
