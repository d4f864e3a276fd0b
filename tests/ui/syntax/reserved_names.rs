//! `T` is the generated types' scalar parameter, and `__`-prefixed fields are the macro's own
//! (`__scalar`): both are refused by name, on the name.
use stacknet::prelude::*;

network! {
    struct T(input: [4]) {
        dense(2),
    }
}

network! {
    struct Net(input: [4]) {
        __scalar: dense(2),
        dense(1),
    }
}

fn main() {}
