//! An unknown init scheme, with a did-you-mean.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(4, init = he),
        dense(4, init = kaiming_normal),
        dense(4, init = xavier),
    }
}

fn main() {}
