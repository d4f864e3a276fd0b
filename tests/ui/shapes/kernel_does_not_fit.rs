//! The DESIGN.md example: a kernel larger than its input.
use stacknet::prelude::*;

network! {
    struct LeNet(input: [1, 12, 12]) {
        conv1: conv2d(6, kernel = 5),
        relu,
        max_pool2d(2),
        conv2: conv2d(16, kernel = 5),
        relu,
    }
}

fn main() {}
