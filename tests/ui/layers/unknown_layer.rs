//! An unknown layer, with a did-you-mean.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2(6, kernel = 5),
        relu,
    }
}

fn main() {}
