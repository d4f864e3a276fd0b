//! `same` padding with an even effective kernel, plain and through dilation.
use stacknet::prelude::*;

network! {
    struct Plain(input: [3, 9, 9]) {
        conv2d(4, kernel = 4, padding = same),
    }
}

network! {
    struct Dilated(input: [3, 9, 9]) {
        conv2d(4, kernel = 2, dilation = 3, padding = same),
    }
}

fn main() {}
