//! The shortcut is a group of layers in braces.
use stacknet::prelude::*;

network! {
    struct Net(input: [8]) {
        residual(shortcut = dense(8)) { dense(8) },
    }
}

fn main() {}
