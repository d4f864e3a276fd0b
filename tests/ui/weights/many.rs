//! LeNet's file against a one-layer network: the first mismatches, then how many more.
use stacknet::prelude::*;

network! {
    #[weights = "../../fixtures/lenet.safetensors"]
    struct Small(input: [1, 28, 28]) { conv: conv2d(6, kernel = 5), flatten, head: dense(10) }
}

fn main() {}
