//! What the firmware computes, target-agnostic and `no_std`: LeNet-5 in f32 over the digits
//! bundled in flash, and an MLP trained on the device. `main.rs` runs it on the Cortex-M (and
//! on the host, as the reference) and prints the figures.
#![no_std]

pub mod lenet;
pub mod lenet_int8;
pub mod mlp;
pub mod pool;

mod digits {
    include!(concat!(env!("OUT_DIR"), "/digits.rs"));
}
pub use digits::{TEST, TEST_FIRST, TRAIN};

/// The `TEST` test digits, 28×28 row-major bytes, and their labels (extracted by `build.rs`).
pub static TEST_IMAGES: [u8; 784 * TEST] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/test-images.bin"));
pub static TEST_LABELS: [u8; TEST] = *include_bytes!(concat!(env!("OUT_DIR"), "/test-labels.bin"));
/// The MLP's `TRAIN` training digits, pooled to 14×14 by [`pool::pool14`].
pub static TRAIN14_IMAGES: [u8; 196 * TRAIN] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/train14-images.bin"));
pub static TRAIN14_LABELS: [u8; TRAIN] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/train14-labels.bin"));

/// Bytes of bundled digits in flash: reported apart from code and weights.
pub const DIGIT_BYTES: usize = 785 * TEST + 197 * TRAIN;

/// Test digit `i` as 28×28 bytes.
pub fn test_image(i: usize) -> &'static [u8; 784] {
    &TEST_IMAGES.as_chunks::<784>().0[i]
}

/// Training digit `i` of the MLP as 14×14 bytes.
pub fn train14_image(i: usize) -> &'static [u8; 196] {
    &TRAIN14_IMAGES.as_chunks::<196>().0[i]
}

/// Pixel byte → network input, `p / 255` computed in f64 and rounded to f32 as
/// `stacknet::data` scales MNIST on the host, so both see bit-identical inputs.
pub static UNIT: [f32; 256] = {
    let mut t = [0.0f32; 256];
    let mut p = 0;
    while p < 256 {
        t[p] = (p as f64 / 255.0) as f32;
        p += 1;
    }
    t
};

/// A source of elapsed instructions (SysTick under QEMU's `-icount`; none on the host).
pub trait Clock {
    fn now(&self) -> u64;
}

/// A clock that never moves, for the host.
pub struct NoClock;

impl Clock for NoClock {
    fn now(&self) -> u64 {
        0
    }
}

/// Digits classified right out of a total, plus an FNV-1a hash of every output bit pattern
/// (equal hashes on host and device mean bit-identical logits, not only equal argmaxes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eval {
    pub right: usize,
    pub total: usize,
    pub hash: u32,
    /// Instructions spent in the network's forward, summed over the digits.
    pub instructions: u64,
}

impl Eval {
    pub const fn new() -> Self {
        Eval {
            right: 0,
            total: 0,
            hash: 0x811c_9dc5,
            instructions: 0,
        }
    }

    /// Counts one prediction and folds its outputs' bits into the hash.
    pub fn add(&mut self, outputs: &[f32], label: u8) {
        for v in outputs {
            for b in v.to_bits().to_le_bytes() {
                self.hash = (self.hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
        }
        let guess = stacknet::runtime::train::argmax(outputs);
        self.right += usize::from(guess == usize::from(label));
        self.total += 1;
    }

    /// Accuracy in hundredths of a percent (integers: no float formatting in the firmware).
    pub fn basis_points(&self) -> usize {
        (self.right * 10_000).checked_div(self.total).unwrap_or(0)
    }
}

impl Default for Eval {
    fn default() -> Self {
        Self::new()
    }
}
