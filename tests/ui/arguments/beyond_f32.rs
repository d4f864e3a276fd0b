//! Numbers the network would meet as f32 must fit f32: 1e300 would be infinite there and
//! 1e-50 zero.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dense(4),
        leaky_relu(1e300),
        batch_norm(eps = 1e-50),
        dense(2),
    }
}

fn main() {}
