//! Labelled images of any size as a dataset: an IDX images file paired with an IDX labels
//! file, checked once when loading so that the per-sample accessors cannot fail.
//!
//! The image shape is part of the type ([`ImageSplit`]`<C, H, W, N, K>`), so a file of the
//! wrong size is refused with a typed error instead of being fed to a network that reads its
//! bytes in another layout; [`MnistSplit`](super::MnistSplit) is the instance for MNIST.

use std::path::Path;

use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::Scalar;

use super::idx::{load_channel_images, load_images, load_labels, IdxError, Images};

/// Labelled images of `C` channels × `H` rows × `W` columns, `N = C·H·W` values each (the
/// length of a network input for `[C, H, W]`), with labels in `0..K`.
///
/// `N` is written out because stable Rust cannot compute it from the shape in a type; it is
/// checked against `C·H·W` at compile time.
///
/// ```
/// use stacknet::data::idx::{parse_images, parse_labels};
/// use stacknet::data::ImageSplit;
/// # fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
/// #     let mut v = vec![0, 0, 8, dims.len() as u8];
/// #     dims.iter().for_each(|d| v.extend(d.to_be_bytes()));
/// #     v.extend_from_slice(payload);
/// #     v
/// # }
///
/// /// Two-by-three grayscale icons of four kinds.
/// type Icons = ImageSplit<1, 2, 3, 6, 4>;
///
/// let images = parse_images(&idx(&[2, 2, 3], &[0, 51, 102, 153, 204, 255, 0, 0, 0, 0, 0, 0]))?;
/// let labels = parse_labels(&idx(&[2], &[3, 1]))?;
/// let icons = Icons::new(images, labels)?;
/// assert_eq!(icons.input::<f32>(0)[1], 0.2);
/// assert_eq!(icons.class_counts(), [0, 1, 0, 1]);
/// # Ok::<(), stacknet::data::IdxError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSplit<
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
    const K: usize,
> {
    images: Images,
    labels: Vec<u8>,
}

impl<const C: usize, const H: usize, const W: usize, const N: usize, const K: usize>
    ImageSplit<C, H, W, N, K>
{
    /// Pairs images with labels: the images must be `C`×`H`×`W`, as many as the labels, and
    /// every label below `K`.
    pub fn new(images: Images, labels: Vec<u8>) -> Result<Self, IdxError> {
        // A wrong `N` is a compile error (where the split is made) naming the rule.
        const {
            assert!(
                N == C * H * W,
                "`ImageSplit<C, H, W, N, K>` needs N = C × H × W"
            )
        };
        if images.channels() != C {
            return Err(IdxError::ChannelCount {
                expected: C,
                found: images.channels(),
            });
        }
        if (images.rows(), images.cols()) != (H, W) {
            return Err(IdxError::ImageSize {
                expected: (H, W),
                found: (images.rows(), images.cols()),
            });
        }
        if labels.len() != images.count() {
            return Err(IdxError::CountMismatch {
                what: "label and image counts",
                expected: images.count(),
                found: labels.len(),
            });
        }
        if let Some(index) = labels.iter().position(|&l| usize::from(l) >= K) {
            return Err(IdxError::LabelOutOfRange {
                index,
                classes: K,
                found: labels[index],
            });
        }
        Ok(ImageSplit { images, labels })
    }

    /// Loads an images file and a labels file, each plain or gzip-compressed, and pairs them
    /// (see [`new`](ImageSplit::new)). With `C = 1` the images file is rank 3 (magic
    /// `0x00000803`), otherwise rank 4 with channels (`0x00000804`). An error in the contents
    /// names the file it is in.
    pub fn load(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self, IdxError> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        let imgs = if C == 1 {
            load_images(images)?
        } else {
            load_channel_images(images)?
        };
        let labs = load_labels(labels)?;
        let blame = |e: IdxError| match e {
            IdxError::ImageSize { .. } | IdxError::ChannelCount { .. } => IdxError::InFile {
                path: images.into(),
                error: e.into(),
            },
            e => IdxError::InFile {
                path: labels.into(),
                error: e.into(),
            },
        };
        Self::new(imgs, labs).map_err(blame)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images, as many as there are labels.
    pub fn images(&self) -> &Images {
        &self.images
    }

    /// The labels, one class (below `K`) per image. Trainers, [`Fit`](crate::fit::Fit) and
    /// the metrics take them as they are.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The class of sample `i`, as a loss target.
    pub fn label(&self, i: usize) -> usize {
        usize::from(self.labels[i])
    }

    /// Writes sample `i` into `out`: values / 255 in (channel, row, column) order (a
    /// `[C, H, W]` input).
    pub fn write_input<T: Scalar>(&self, i: usize, out: &mut SVector<T, N>) {
        self.images.write_unit(i, out);
    }

    /// Sample `i` as a network input: values / 255 in (channel, row, column) order.
    pub fn input<T: Scalar>(&self, i: usize) -> SVector<T, N> {
        self.images.unit(i)
    }

    /// Every sample as a network input, for programs that convert once and train many epochs.
    pub fn inputs<T: Scalar>(&self) -> Vec<SVector<T, N>> {
        (0..self.len()).map(|i| self.input(i)).collect()
    }

    /// Every label widened to `usize`. The `u8` [`labels`](ImageSplit::labels) work as
    /// targets too, in an eighth of the memory.
    pub fn targets(&self) -> Vec<usize> {
        self.labels.iter().map(|&l| usize::from(l)).collect()
    }

    /// How many samples each class has.
    pub fn class_counts(&self) -> [usize; K] {
        let mut counts = [0; K];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// The first `n` samples and the rest (`n` is clamped to the length).
    pub fn split_at(self, n: usize) -> (Self, Self) {
        let n = n.min(self.len());
        let (head_images, tail_images) = self.images.split_at(n);
        let mut labels = self.labels;
        let tail_labels = labels.split_off(n);
        (
            ImageSplit {
                images: head_images,
                labels,
            },
            ImageSplit {
                images: tail_images,
                labels: tail_labels,
            },
        )
    }

    /// The first `n` samples (all of them if there are fewer), e.g. for a short run.
    pub fn truncate(&mut self, n: usize) {
        self.images.truncate(n);
        self.labels.truncate(n);
    }
}
