//! PyTorch's input sizes are inferred, not written.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6, kernel = 5, in_channels = 1),
    }
}

fn main() {}
