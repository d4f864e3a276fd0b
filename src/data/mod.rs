//! Data and tooling for training programs: MNIST's IDX files, minibatch orders, a progress
//! bar, confusion matrices, a weights file and the examples' command line (needs `std`).
//!
//! - [`idx`]: the IDX format, plain or gzip, with typed errors and bounded reads.
//! - [`split`]: labelled images of any size ([`ImageSplit`]) from an IDX images and labels file.
//! - [`mnist`]: the digits as a dataset ([`Mnist::load_dir`], [`Mnist::load_bundled`]).
//! - [`batches`]: a seeded shuffle per epoch, cut into minibatches.
//! - [`progress`]: the per-epoch progress bar; [`confusion`]: confusion matrices.
//! - [`weights`]: saving and loading flat `f32` parameters.
//! - [`safetensors`]: whole networks as safetensors, PyTorch's interchange format.
//! - [`text`]: character-level text as token ids, and the bigram baseline.
//! - [`args`]: `--epochs N --batch N --lr X --seed N --data DIR --load FILE --save FILE`.

pub mod args;
pub mod batches;
pub mod confusion;
pub mod idx;
pub mod mnist;
pub mod progress;
pub mod safetensors;
pub mod split;
pub mod text;
pub mod weights;

pub use args::{Args, ArgsError, Command};
pub use batches::Minibatches;
pub use confusion::{confusion_matrix, ConfusionMatrix};
pub use idx::{
    load_channel_images, load_images, load_labels, parse_channel_images, parse_images,
    parse_labels, IdxError, Images,
};
pub use mnist::{Mnist, MnistSplit};
pub use progress::{EpochStats, Progress};
pub use safetensors::{
    load_safetensors, load_safetensors_bytes, load_safetensors_with, load_safetensors_with_bytes,
    save_params_safetensors, save_safetensors, save_safetensors_with, to_safetensors,
    to_safetensors_with, write_safetensors, SafetensorsError,
};
pub use split::ImageSplit;
pub use text::{Bigram, Corpus, TextError};
pub use weights::{
    load_network, load_network_with, load_weights, load_weights_with, save_network, save_weights,
    NonFinite, WeightsError,
};

use std::io::{self, Read};

/// Reads until `buf` is full or the stream ends; returns how many bytes arrived (fewer than
/// `buf.len()` only at the end of the stream).
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
