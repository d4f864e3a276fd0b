//! `same` splits the padding evenly, which an even kernel cannot.
use stacknet::prelude::*;

network! {
    struct Net(input: [16, 2]) {
        conv1d(3, kernel = 4, padding = same),
    }
}

fn main() {}
