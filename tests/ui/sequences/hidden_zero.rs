//! A recurrent layer needs at least one hidden unit.
use stacknet::prelude::*;

network! {
    struct Net(input: [5, 4]) {
        lstm(0),
    }
}

fn main() {}
