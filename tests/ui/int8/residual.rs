//! The int8 twin runs chains: a residual join has no int8 form yet.
use stacknet::prelude::*;

network! {
    #[int8]
    struct Net(input: [4]) {
        dense(4), relu,
        residual { dense(4), relu },
        dense(2),
    }
}

fn main() {}
