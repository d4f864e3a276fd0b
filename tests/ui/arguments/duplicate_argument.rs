//! The same parameter given positionally and by name.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        conv2d(6, 5, kernel = 3),
    }
}

fn main() {}
