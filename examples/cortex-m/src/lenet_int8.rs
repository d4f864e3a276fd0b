//! LeNet-5's int8 twin in flash, classifying the bundled test digits.
//!
//! The twin is `examples/embedded/lenet.int8`: the f32 weights of `lenet.rs` quantised on the
//! host (TensorFlow Lite's post-training scheme, calibrated on the first 1,000 training
//! digits; `tests/int8.rs` checks the file is current). `from_bytes` decodes it at compile
//! time into a `static`, so it stays in flash; a file of another architecture does not
//! compile.

use crate::lenet::LeNet5Int8;
use crate::{test_image, Clock, Eval, TEST, TEST_LABELS, UNIT};

pub static NET: LeNet5Int8 = LeNet5Int8::from_bytes(include_bytes!("../../embedded/lenet.int8"));

/// Classifies every bundled test digit, timing only the int8 forward passes.
#[inline(never)]
pub fn evaluate(clock: &impl Clock) -> Eval {
    let mut eval = Eval::new();
    for (i, &label) in TEST_LABELS.iter().enumerate().take(TEST) {
        // Pixel by pixel (`quantize_input` would first build the 3 KB float vector).
        let x = test_image(i).map(|p| NET.input.quantize(UNIT[usize::from(p)]));
        let t0 = clock.now();
        let y = NET.forward(&x);
        eval.instructions += clock.now() - t0;
        eval.add(NET.dequantize_output(&y).as_slice(), label);
    }
    eval
}
