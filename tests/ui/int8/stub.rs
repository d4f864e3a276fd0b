//! After an error in an `#[int8]` network, the twin still exists with its methods: code
//! using it gets no error of its own, only the network's.
use stacknet::prelude::*;

network! {
    #[int8]
    pub struct Net(input: [4]) { dense(3), sigmoid, dense(2) }
}

static FLASH: NetInt8 = NetInt8::from_bytes(&[0; 16]);

fn main() {
    let net = Net::<f32>::new(&mut SplitMix64::new(0));
    let x = SVector::<f32, 4>::zeros();
    let q: NetInt8 = net.quantize([&x]).unwrap();
    let y: [i8; 2] = q.forward(&q.quantize_input(&x));
    let _ = (y, q.predict(&x), q.infer(&x), FLASH.output, NetInt8::BYTES);
}
