//! Extracts the firmware's digits from the repository's `data/mnist/` at build time, so no
//! copy of them is committed: the first `TEST` digits of the test split (the last 2,000, as
//! the `lenet` example splits) at 28×28, and the first `TRAIN` training digits pooled to
//! 14×14 for the on-device MLP. Also puts `memory.x` where the linker finds it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "src/pool.rs"]
mod pool;
use pool::pool14;

/// Digits the firmware classifies: the whole test split of the `lenet` example, so its
/// accuracy is comparable with that example's on the same weights.
const TEST: usize = 2_000;
/// Digits the on-device MLP trains on (from index 0).
const TRAIN: usize = 1000;
/// Where the bundled split puts its test digits (`stacknet::data::mnist::BUNDLED_TRAIN`).
const TEST_FIRST: usize = 8_000;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let images = idx(&data.join("mnist-10k-images-idx3-ubyte.gz"), 0x803, 16);
    let labels = idx(&data.join("mnist-10k-labels-idx1-ubyte.gz"), 0x801, 8);
    assert_eq!(
        images.len(),
        784 * labels.len(),
        "images and labels disagree"
    );
    assert!(labels.len() >= TEST_FIRST + TEST, "too few bundled digits");

    let test = TEST_FIRST..TEST_FIRST + TEST;
    fs::write(
        out.join("test-images.bin"),
        &images[784 * test.start..784 * test.end],
    )
    .unwrap();
    fs::write(out.join("test-labels.bin"), &labels[test.clone()]).unwrap();
    let pooled: Vec<u8> = images[..784 * TRAIN]
        .chunks_exact(784)
        .flat_map(|im| pool14(im.try_into().unwrap()))
        .collect();
    fs::write(out.join("train14-images.bin"), pooled).unwrap();
    fs::write(out.join("train14-labels.bin"), &labels[..TRAIN]).unwrap();
    fs::write(
        out.join("digits.rs"),
        format!(
            "/// Test digits bundled in flash.\npub const TEST: usize = {TEST};\n\
             /// Index of the first one among the 10,000 bundled digits.\n\
             pub const TEST_FIRST: usize = {TEST_FIRST};\n\
             /// Training digits of the on-device MLP.\npub const TRAIN: usize = {TRAIN};\n"
        ),
    )
    .unwrap();

    fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=src/pool.rs");
    println!("cargo:rerun-if-changed={}", data.display());
}

/// The payload of a gzip IDX file after its `header` bytes, checking the magic number.
fn idx(path: &Path, magic: u32, header: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let found = u32::from_be_bytes(bytes[..4].try_into().unwrap());
    assert_eq!(
        found,
        magic,
        "{} is not the IDX file expected",
        path.display()
    );
    bytes.split_off(header)
}
