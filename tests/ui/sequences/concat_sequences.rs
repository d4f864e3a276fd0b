//! concat joins planar blocks; a sequence's features are interleaved.
use stacknet::prelude::*;

network! {
    struct Net(input: [8, 3]) {
        concat { { dense(4) }, { dense(2) } },
    }
}

fn main() {}
