//! A file for another network: missing tensors, other shapes and tensors the network lacks,
//! each named with both shapes.
use stacknet::prelude::*;

network! {
    // tiny_f16 is fc: dense(2) over [4].
    #[weights = "tiny_f16.safetensors"]
    struct Wider(input: [5]) { fc: dense(2) }
}

network! {
    #[weights = "tiny_f16.safetensors"]
    struct Renamed(input: [4]) { head: dense(2) }
}

network! {
    #[weights = "tiny_f16.safetensors"]
    struct Deeper(input: [4]) { fc: dense(2), relu, out: dense(3, bias = false) }
}



// Naming the constant adds no error of its own.
static WIDER: Wider = Wider::<f32>::BAKED;
fn main() { let _ = &WIDER; }
