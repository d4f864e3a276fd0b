//! Dense networks: named and unnamed layers, every activation, bias on and off, f32 and f64.
use stacknet::prelude::*;

network! {
    /// The hand-expanded reference network of the runtime's tests.
    #[derive(Clone, Debug)]
    pub struct Tiny(input: [3]) {
        hidden: dense(4), tanh,
        out: dense(2),
    }
}

fn main() {
    let net = Tiny::<f64>::new(&mut SplitMix64::new(1));
    let y = net.forward(&SVector::from([0.3, -0.8, 0.5]));
    assert_eq!(y.len(), 2);
    assert_eq!(Tiny::<f64>::PARAMS, 3 * 4 + 4 + 4 * 2 + 2);
    println!("{}", Tiny::<f32>::summary());
}
