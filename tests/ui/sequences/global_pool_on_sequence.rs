//! The 2-D global pools read images; over time it is mean_over_time.
use stacknet::prelude::*;

network! {
    struct Net(input: [8, 3]) {
        global_avg_pool2d,
    }
}

fn main() {}
