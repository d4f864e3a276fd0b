//! A projection shortcut with the wrong channel count.
use stacknet::prelude::*;

network! {
    struct Net(input: [16, 8, 8]) {
        stage: residual(shortcut = { conv2d(16, kernel = 1, stride = 2) }) {
            conv2d(32, kernel = 3, stride = 2, padding = 1),
        },
    }
}

fn main() {}
