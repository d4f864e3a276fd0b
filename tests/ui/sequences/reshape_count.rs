//! reshape keeps the number of values.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        reshape(28, 27), lstm(8),
    }
}

fn main() {}
