//! Batch norm eps must be positive.
use stacknet::prelude::*;

network! {
    struct Net(input: [16]) {
        dense(8), batch_norm(eps = 0.0),
    }
}

fn main() {}
