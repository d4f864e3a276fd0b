//! Every layer fits, the sums do not: two branches of 2^59 parameters each pass the bound on
//! the network's parameters at the second, and four outputs of 2^58 values pass the bound on
//! what training keeps at the fourth. Each total is reported once.
use stacknet::prelude::*;

network! {
    struct Wide(input: [1]) {
        concat {
            dense(288230376151711744),
            dense(288230376151711744),
        },
    }
}

network! {
    struct Deep(input: [1]) {
        dense(288230376151711744),
        relu,
        relu,
        relu,
        relu,
    }
}

fn main() {}
