//! `same` padding with a stride above 1.
use stacknet::prelude::*;

network! {
    struct Net(input: [3, 9, 9]) {
        conv2d(4, kernel = 3, stride = 2, padding = same),
    }
}

fn main() {}
