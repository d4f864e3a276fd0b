//! `dense` on an image without `flatten`.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6, kernel = 5),
        relu,
        fc: dense(10),
    }
}

fn main() {}
