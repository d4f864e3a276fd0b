//! The dilated kernel spans more steps than the padded sequence has.
use stacknet::prelude::*;

network! {
    struct Net(input: [4, 2]) {
        conv1d(3, kernel = 3, dilation = 2),
    }
}

fn main() {}
