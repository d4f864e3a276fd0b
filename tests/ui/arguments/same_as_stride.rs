//! `same` is only a padding.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6, kernel = 3, stride = same),
    }
}

fn main() {}
