//! LeNet-5 on a microcontroller's terms: `#![no_std]`, no allocator, the trained weights in
//! a `static` decoded at compile time from a safetensors file the compiler checked against
//! the declaration, and one C function that classifies a 28×28 image.
//!
//! Build: `cargo build --release --manifest-path examples/embedded/Cargo.toml`, then link
//! `libstacknet_embedded_example.a` into a C program (see `classify.c`, which CI runs). No
//! global allocator is defined, so the build itself proves nothing here needs one.
#![no_std]

use stacknet::runtime::{train::argmax, Network};

stacknet::network! {
    /// LeNet-5 for 28×28 grayscale digits, as in the `lenet` example, with the trained
    /// weights of `lenet.safetensors` (saved by `cargo run --release --example lenet --
    /// --save examples/embedded/lenet.safetensors`). The macro checks every tensor's name,
    /// shape and dtype against this declaration when it compiles, and `LeNet5::BAKED` is the
    /// network decoded at compile time.
    #[weights = "../lenet.safetensors"]
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

/// The trained network, in read-only memory.
static NET: LeNet5 = LeNet5::<f32>::BAKED;

/// Classifies one 28×28 grayscale image (row-major bytes, 0 = background, 255 = ink, as in
/// MNIST) and returns the digit. All working memory is on the caller's stack:
/// `LeNet5::<f32>::INFERENCE_BYTES` (about 160 KiB).
#[no_mangle]
pub extern "C" fn stacknet_classify(pixels: &[u8; 784]) -> u8 {
    let x = stacknet::nalgebra::SVector::<f32, 784>::from_fn(|i, _| pixels[i] as f32 / 255.0);
    argmax(NET.forward(&x).as_slice()) as u8
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
