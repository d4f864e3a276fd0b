//! A recurrent layer reads [steps, features]; an image's rows can be read as steps with reshape.
use stacknet::prelude::*;

network! {
    struct Net(input: [1, 28, 28]) {
        lstm(16),
    }
}

fn main() {}
