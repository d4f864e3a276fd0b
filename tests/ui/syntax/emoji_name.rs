//! A name that is not an identifier gets rustc's own error and no panic from the macro.
use stacknet::prelude::*;

network! {
    struct Net🦀(input: [4]) {
        dense(2),
    }
}

network! {
    struct Good(input: [4]) {
        fc🦀: dense(2),
        stage: { out🦀: dense(3) },
    }
}

fn main() {}
