//! The IDX file format of MNIST, plain or gzip-compressed, parsed without trusting its header.
//!
//! An IDX file is a big-endian header (two zero bytes, an element-type code, the rank, then
//! one `u32` per dimension) followed by the elements in row-major order. MNIST uses unsigned
//! bytes: labels are rank 1 (magic `0x00000801`), images rank 3 (magic `0x00000803`:
//! count, rows, columns). Images with channels are rank 4 (magic `0x00000804`: count,
//! channels, rows, columns, PyTorch's `[N, C, H, W]`), read by [`load_channel_images`].
//!
//! Nothing here allocates what a header merely claims. The payload size it implies is
//! computed with checked arithmetic, compared with [`MAX_PAYLOAD_BYTES`] and with the bytes
//! the data actually holds (known up front for plain data; for gzip, buffers grow only as
//! decompressed bytes arrive), so a 16-byte file claiming four billion images fails at once.
//! The stream is then read to its end, which both finds trailing bytes the header does not
//! account for and makes the gzip decoder verify its checksum.

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::Scalar;

use super::read_full;

/// The largest payload accepted, in bytes (1 GiB: the full MNIST training images take 47 MB,
/// EMNIST's largest split about 550 MB). Headers claiming more are rejected before reading.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// Magic number of an IDX labels file: unsigned bytes, rank 1.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX images file: unsigned bytes, rank 3.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of images with channels: unsigned bytes, rank 4.
pub const CHANNEL_IMAGES_MAGIC: u32 = 0x0000_0804;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UNSIGNED_BYTE: u8 = 0x08;

/// What an IDX file holds, as far as this loader is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxKind {
    /// Rank 1, one byte per sample.
    Labels,
    /// Rank 3: count, rows, columns.
    Images,
    /// Rank 4: count, channels, rows, columns.
    ChannelImages,
}

impl IdxKind {
    /// The magic number its files start with ([`LABELS_MAGIC`], [`IMAGES_MAGIC`]).
    pub const fn magic(self) -> u32 {
        match self {
            IdxKind::Labels => LABELS_MAGIC,
            IdxKind::Images => IMAGES_MAGIC,
            IdxKind::ChannelImages => CHANNEL_IMAGES_MAGIC,
        }
    }

    /// Number of dimensions its header lists.
    pub const fn rank(self) -> usize {
        match self {
            IdxKind::Labels => 1,
            IdxKind::Images => 3,
            IdxKind::ChannelImages => 4,
        }
    }

    /// Header length in bytes: the magic, then one `u32` per dimension.
    pub const fn header_len(self) -> usize {
        4 + 4 * self.rank()
    }

    fn name(self) -> &'static str {
        match self {
            IdxKind::Labels => "labels",
            IdxKind::Images => "images",
            IdxKind::ChannelImages => "channel images",
        }
    }
}

/// Which part of an IDX stream ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The magic number and dimensions.
    Header,
    /// The bytes after the header.
    Payload,
}

/// Why an IDX file or an MNIST dataset could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum IdxError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// An error in the contents of the file at `path`.
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it ([`root`](IdxError::root) reaches it through nesting).
        error: Box<IdxError>,
    },
    /// A standard MNIST file is in neither its plain nor its `.gz` form in `dir`.
    Missing {
        /// The directory searched.
        dir: PathBuf,
        /// The standard file name (`train-images-idx3-ubyte`), tried with and without `.gz`.
        name: &'static str,
    },
    /// The first four bytes are not the magic number of the expected kind of file.
    BadMagic {
        /// The kind of file expected, whose [`magic`](IdxKind::magic) was not found.
        kind: IdxKind,
        /// The first four bytes, big-endian.
        found: u32,
    },
    /// The header announces elements other than unsigned bytes.
    UnsupportedType {
        /// The header's element-type byte (0x08 would be unsigned bytes).
        code: u8,
    },
    /// The data ends before the header or the payload does (sizes in bytes, without the
    /// header for the payload).
    Truncated {
        /// The kind of file.
        kind: IdxKind,
        /// The part that ended early.
        part: Part,
        /// The part's announced length in bytes.
        expected: u64,
        /// The bytes present.
        found: u64,
    },
    /// The data goes on after the payload the header announces.
    TrailingBytes {
        /// The kind of file.
        kind: IdxKind,
        /// The payload's announced length in bytes.
        expected: u64,
        /// The bytes present after the header.
        found: u64,
    },
    /// The product of the header's dimensions does not fit in 64 bits.
    DimensionOverflow {
        /// The header's dimensions.
        dims: Vec<u32>,
    },
    /// The payload the header announces exceeds [`MAX_PAYLOAD_BYTES`].
    TooLarge {
        /// The limit, [`MAX_PAYLOAD_BYTES`].
        limit: u64,
        /// The payload's announced length in bytes.
        claimed: u64,
    },
    /// The gzip stream is corrupt (bad header, bad deflate data, checksum mismatch, cut short).
    Gzip {
        /// The decoder's error.
        source: io::Error,
    },
    /// Two counts that must agree do not (images and labels, or a split of a dataset).
    CountMismatch {
        /// Which counts (`"label and image counts"`).
        what: &'static str,
        /// The count required.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// Images do not have the channel count the dataset needs.
    ChannelCount {
        /// Channels required.
        expected: usize,
        /// Channels in the file (1 for a rank-3 images file).
        found: usize,
    },
    /// Images are not of the size the dataset needs.
    ImageSize {
        /// (rows, columns) required.
        expected: (usize, usize),
        /// (rows, columns) in the file.
        found: (usize, usize),
    },
    /// A label is not a class of the dataset.
    LabelOutOfRange {
        /// The sample's position in the file.
        index: usize,
        /// The number of classes: labels must be in `0..classes`.
        classes: usize,
        /// The label.
        found: u8,
    },
}

impl IdxError {
    /// The error itself, without the file it was found in.
    pub fn root(&self) -> &IdxError {
        match self {
            IdxError::InFile { error, .. } => error.root(),
            e => e,
        }
    }

    /// The file the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            IdxError::Io { path, .. } | IdxError::InFile { path, .. } => Some(path),
            _ => None,
        }
    }

    fn in_file(self, path: &Path) -> IdxError {
        match self {
            e @ (IdxError::Io { .. } | IdxError::InFile { .. }) => e,
            e => IdxError::InFile {
                path: path.to_path_buf(),
                error: Box::new(e),
            },
        }
    }
}

fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "not an IDX type",
    }
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxError::Io { path, source } => write!(f, "cannot read `{}`: {source}", path.display()),
            IdxError::InFile { path, error } => write!(f, "`{}`: {error}", path.display()),
            IdxError::Missing { dir, name } => write!(
                f,
                "missing MNIST file: expected `{name}` or `{name}.gz` in `{}`",
                dir.display()
            ),
            IdxError::BadMagic { kind, found } => {
                write!(
                    f,
                    "wrong magic number for IDX {}: expected 0x{:08x}, found 0x{found:08x}",
                    kind.name(),
                    kind.magic()
                )?;
                let other = [IdxKind::Labels, IdxKind::Images, IdxKind::ChannelImages]
                    .into_iter()
                    .find(|k| k != kind && *found == k.magic());
                if let Some(other) = other {
                    write!(f, "; this is an IDX {} file", other.name())
                } else if found >> 16 != 0 {
                    write!(f, "; not an IDX file (its first two bytes must be zero)")
                } else {
                    write!(f, "; an IDX {} file has rank {}", kind.name(), kind.rank())
                }
            }
            IdxError::UnsupportedType { code } => write!(
                f,
                "unsupported IDX element type: expected 0x08 (unsigned byte), found 0x{code:02x} ({})",
                type_name(*code)
            ),
            IdxError::Truncated { kind, part, expected, found } => {
                let part = match part {
                    Part::Header => "header",
                    Part::Payload => "payload",
                };
                write!(
                    f,
                    "truncated IDX {} {part}: expected {expected} bytes, found {found}",
                    kind.name()
                )
            }
            IdxError::TrailingBytes { kind, expected, found } => write!(
                f,
                "IDX {} payload longer than its header says: expected {expected} bytes, \
                 found {found}; the header's sizes disagree with the data",
                kind.name()
            ),
            IdxError::DimensionOverflow { dims } => {
                write!(f, "IDX dimensions overflow: ")?;
                for (i, d) in dims.iter().enumerate() {
                    write!(f, "{}{d}", if i == 0 { "" } else { " × " })?;
                }
                write!(f, " elements do not fit in 64 bits")
            }
            IdxError::TooLarge { limit, claimed } => write!(
                f,
                "IDX payload too large: expected at most {limit} bytes, header claims {claimed}"
            ),
            IdxError::Gzip { source } => {
                // flate2's own messages may already say "corrupt gzip stream …".
                let msg = source.to_string();
                let msg = msg.strip_prefix("corrupt gzip stream").map_or(&*msg, str::trim_start);
                write!(f, "corrupt gzip stream: {msg}")?;
                if source.kind() == io::ErrorKind::UnexpectedEof {
                    write!(f, "; the file is cut short or has bytes after its gzip data")?;
                }
                Ok(())
            }
            IdxError::CountMismatch { what, expected, found } => {
                write!(f, "{what} disagree: expected {expected}, found {found}")
            }
            IdxError::ChannelCount { expected, found } => write!(
                f,
                "wrong channel count: expected {expected}, found {found}"
            ),
            IdxError::ImageSize { expected, found } => write!(
                f,
                "wrong image size: expected {}×{}, found {}×{}",
                expected.0, expected.1, found.0, found.1
            ),
            IdxError::LabelOutOfRange { index, classes, found } => write!(
                f,
                "label {index} out of range: expected a class below {classes}, found {found}"
            ),
        }
    }
}

impl Error for IdxError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            IdxError::Io { source, .. } => Some(source),
            // The inner message is already part of ours; expose what *it* wraps.
            IdxError::InFile { error, .. } => error.source(),
            IdxError::Gzip { source } => source.get_ref().map(|e| e as _),
            _ => None,
        }
    }
}

/// A stack of same-size images: `count` × `channels` × `rows` × `cols` bytes, in PyTorch's
/// (image, channel, row, column) order; grayscale images have one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    count: usize,
    channels: usize,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
}

impl Images {
    /// Grayscale images: `pixels` must hold exactly `count * rows * cols` bytes.
    pub fn new(count: usize, rows: usize, cols: usize, pixels: Vec<u8>) -> Result<Self, IdxError> {
        Self::with_channels(count, 1, rows, cols, pixels)
    }

    /// Images with channels: `pixels` must hold exactly `count * channels * rows * cols`
    /// bytes, channel after channel within each image.
    pub fn with_channels(
        count: usize,
        channels: usize,
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
    ) -> Result<Self, IdxError> {
        let dims = [count, channels, rows, cols].map(|d| d as u64);
        let expected = checked_product(&dims).ok_or_else(|| IdxError::DimensionOverflow {
            dims: dims
                .iter()
                .map(|&d| d.min(u32::MAX as u64) as u32)
                .collect(),
        })?;
        let found = pixels.len() as u64;
        let kind = if channels == 1 {
            IdxKind::Images
        } else {
            IdxKind::ChannelImages
        };
        if found < expected {
            let part = Part::Payload;
            return Err(IdxError::Truncated {
                kind,
                part,
                expected,
                found,
            });
        }
        if found > expected {
            return Err(IdxError::TrailingBytes {
                kind,
                expected,
                found,
            });
        }
        Ok(Images {
            count,
            channels,
            rows,
            cols,
            pixels,
        })
    }

    /// Number of images (the header's first dimension).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Number of images, the same as [`count`](Images::count).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Channels of each image (1 for grayscale, and for every rank-3 file).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Rows of each image (28 for MNIST).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of each image (28 for MNIST).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes in one image: channels × rows × columns (pixels, for grayscale).
    pub fn pixels_per_image(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All pixels, image after image, without copying them.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The bytes of image `i`: channel by channel, each row-major.
    ///
    /// # Panics
    /// If `i >= self.count()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Writes image `i` into `out` scaled to [0, 1] (pixel / 255), in (channel, row, column)
    /// order.
    ///
    /// # Panics
    /// If `i >= self.count()` or `N != channels * rows * cols`.
    pub fn write_unit<T: Scalar, const N: usize>(&self, i: usize, out: &mut SVector<T, N>) {
        to_unit(self.image(i), out);
    }

    /// Image `i` as a vector scaled to [0, 1]; see [`write_unit`](Images::write_unit).
    pub fn unit<T: Scalar, const N: usize>(&self, i: usize) -> SVector<T, N> {
        let mut v = SVector::zeros();
        self.write_unit(i, &mut v);
        v
    }

    /// Keeps the first `n` images (all of them if there are fewer).
    pub fn truncate(&mut self, n: usize) {
        self.count = self.count.min(n);
        self.pixels.truncate(self.count * self.pixels_per_image());
    }

    /// The first `n` images and the rest (`n` is clamped to the count).
    pub fn split_at(mut self, n: usize) -> (Images, Images) {
        let n = n.min(self.count);
        let rest = self.pixels.split_off(n * self.pixels_per_image());
        let (channels, rows, cols) = (self.channels, self.rows, self.cols);
        let tail = Images {
            count: self.count - n,
            channels,
            rows,
            cols,
            pixels: rest,
        };
        self.count = n;
        (self, tail)
    }
}

/// Writes bytes into `out` scaled to [0, 1] (byte / 255).
///
/// # Panics
/// If `pixels.len() != N`.
pub fn to_unit<T: Scalar, const N: usize>(pixels: &[u8], out: &mut SVector<T, N>) {
    assert_eq!(
        pixels.len(),
        N,
        "image has {} pixels, the vector {N}",
        pixels.len()
    );
    for (o, &p) in out.iter_mut().zip(pixels) {
        *o = T::of(f64::from(p) / 255.0);
    }
}

/// Loads an IDX images file (magic `0x00000803`), plain or gzip-compressed.
pub fn load_images(path: impl AsRef<Path>) -> Result<Images, IdxError> {
    load_kind(path.as_ref(), IdxKind::Images)
}

/// Loads an IDX file of images with channels (magic `0x00000804`: count, channels, rows,
/// columns), plain or gzip-compressed.
pub fn load_channel_images(path: impl AsRef<Path>) -> Result<Images, IdxError> {
    load_kind(path.as_ref(), IdxKind::ChannelImages)
}

fn load_kind(path: &Path, kind: IdxKind) -> Result<Images, IdxError> {
    let raw = load(path, kind)?;
    images(raw, kind).map_err(|e| e.in_file(path))
}

/// The images of a raw images stream (rank 3 has one channel).
fn images((dims, pixels): Raw, kind: IdxKind) -> Result<Images, IdxError> {
    let [count, a, b, c] = dims.map(|d| d as usize);
    match kind {
        IdxKind::ChannelImages => Images::with_channels(count, a, b, c, pixels),
        _ => Images::new(count, a, b, pixels),
    }
}

/// Loads an IDX labels file (magic `0x00000801`), plain or gzip-compressed.
pub fn load_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, IdxError> {
    load(path.as_ref(), IdxKind::Labels).map(|(_, labels)| labels)
}

/// Parses IDX images from bytes, plain or gzip-compressed.
pub fn parse_images(bytes: &[u8]) -> Result<Images, IdxError> {
    images(parse(bytes, IdxKind::Images)?, IdxKind::Images)
}

/// Parses IDX images with channels (rank 4) from bytes, plain or gzip-compressed.
pub fn parse_channel_images(bytes: &[u8]) -> Result<Images, IdxError> {
    let kind = IdxKind::ChannelImages;
    images(parse(bytes, kind)?, kind)
}

/// Parses IDX labels from bytes, plain or gzip-compressed.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    parse(bytes, IdxKind::Labels).map(|(_, labels)| labels)
}

/// Dimensions (unused ones 1) and payload.
type Raw = ([u32; 4], Vec<u8>);

fn parse(bytes: &[u8], kind: IdxKind) -> Result<Raw, IdxError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        // Reading a slice cannot fail: every error comes from the decoder.
        read_idx(&mut MultiGzDecoder::new(bytes), None, kind, |source| {
            IdxError::Gzip { source }
        })
    } else {
        read_idx(&mut { bytes }, Some(bytes.len() as u64), kind, |source| {
            IdxError::Gzip { source }
        })
    }
}

fn load(path: &Path, kind: IdxKind) -> Result<Raw, IdxError> {
    let io_err = |source| IdxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    // Pipes and devices report no usable length; then the data is read as it comes.
    let len = meta.is_file().then_some(meta.len());
    let mut reader = BufReader::new(FileReader(file));
    let gzip = reader
        .fill_buf()
        .map_err(|e| classify(e, path))?
        .starts_with(&GZIP_MAGIC);
    let raw = if gzip {
        read_idx(&mut MultiGzDecoder::new(reader), None, kind, |e| {
            classify(e, path)
        })
    } else {
        read_idx(&mut reader, len, kind, |e| classify(e, path))
    };
    raw.map_err(|e| e.in_file(path))
}

/// A file whose read errors are marked, so that an error surfacing from the gzip decoder can
/// be told apart: the file's own failure (I/O) or corrupt compressed data.
struct FileReader(File);

#[derive(Debug)]
struct FileFailed(io::Error);

impl fmt::Display for FileFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for FileFailed {}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), FileFailed(e)))
    }
}

fn classify(e: io::Error, path: &Path) -> IdxError {
    if e.get_ref().is_some_and(|inner| inner.is::<FileFailed>()) {
        let source = match e.into_inner().map(|inner| inner.downcast::<FileFailed>()) {
            Some(Ok(failed)) => failed.0,
            // Unreachable after the check above; keep whatever there is.
            Some(Err(other)) => io::Error::other(other),
            None => io::Error::other("unknown error"),
        };
        IdxError::Io {
            path: path.to_path_buf(),
            source,
        }
    } else {
        IdxError::Gzip { source: e }
    }
}

fn checked_product(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

/// Reads one IDX stream of `kind`. `len` is the stream's total length when it is known
/// without reading it (plain data), so a lying header is caught before any payload is read.
fn read_idx(
    r: &mut impl Read,
    len: Option<u64>,
    kind: IdxKind,
    err: impl Fn(io::Error) -> IdxError,
) -> Result<Raw, IdxError> {
    let header_len = kind.header_len();
    let mut header = [0u8; 20];
    // The magic first, on its own: a file of the wrong kind should say so, not "truncated".
    let got = read_full(r, &mut header[..4]).map_err(&err)?;
    let truncated_header = |found: usize| IdxError::Truncated {
        kind,
        part: Part::Header,
        expected: header_len as u64,
        found: found as u64,
    };
    if got < 4 {
        return Err(truncated_header(got));
    }
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if magic >> 16 != 0 {
        return Err(IdxError::BadMagic { kind, found: magic });
    }
    if header[2] != UNSIGNED_BYTE {
        return Err(IdxError::UnsupportedType { code: header[2] });
    }
    if magic != kind.magic() {
        return Err(IdxError::BadMagic { kind, found: magic });
    }
    let got = 4 + read_full(r, &mut header[4..header_len]).map_err(&err)?;
    if got < header_len {
        return Err(truncated_header(got));
    }

    let mut dims = [1u32; 4];
    for (d, bytes) in dims.iter_mut().zip(header[4..header_len].chunks_exact(4)) {
        *d = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let wide = dims.map(u64::from);
    let payload =
        checked_product(&wide[..kind.rank()]).ok_or_else(|| IdxError::DimensionOverflow {
            dims: dims[..kind.rank()].to_vec(),
        })?;
    if payload > MAX_PAYLOAD_BYTES {
        return Err(IdxError::TooLarge {
            limit: MAX_PAYLOAD_BYTES,
            claimed: payload,
        });
    }
    let mut data = Vec::new();
    if let Some(len) = len {
        let found = len.saturating_sub(header_len as u64);
        if found < payload {
            return Err(IdxError::Truncated {
                kind,
                part: Part::Payload,
                expected: payload,
                found,
            });
        }
        if found > payload {
            return Err(IdxError::TrailingBytes {
                kind,
                expected: payload,
                found,
            });
        }
        // The bytes are there: one exact allocation instead of repeated growth.
        data.reserve_exact(payload as usize);
    }
    // `take` bounds the read by the header's claim; `read_to_end` grows the buffer only as
    // bytes actually arrive.
    r.take(payload).read_to_end(&mut data).map_err(&err)?;
    let found = data.len() as u64;
    if found < payload {
        return Err(IdxError::Truncated {
            kind,
            part: Part::Payload,
            expected: payload,
            found,
        });
    }
    // Read to the end without storing anything: counts trailing bytes and lets the gzip
    // decoder reach (and check) its trailer.
    let extra = io::copy(&mut r.take(MAX_PAYLOAD_BYTES), &mut io::sink()).map_err(&err)?;
    if extra > 0 {
        return Err(IdxError::TrailingBytes {
            kind,
            expected: payload,
            found: payload + extra,
        });
    }
    Ok((dims, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Images {
        Images::new(3, 1, 2, vec![0, 51, 102, 153, 204, 255]).unwrap()
    }

    #[test]
    fn new_checks_the_pixel_count() {
        assert!(matches!(
            Images::new(2, 2, 2, vec![0; 7]),
            Err(IdxError::Truncated {
                expected: 8,
                found: 7,
                ..
            })
        ));
        assert!(matches!(
            Images::new(2, 2, 2, vec![0; 9]),
            Err(IdxError::TrailingBytes {
                expected: 8,
                found: 9,
                ..
            })
        ));
        assert!(matches!(
            Images::new(usize::MAX, usize::MAX, 2, Vec::new()),
            Err(IdxError::DimensionOverflow { .. })
        ));
    }

    #[test]
    fn split_and_truncate_keep_whole_images() {
        let (head, tail) = three().split_at(1);
        assert_eq!((head.count(), head.pixels()), (1, &[0, 51][..]));
        assert_eq!(
            (tail.count(), tail.pixels()),
            (2, &[102, 153, 204, 255][..])
        );
        let (all, none) = three().split_at(7);
        assert_eq!((all.count(), none.count(), none.pixels().len()), (3, 0, 0));
        let mut t = three();
        t.truncate(2);
        assert_eq!((t.count(), t.pixels().len()), (2, 4));
        t.truncate(5);
        assert_eq!(t.count(), 2);
    }

    #[test]
    fn unit_scaling_is_pixel_over_255() {
        let v: SVector<f64, 2> = three().unit(2);
        assert_eq!(v.as_slice(), &[204.0 / 255.0, 1.0]);
        let v: SVector<f32, 2> = three().unit(0);
        assert_eq!(v.as_slice(), &[0.0, 0.2]);
    }

    #[test]
    #[should_panic(expected = "image has 2 pixels, the vector 3")]
    fn unit_scaling_needs_the_right_size() {
        let _: SVector<f32, 3> = three().unit(0);
    }
}
