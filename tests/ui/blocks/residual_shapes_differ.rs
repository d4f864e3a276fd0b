//! The body halves the size and doubles the channels; the identity shortcut cannot follow.
use stacknet::prelude::*;

network! {
    struct Net(input: [16, 8, 8]) {
        stage: residual {
            conv2d(32, kernel = 3, stride = 2, padding = 1), relu,
            conv2d(32, kernel = 3, padding = 1),
        },
    }
}

fn main() {}
