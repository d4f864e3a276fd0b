//! The MNIST digits as a dataset: the standard four IDX files, or the project's bundled sample.
//!
//! Images are checked to be 28×28, labels to be digits, and counts to agree when loading, so
//! the per-sample accessors cannot fail and return fixed-size vectors for a network's input.
//! A split is an [`ImageSplit`]: other image data sets in IDX files load the same way.

use std::path::{Path, PathBuf};

use super::idx::IdxError;
use super::split::ImageSplit;

/// Image side in pixels.
pub const SIDE: usize = 28;
/// Pixels per image: a network's input for `[1, 28, 28]` or `[784]`.
pub const PIXELS: usize = SIDE * SIDE;
/// Number of classes (the digits 0–9).
pub const CLASSES: usize = 10;

/// Training samples in the bundled split: the first 8,000 of the 10,000.
pub const BUNDLED_TRAIN: usize = 8_000;
/// Test samples in the bundled split: the last 2,000.
pub const BUNDLED_TEST: usize = 2_000;
/// File names of the bundled sample, in [`Mnist::bundled_dir`].
pub const BUNDLED_IMAGES: &str = "mnist-10k-images-idx3-ubyte.gz";
/// The labels matching [`BUNDLED_IMAGES`], one byte per image.
pub const BUNDLED_LABELS: &str = "mnist-10k-labels-idx1-ubyte.gz";

/// Standard MNIST file names, each looked for as is, with `.gz`, and in the variant spelling
/// with a dot (`train-images.idx3-ubyte`) some mirrors use.
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// A training and a test split of MNIST.
#[derive(Clone, Debug)]
pub struct Mnist {
    /// The samples to train on (60,000 in the standard files, 8,000 bundled).
    pub train: MnistSplit,
    /// The held-out samples (10,000 in the standard files, 2,000 bundled).
    pub test: MnistSplit,
}

impl Mnist {
    /// Loads the standard files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` from `dir`, each plain or with
    /// `.gz` (the content decides, not the name).
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Mnist, IdxError> {
        let dir = dir.as_ref();
        let train = MnistSplit::load(&find(dir, TRAIN_IMAGES)?, &find(dir, TRAIN_LABELS)?)?;
        let test = MnistSplit::load(&find(dir, TEST_IMAGES)?, &find(dir, TEST_LABELS)?)?;
        Ok(Mnist { train, test })
    }

    /// Loads the project's 10,000-digit sample from `dir` (normally [`Mnist::bundled_dir`]):
    /// the first 8,000 digits for training, the last 2,000 for testing.
    pub fn load_bundled(dir: impl AsRef<Path>) -> Result<Mnist, IdxError> {
        let dir = dir.as_ref();
        let labels_path = dir.join(BUNDLED_LABELS);
        let all = MnistSplit::load(dir.join(BUNDLED_IMAGES), &labels_path)?;
        if all.len() != BUNDLED_TRAIN + BUNDLED_TEST {
            return Err(IdxError::InFile {
                path: labels_path,
                error: Box::new(IdxError::CountMismatch {
                    what: "bundled sample sizes",
                    expected: BUNDLED_TRAIN + BUNDLED_TEST,
                    found: all.len(),
                }),
            });
        }
        let (train, test) = all.split_at(BUNDLED_TRAIN);
        Ok(Mnist { train, test })
    }

    /// Where the bundled sample lives in this crate's source tree (`data/mnist`).
    pub fn bundled_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join("mnist")
    }
}

/// The first of `name`, `name.gz` and their dotted spellings that exists in `dir`.
fn find(dir: &Path, name: &'static str) -> Result<PathBuf, IdxError> {
    let dotted = name.replacen("-idx", ".idx", 1);
    [
        name.to_string(),
        format!("{name}.gz"),
        dotted.clone(),
        format!("{dotted}.gz"),
    ]
    .into_iter()
    .map(|candidate| dir.join(candidate))
    .find(|path| path.is_file())
    .ok_or_else(|| IdxError::Missing {
        dir: dir.to_path_buf(),
        name,
    })
}

/// Labelled 28×28 digits: the [`ImageSplit`] of one channel, 28 × 28 pixels and ten classes.
pub type MnistSplit = ImageSplit<1, SIDE, SIDE, PIXELS, CLASSES>;
