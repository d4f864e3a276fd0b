//! Every mistake is reported in one pass, each on its own token.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, strides = 2),
        relu(0.2),
        max_pool2d(0),
        dens(120),
        conv1: dense(10, bias = yes),
    }
}

fn main() {}
