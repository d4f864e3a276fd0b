//! `#[int8]` takes no arguments, and once is enough.
use stacknet::prelude::*;

network! {
    #[int8(per_tensor)]
    struct Args(input: [4]) { dense(2) }
}

network! {
    #[int8]
    #[int8]
    struct Twice(input: [4]) { dense(2) }
}

fn main() {}
