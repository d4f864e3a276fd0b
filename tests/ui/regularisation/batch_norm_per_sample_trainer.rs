//! A network with batch norm cannot be trained one sample at a time: building a per-sample
//! `Trainer` for it is a compile error, not a silent normalisation by the wrong statistics.
use stacknet::prelude::*;

network! {
    struct Normalised(input: [4]) {
        dense(8), batch_norm, relu,
        dense(2),
    }
}

fn main() {
    let _trainer = Trainer::<Normalised>::new();
}
