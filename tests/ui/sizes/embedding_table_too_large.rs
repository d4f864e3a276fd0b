//! The table of 2^32 × 2^32 values overflows: refused on `vocab`.
use stacknet::prelude::*;

network! {
    struct Net(tokens: [4]) {
        embedding(4294967296, 4294967296),
    }
}

fn main() {}
