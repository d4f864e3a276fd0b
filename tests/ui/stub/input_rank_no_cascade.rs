//! An input of the wrong rank is one error: the stub still takes the 784 values the
//! dimensions multiply to, so code feeding it a 784-vector has nothing more to report.
use stacknet::prelude::*;

network! {
    pub struct Net(input: [1, 1, 28, 28]) {
        flatten,
        dense(10),
    }
}

fn main() {
    let net = Net::<f32>::new(&mut SplitMix64::new(1));
    let _ = net.forward(&SVector::<f32, 784>::zeros());
}
