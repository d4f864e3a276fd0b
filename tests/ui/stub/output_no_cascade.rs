//! When inference cannot reach the last layer, the stub's output is the last shape it knew
//! (most kinds keep their input's shape): a misspelt activation after `dense(10)` is one
//! error, not one more where the 10 outputs are used.
use stacknet::prelude::*;

network! {
    pub struct Misspelt(input: [8]) {
        dense(10),
        sofmax,
    }
}

network! {
    pub struct BadArgument(input: [8]) {
        dense(10),
        dropout(2.0),
    }
}

fn main() {
    let x = SVector::<f32, 8>::zeros();
    let y: SVector<f32, 10> = Misspelt::<f32>::new(&mut SplitMix64::new(1)).forward(&x);
    let z: SVector<f32, 10> = BadArgument::<f32>::new(&mut SplitMix64::new(1)).forward(&x);
    let _ = (y, z);
}
