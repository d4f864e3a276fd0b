// `accuracy` takes integer labels too.
use stacknet::prelude::*;

network! {
    struct Digits(input: [64]) {
        out: dense(10),
    }
}

fn main() {
    let net = Digits::<f32>::new(&mut SplitMix64::new(1));
    let xs = vec![SVector::<f32, 64>::zeros(); 4];
    let labels = vec![1i32; 4];
    let _ = accuracy(&net, xs.iter().zip(&labels));
}
