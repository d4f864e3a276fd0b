//! LeNet-5 in f32 with trained weights in flash, classifying the bundled test digits.
//!
//! The weights are `examples/embedded/lenet.weights`, shared with the C embedded example
//! (regenerate with `cargo run --release --example lenet -- --save examples/embedded/lenet.weights`);
//! they are decoded at compile time into a `static`, so they stay in flash and cost no RAM.

use crate::{test_image, Clock, Eval, TEST, TEST_LABELS, UNIT};
use stacknet::nalgebra::{ArrayStorage, SMatrix, SVector};
use stacknet::runtime::layers::{Activation, Conv2d, Dense, Flatten, MaxPool2d, Relu};
use stacknet::runtime::Network;

stacknet::network! {
    /// LeNet-5 for 28×28 grayscale digits, as in the `lenet` example, with its int8 twin.
    #[int8]
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

/// The stacknet weights file: 20-byte header, little-endian `f32`s in PyTorch order, CRC-32.
const FILE: &[u8] = include_bytes!("../../embedded/lenet.weights");
const HEADER: usize = 20;
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

// The file must hold exactly this model's parameters: checked by rustc.
const _: () = {
    let magic = b"SNWEIGHT";
    let mut i = 0;
    while i < 8 {
        assert!(
            FILE[i] == magic[i],
            "lenet.weights is not a stacknet weights file"
        );
        i += 1;
    }
    let mut count = 0u64;
    let mut b = 0;
    while b < 8 {
        count |= (FILE[12 + b] as u64) << (8 * b);
        b += 1;
    }
    assert!(
        count == PARAMS as u64,
        "lenet.weights holds another model's parameters"
    );
    assert!(
        FILE.len() == HEADER + 4 * PARAMS + 4,
        "lenet.weights has the wrong length"
    );
};

/// Parameter `i` of the flat vector.
pub const fn param(i: usize) -> f32 {
    let o = HEADER + 4 * i;
    f32::from_le_bytes([FILE[o], FILE[o + 1], FILE[o + 2], FILE[o + 3]])
}

/// The `R × C` tensor starting at parameter `at`, in the runtime's column-major storage
/// (whose memory order is PyTorch's, the order of the file).
const fn tensor<const R: usize, const C: usize>(at: usize) -> SMatrix<f32, R, C> {
    let mut data = [[0.0f32; R]; C];
    let mut c = 0;
    while c < C {
        let mut r = 0;
        while r < R {
            data[c][r] = param(at + c * R + r);
            r += 1;
        }
        c += 1;
    }
    SMatrix::from_array_storage(ArrayStorage(data))
}

/// The trained network, in flash.
pub static NET: LeNet5<f32> = LeNet5 {
    conv1: Conv2d {
        weight: tensor::<25, 6>(0),
        bias: tensor::<6, 1>(150),
    },
    relu_1: Activation(Relu),
    max_pool2d_2: MaxPool2d,
    conv2: Conv2d {
        weight: tensor::<150, 16>(156),
        bias: tensor::<16, 1>(2_556),
    },
    relu_4: Activation(Relu),
    max_pool2d_5: MaxPool2d,
    flatten_6: Flatten,
    fc1: Dense {
        weight: tensor::<400, 120>(2_572),
        bias: tensor::<120, 1>(50_572),
    },
    relu_8: Activation(Relu),
    fc2: Dense {
        weight: tensor::<120, 84>(50_692),
        bias: tensor::<84, 1>(60_772),
    },
    relu_10: Activation(Relu),
    fc3: Dense {
        weight: tensor::<84, 10>(60_856),
        bias: tensor::<10, 1>(61_696),
    },
    __scalar: core::marker::PhantomData,
};
const _: () = assert!(
    61_696 + 10 == PARAMS,
    "the tensor offsets cover every parameter"
);

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
