//! LeNet-5 in f32 with trained weights in flash, classifying the bundled test digits.
//!
//! The weights are `examples/embedded/lenet.safetensors`, shared with the C embedded example
//! (regenerate with `cargo run --release --example lenet -- --save
//! examples/embedded/lenet.safetensors`); `#[weights]` checks the file against the declaration
//! and decodes it at compile time into a `static`, so it stays in flash and costs no RAM.

use crate::{test_image, Clock, Eval, TEST, TEST_LABELS, UNIT};
use stacknet::nalgebra::SVector;
use stacknet::runtime::Network;

stacknet::network! {
    /// LeNet-5 for 28×28 grayscale digits, as in the `lenet` example, with its int8 twin.
    #[int8]
    #[weights = "../../embedded/lenet.safetensors"]
    pub struct LeNet5(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, padding = 2),
        relu,
        max_pool2d(2),
        conv2: conv2d(16, kernel = 5),
        relu,
        max_pool2d(2),
        flatten,
        fc1: dense(120), relu,
        fc2: dense(84), relu,
        fc3: dense(10),
    }
}

pub const PARAMS: usize = <LeNet5<f32> as Network<f32>>::PARAMS;
/// Multiply-accumulates of one forward pass, from the summary's table.
pub const MACS: usize = {
    let (rows, mut sum, mut i) = (<LeNet5<f32> as Network<f32>>::LAYERS, 0, 0);
    while i < rows.len() {
        sum += rows[i].macs;
        i += 1;
    }
    sum
};

/// The trained network, in flash.
pub static NET: LeNet5<f32> = LeNet5::<f32>::BAKED;

/// The network input of test digit `i`.
pub fn input(i: usize) -> SVector<f32, 784> {
    let im = test_image(i);
    SVector::from_fn(|p, _| UNIT[usize::from(im[p])])
}

/// Classifies every bundled test digit, timing only the forward passes.
#[inline(never)]
pub fn evaluate(clock: &impl Clock) -> Eval {
    let mut eval = Eval::new();
    for (i, &label) in TEST_LABELS.iter().enumerate().take(TEST) {
        let x = input(i);
        let t0 = clock.now();
        let y = NET.forward(&x);
        eval.instructions += clock.now() - t0;
        eval.add(y.as_slice(), label);
    }
    eval
}
