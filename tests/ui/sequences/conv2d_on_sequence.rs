//! conv2d slides over height and width; a sequence wants conv1d.
use stacknet::prelude::*;

network! {
    struct Net(input: [28, 28]) {
        conv2d(4, kernel = 3),
    }
}

fn main() {}
