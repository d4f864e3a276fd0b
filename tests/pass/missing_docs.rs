//! A public network in a crate that denies missing docs: every public item the macro generates
//! (the struct and its fields, the gradient, the records, the state, `new`, `forward_from`)
//! carries docs of its own, so the user's lint holds without an `allow`.
#![deny(missing_docs)]

use stacknet::prelude::*;

stacknet::network! {
    pub struct Undocumented(input: [4, 3]) {
        lstm(8),
        dense(2),
    }
}

network! {
    /// A documented network: the generated table follows this line.
    #[derive(Clone)]
    pub struct Documented(input: [1, 6, 6]) {
        stem: conv2d(2, kernel = 3), relu,
        block: residual { conv2d(2, kernel = 3, padding = 1), batch_norm },
        flatten,
        head: dense(3),
    }
}

fn main() {
    let net = Undocumented::<f32>::new(&mut SplitMix64::new(1));
    let mut state = <UndocumentedState as Zeros>::zeros();
    let _ = net.forward_from(&SVector::zeros(), &mut state);
    assert_eq!(Undocumented::<f32>::PARAMS, 4 * 8 * (3 + 8 + 2) + 8 * 2 + 2);
    let net = Documented::<f32>::new(&mut SplitMix64::new(1));
    let _ = net.forward(&SVector::zeros());
}
