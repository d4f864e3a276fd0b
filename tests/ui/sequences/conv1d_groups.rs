//! groups must divide the channels.
use stacknet::prelude::*;

network! {
    struct Net(input: [16, 6]) {
        conv1d(4, kernel = 3, groups = 4),
    }
}

fn main() {}
