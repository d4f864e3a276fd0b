//! 2^62 values fit `u64`, but not their bytes in `isize`: refused on the input shape, not
//! later inside the runtime's constants.
use stacknet::prelude::*;

network! {
    struct Net(input: [4611686018427387904]) {
        dense(2),
    }
}

fn main() {}
