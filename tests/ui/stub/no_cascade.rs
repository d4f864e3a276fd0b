//! One mistake gives one error: code using the broken network still type-checks against the
//! stub, so the user sees the layer's error and nothing about `new`, `forward` or `summary`.
use stacknet::prelude::*;

network! {
    /// Docs are kept on the stub.
    #[derive(Clone)]
    pub struct Net(input: [1, 4, 4]) {
        conv2d(16, kernel = 5),
        flatten,
        out: dense(10),
    }
}

fn main() {
    let net = Net::<f32>::new(&mut SplitMix64::new(1));
    let copy = net.clone();
    let y: SVector<f32, 10> = copy.forward(&SVector::<f32, 16>::zeros());
    let _ = (y, Net::<f32>::summary().to_string(), Net::<f64>::PARAMS);
}
