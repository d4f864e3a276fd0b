//! `#[int8]` asks for an int8 twin: a layer kind without an int8 form is refused on its name,
//! with the kinds that have one.
use stacknet::prelude::*;

network! {
    #[int8]
    struct Net(input: [1, 8, 8]) {
        conv2d(4, kernel = 3), batch_norm, relu, flatten, dense(10), sigmoid,
    }
}

fn main() {}
