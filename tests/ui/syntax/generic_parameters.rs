//! The network is always generic over its scalar; no other generics.
use stacknet::prelude::*;

network! {
    struct Net<T>(input: [4]) {
        dense(8),
    }
}

fn main() {}
