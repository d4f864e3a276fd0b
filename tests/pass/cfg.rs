//! `#[cfg(…)]` on a declaration gates every generated item: a configured-out network leaves
//! nothing behind (not even an impl naming the missing type), a configured-in one works, and
//! two declarations under opposite conditions may share a name.
#![deny(warnings)]

use stacknet::prelude::*;

network! {
    #[cfg(any())]
    pub struct Gone(input: [4]) {
        fc: dense(2),
        lstm_like: relu,
    }
}

network! {
    #[cfg(all())]
    pub struct Kept(input: [4]) {
        fc: dense(2),
    }
}

network! {
    #[cfg(any())]
    pub struct Either(input: [3]) {
        dense(2),
    }
}

network! {
    #[cfg(not(any()))]
    pub struct Either(input: [3]) {
        dense(5),
    }
}

fn main() {
    let net = Kept::<f64>::new(&mut SplitMix64::new(1));
    assert_eq!(net.forward(&SVector::zeros()).len(), 2);
    assert_eq!(Either::<f64>::OUTPUT_SHAPE.dims(), [5]);
}
