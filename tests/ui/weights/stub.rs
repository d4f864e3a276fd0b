//! After an error in the declaration of a network with `#[weights]`, its constants still
//! exist: code using them gets no error of its own, only the network's.
use stacknet::prelude::*;

network! {
    #[weights = "tiny_f16.safetensors"]
    pub struct Net(input: [4]) { fc: dense(0) }
}

static NET: Net = Net::<f32>::BAKED;

fn main() {
    let net: Net<f64> = Net::<f64>::BAKED;
    let _ = (&NET, net.forward(&SVector::zeros()));
}
