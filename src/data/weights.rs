//! A small binary file for a model's flat `f32` parameters, checked on load.
//!
//! Layout (all little-endian):
//!
//! | offset | bytes | content |
//! |---|---|---|
//! | 0 | 8 | magic `b"SNWEIGHT"` |
//! | 8 | 4 | format version, `u32` (1) |
//! | 12 | 8 | parameter count *n*, `u64` |
//! | 20 | 4*n* | the parameters, `f32` |
//! | 20 + 4*n* | 4 | CRC-32 (IEEE) of every byte before it, `u32` |
//!
//! Loading takes the count the caller expects and allocates for that many values only, never
//! for what a file's header claims; a mismatch is reported before any payload is read.
//! A file holding inf or NaN (the weights of a diverged training run) is refused unless
//! the caller asks for it with [`NonFinite::Allow`].
//!
//! [`save_network`] and [`load_network`] also speak safetensors: a path ending in
//! `.safetensors` is written as one, with every tensor's PyTorch name and shape, and a
//! safetensors file is recognised by its content when loading. That format carries the
//! architecture, so another network's file is refused naming the first tensor that differs,
//! where the flat format can only compare parameter counts.

use std::error::Error;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::read_full;

use stacknet_runtime::Network;

/// The first eight bytes of a weights file.
pub const WEIGHTS_MAGIC: [u8; 8] = *b"SNWEIGHT";
/// The format version this code writes and reads.
pub const WEIGHTS_VERSION: u32 = 1;
const HEADER_LEN: u64 = 20;

/// Why a weights file could not be written or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be created, written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file does not start with [`WEIGHTS_MAGIC`].
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Its first 8 bytes.
        found: [u8; 8],
    },
    /// A format version other than [`WEIGHTS_VERSION`] (a newer writer's file).
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the header.
        found: u32,
    },
    /// The file holds parameters for another model.
    CountMismatch {
        /// The file.
        path: PathBuf,
        /// The network's parameter count.
        expected: u64,
        /// The count in the file's header.
        found: u64,
    },
    /// The file ends early (sizes in bytes, the whole file).
    Truncated {
        /// The file.
        path: PathBuf,
        /// The length the header implies.
        expected: u64,
        /// The file's length.
        found: u64,
    },
    /// The file goes on after its checksum.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The length the header implies.
        expected: u64,
        /// The file's length.
        found: u64,
    },
    /// The stored checksum does not match the contents.
    Checksum {
        /// The file.
        path: PathBuf,
        /// The CRC-32 stored in the file.
        expected: u32,
        /// The CRC-32 of the bytes before it.
        found: u32,
    },
    /// A parameter is inf or NaN (and [`NonFinite::Allow`] was not asked for).
    NonFiniteValue {
        /// The file.
        path: PathBuf,

        /// The first such parameter, counting from 0 in file order.
        index: usize,
        /// Its value (an infinity or a NaN).
        value: f32,
    },
    /// A safetensors file that cannot be read or does not fit the network.
    Safetensors(Box<super::SafetensorsError>),
}

/// What loading does with parameters that are inf or NaN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonFinite {
    /// Fail with [`WeightsError::NonFiniteValue`]: such weights make every prediction NaN.
    #[default]
    Refuse,
    /// Load them as they are (to inspect a diverged run, say).
    Allow,
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WeightsError::*;
        match self {
            Io { path, source } => write!(f, "cannot access `{}`: {source}", path.display()),
            BadMagic { path, found } => write!(
                f,
                "`{}` is not a stacknet weights file: expected magic {:?}, found {:?}",
                path.display(),
                Bytes(&WEIGHTS_MAGIC),
                Bytes(found)
            ),
            UnsupportedVersion { path, found } => write!(
                f,
                "unsupported weights format version in `{}`: expected {WEIGHTS_VERSION}, found {found}",
                path.display()
            ),
            CountMismatch { path, expected, found } => write!(
                f,
                "weights in `{}` are for another model: expected {expected} parameters, found {found}",
                path.display()
            ),
            Truncated { path, expected, found } => write!(
                f,
                "truncated weights file `{}`: expected {expected} bytes, found {found}",
                path.display()
            ),
            TrailingBytes { path, expected, found } => write!(
                f,
                "weights file `{}` is longer than its header says: expected {expected} bytes, \
                 found {found}",
                path.display()
            ),
            Checksum { path, expected, found } => write!(
                f,
                "corrupt weights file `{}`: expected checksum {expected:#010x}, found {found:#010x}",
                path.display()
            ),
            NonFiniteValue { path, index, value } => write!(
                f,
                "`{}` holds a non-finite weight: expected finite values, found {value} at index \
                 {index}; load with `NonFinite::Allow` to accept it",
                path.display()
            ),
            Safetensors(error) => error.fmt(f),
        }
    }
}

impl Error for WeightsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WeightsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Magic bytes shown as a string when printable, else as hex.
struct Bytes<'a>(&'a [u8; 8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|b| b.is_ascii_graphic()) {
            write!(f, "b\"{}\"", self.0.escape_ascii())
        } else {
            for b in self.0 {
                write!(f, "{b:02x}")?;
            }
            Ok(())
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, as in zip and gzip), updated byte by byte: the files are
/// small and a table is not worth its 1 KiB.
#[derive(Clone, Copy)]
struct Crc32(u32);

impl Crc32 {
    fn new() -> Self {
        Crc32(!0)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            for _ in 0..8 {
                let mask = (self.0 & 1).wrapping_neg();
                self.0 = (self.0 >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
    }

    fn finish(self) -> u32 {
        !self.0
    }
}

/// Writes `params` to `path`, through a temporary file renamed into place, so an
/// interrupted save never leaves a half-written file under the final name.
pub fn save_weights(path: impl AsRef<Path>, params: &[f32]) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> io::Result<()> {
        let mut out = BufWriter::new(File::create(&tmp)?);
        write_weights(&mut out, params)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()
    };
    let io_err = |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    fs::rename(&tmp, path).map_err(io_err)
}

/// Writes the file format to any writer.
pub fn write_weights(out: &mut impl Write, params: &[f32]) -> io::Result<()> {
    let mut crc = Crc32::new();
    let mut put = |bytes: &[u8]| -> io::Result<()> {
        crc.update(bytes);
        out.write_all(bytes)
    };
    put(&WEIGHTS_MAGIC)?;
    put(&WEIGHTS_VERSION.to_le_bytes())?;
    put(&(params.len() as u64).to_le_bytes())?;
    for p in params {
        put(&p.to_le_bytes())?;
    }
    out.write_all(&crc.finish().to_le_bytes())
}

/// Reads a weights file that must hold exactly `expected` finite parameters.
pub fn load_weights(path: impl AsRef<Path>, expected: usize) -> Result<Vec<f32>, WeightsError> {
    load_weights_with(path, expected, NonFinite::Refuse)
}

/// [`load_weights`], saying what to do with inf and NaN.
pub fn load_weights_with(
    path: impl AsRef<Path>,
    expected: usize,
    non_finite: NonFinite,
) -> Result<Vec<f32>, WeightsError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| WeightsError::Io {
        path: path.into(),
        source,
    })?;
    read_weights_with(&mut BufReader::new(file), path, expected, non_finite)
}

/// Reads a weights file into `out`, which must have the file's parameter count; `out` is left
/// unchanged on any error.
pub fn load_weights_into(path: impl AsRef<Path>, out: &mut [f32]) -> Result<(), WeightsError> {
    let params = load_weights(path, out.len())?;
    out.copy_from_slice(&params);
    Ok(())
}

/// Saves a network's parameters, in their PyTorch order, then its buffers (batch norm's
/// running statistics, which inference uses): the flat format holds `PARAMS + BUFFERS`
/// values. A path ending in `.safetensors` is written as safetensors, with every name.
pub fn save_network<N: Network<f32>>(path: impl AsRef<Path>, net: &N) -> Result<(), WeightsError> {
    let path = path.as_ref();
    if is_safetensors_path(path) {
        return super::save_safetensors(path, net)
            .map_err(|e| WeightsError::Safetensors(Box::new(e)));
    }
    let mut values = vec![0.0; N::PARAMS];
    net.copy_params_to(&mut values)
        .expect("the buffer has `N::PARAMS` values");
    values.extend(buffers(net));
    save_weights(path, &values)
}

/// Loads a network's parameters and buffers saved by [`save_network`] (either format, told
/// apart by the content), refusing inf and NaN; the network is unchanged on error. A flat file
/// must hold `PARAMS + BUFFERS` values: one written for a batch-norm network before buffers
/// were saved is refused by its count, as it lacks the running statistics.
pub fn load_network<N: Network<f32>>(
    path: impl AsRef<Path>,
    net: &mut N,
) -> Result<(), WeightsError> {
    load_network_with(path, net, NonFinite::Refuse)
}

/// [`load_network`], saying what to do with inf and NaN.
pub fn load_network_with<N: Network<f32>>(
    path: impl AsRef<Path>,
    net: &mut N,
    non_finite: NonFinite,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let mut magic = [0u8; 8];
    let n = File::open(path)
        .and_then(|mut f| read_full(&mut f, &mut magic))
        .map_err(|source| WeightsError::Io {
            path: path.into(),
            source,
        })?;
    if n == magic.len() && magic != WEIGHTS_MAGIC && is_safetensors_path(path) {
        return load_safetensors_network(path, net, non_finite);
    }
    let values = load_weights_with(path, N::PARAMS + N::BUFFERS, non_finite)?;
    let (params, stats) = values.split_at(N::PARAMS);
    net.copy_params_from(params)
        .expect("the buffer has `N::PARAMS` values");
    set_buffers(net, stats);
    Ok(())
}

/// A network's buffers (batch norm's running statistics), tensor after tensor.
fn buffers<N: Network<f32>>(net: &N) -> Vec<f32> {
    (0..N::RUNNING_STATS)
        .flat_map(|i| net.running_stats(i).iter().copied())
        .collect()
}

/// [`buffers`] written back from `values` (`N::BUFFERS` of them).
fn set_buffers<N: Network<f32>>(net: &mut N, mut values: &[f32]) {
    for i in 0..N::RUNNING_STATS {
        let out = net.running_stats_mut(i);
        let (now, rest) = values.split_at(out.len());
        out.copy_from_slice(now);
        values = rest;
    }
}

/// Whether `path` names a safetensors file (by its extension, as PyTorch's tools do).
fn is_safetensors_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

/// A safetensors file into `net`: every tensor checked by name, shape and dtype, then the
/// values checked for inf and NaN; on any error the network keeps its parameters.
fn load_safetensors_network<N: Network<f32>>(
    path: &Path,
    net: &mut N,
    non_finite: NonFinite,
) -> Result<(), WeightsError> {
    let mut before = vec![0.0; N::PARAMS];
    net.copy_params_to(&mut before)
        .expect("the buffer has `N::PARAMS` values");
    let buffers_before = buffers(net);
    super::load_safetensors(path, net).map_err(|e| WeightsError::Safetensors(Box::new(e)))?;
    if non_finite == NonFinite::Refuse {
        let mut after = vec![0.0; N::PARAMS];
        net.copy_params_to(&mut after)
            .expect("the buffer has `N::PARAMS` values");
        // A buffer's index counts on from the parameters'.
        after.extend(buffers(net));
        if let Some((index, &value)) = after.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            net.copy_params_from(&before)
                .expect("the buffer has `N::PARAMS` values");
            set_buffers(net, &buffers_before);
            return Err(WeightsError::NonFiniteValue {
                path: path.into(),
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Reads the format from `r`, which must hold exactly `expected` finite parameters; `path`
/// only names the source in errors.
pub fn read_weights(
    r: &mut impl Read,
    path: &Path,
    expected: usize,
) -> Result<Vec<f32>, WeightsError> {
    read_weights_with(r, path, expected, NonFinite::Refuse)
}

/// [`read_weights`], saying what to do with inf and NaN.
pub fn read_weights_with(
    r: &mut impl Read,
    path: &Path,
    expected: usize,
    non_finite: NonFinite,
) -> Result<Vec<f32>, WeightsError> {
    let io_err = |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let total = HEADER_LEN + 4 * expected as u64 + 4;
    let truncated = |found: u64| WeightsError::Truncated {
        path: path.into(),
        expected: total,
        found,
    };

    let mut header = [0u8; HEADER_LEN as usize];
    let got = read_full(r, &mut header).map_err(io_err)?;
    if got < WEIGHTS_MAGIC.len() || header[..8] != WEIGHTS_MAGIC {
        // A file cut inside a correct magic is truncated; anything else is not ours.
        if got < WEIGHTS_MAGIC.len() && WEIGHTS_MAGIC.starts_with(&header[..got]) {
            return Err(truncated(got as u64));
        }
        let mut found = [0u8; 8];
        found.copy_from_slice(&header[..8]);
        return Err(WeightsError::BadMagic {
            path: path.into(),
            found,
        });
    }
    if got < header.len() {
        return Err(truncated(got as u64));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != WEIGHTS_VERSION {
        return Err(WeightsError::UnsupportedVersion {
            path: path.into(),
            found: version,
        });
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&header[12..20]);
    let found = u64::from_le_bytes(count);
    if found != expected as u64 {
        let expected = expected as u64;
        return Err(WeightsError::CountMismatch {
            path: path.into(),
            expected,
            found,
        });
    }

    let mut crc = Crc32::new();
    crc.update(&header);
    // The caller's count, not the header's, sizes the buffer (they agree by now anyway).
    let mut params = Vec::with_capacity(expected);
    let mut buf = [0u8; 4096];
    let mut read = HEADER_LEN;
    while params.len() < expected {
        let want = ((expected - params.len()) * 4).min(buf.len());
        let got = read_full(r, &mut buf[..want]).map_err(io_err)?;
        read += got as u64;
        if got < want {
            return Err(truncated(read));
        }
        crc.update(&buf[..want]);
        let values = buf[..want].chunks_exact(4);
        params.extend(values.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
    }
    let mut stored = [0u8; 4];
    let got = read_full(r, &mut stored).map_err(io_err)?;
    if got < stored.len() {
        return Err(truncated(read + got as u64));
    }
    // Count what follows without storing it (bounded, in case `r` never ends).
    let extra = io::copy(&mut r.take(1 << 30), &mut io::sink()).map_err(io_err)?;
    if extra > 0 {
        let found = total + extra;
        return Err(WeightsError::TrailingBytes {
            path: path.into(),
            expected: total,
            found,
        });
    }
    let (stored, computed) = (u32::from_le_bytes(stored), crc.finish());
    if stored != computed {
        let (expected, found) = (stored, computed);
        return Err(WeightsError::Checksum {
            path: path.into(),
            expected,
            found,
        });
    }
    // After the checksum: a corrupt file is reported as corrupt, not as holding a NaN.
    if non_finite == NonFinite::Refuse {
        if let Some(index) = params.iter().position(|v| !v.is_finite()) {
            let value = params[index];
            let path = path.into();
            return Err(WeightsError::NonFiniteValue { path, index, value });
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(bytes: &[u8], expected: usize) -> Result<Vec<f32>, WeightsError> {
        read_weights(&mut { bytes }, Path::new("w.bin"), expected)
    }

    fn encode(params: &[f32]) -> Vec<u8> {
        let mut v = Vec::new();
        write_weights(&mut v, params).unwrap();
        v
    }

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        let mut c = Crc32::new();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xCBF4_3926);
        assert_eq!(Crc32::new().finish(), 0);
    }

    #[test]
    fn layout_is_as_documented() {
        let bytes = encode(&[1.0, -2.5]);
        let mut expected = b"SNWEIGHT".to_vec();
        expected.extend([1, 0, 0, 0]); // version
        expected.extend([2, 0, 0, 0, 0, 0, 0, 0]); // count
        expected.extend([0x00, 0x00, 0x80, 0x3F]); // 1.0f32 = 0x3F800000
        expected.extend([0x00, 0x00, 0x20, 0xC0]); // -2.5f32 = 0xC0200000
        assert_eq!(bytes[..bytes.len() - 4], expected[..]);
        let mut c = Crc32::new();
        c.update(&expected);
        assert_eq!(bytes[bytes.len() - 4..], c.finish().to_le_bytes());
    }

    #[test]
    fn round_trip_through_a_file_is_bit_exact() {
        let dir = std::env::temp_dir().join(format!("stacknet-weights-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.weights");
        // More than one read buffer's worth, with values whose bits must survive.
        let mut params: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        params[7] = f32::MIN_POSITIVE / 2.0; // subnormal
        params[8] = -0.0;
        params[9] = f32::MAX;
        save_weights(&path, &params).unwrap();
        assert!(
            !dir.join("net.weights.tmp").exists(),
            "temporary file left behind"
        );
        let back = load_weights(&path, params.len()).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&params));
        let mut out = vec![0.0; params.len()];
        load_weights_into(&path, &mut out).unwrap();
        assert_eq!(bits(&out), bits(&params));
        // A wrong count leaves the destination as it was.
        let mut short = vec![7.0f32; 10];
        assert!(matches!(
            load_weights_into(&path, &mut short),
            Err(WeightsError::CountMismatch {
                expected: 10,
                found: 5000,
                ..
            })
        ));
        assert_eq!(short, vec![7.0; 10]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let e = load_weights("/nonexistent/stacknet.weights", 3).unwrap_err();
        assert!(matches!(e, WeightsError::Io { .. }));
        assert!(
            e.to_string()
                .starts_with("cannot access `/nonexistent/stacknet.weights`: "),
            "{e}"
        );
    }

    #[test]
    fn empty_parameter_vector_round_trips() {
        assert_eq!(load(&encode(&[]), 0).unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn every_truncation_is_reported() {
        let bytes = encode(&[0.5; 3]);
        assert_eq!(bytes.len(), 20 + 12 + 4);
        for cut in 0..bytes.len() {
            match load(&bytes[..cut], 3) {
                Err(WeightsError::Truncated {
                    expected: 36,
                    found,
                    ..
                }) => {
                    assert_eq!(found, cut as u64)
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_count_is_reported_before_the_payload() {
        // Header only, claiming a huge count: must fail on the count, allocating nothing.
        let mut bytes = encode(&[]);
        bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = load(&bytes[..20], 61_706).unwrap_err();
        assert!(matches!(
            e,
            WeightsError::CountMismatch {
                expected: 61_706,
                found: u64::MAX,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            format!(
                "weights in `w.bin` are for another model: expected 61706 parameters, found {}",
                u64::MAX
            )
        );
    }

    #[test]
    fn bad_magic_and_version() {
        let e = load(b"PK\x03\x04 this is a zip file", 1).unwrap_err();
        assert!(matches!(e, WeightsError::BadMagic { found, .. } if &found == b"PK\x03\x04 thi"));
        assert_eq!(
            e.to_string(),
            "`w.bin` is not a stacknet weights file: expected magic b\"SNWEIGHT\", \
             found 504b030420746869"
        );
        let mut bytes = encode(&[1.0]);
        bytes[8] = 2;
        assert!(matches!(
            load(&bytes, 1),
            Err(WeightsError::UnsupportedVersion { found: 2, .. })
        ));
    }

    #[test]
    fn any_flipped_bit_fails_the_checksum() {
        let bytes = encode(&[1.0, 2.0, 3.0]);
        // Every bit of the payload and of the checksum itself.
        for bit in 20 * 8..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(load(&bad, 3), Err(WeightsError::Checksum { .. })),
                "bit {bit} flipped went unnoticed"
            );
        }
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut bytes = encode(&[1.0]);
        bytes.extend([0; 3]);
        assert!(matches!(
            load(&bytes, 1),
            Err(WeightsError::TrailingBytes {
                expected: 28,
                found: 31,
                ..
            })
        ));
    }

    #[test]
    fn non_finite_weights_are_refused_unless_allowed() {
        for (bad, shown) in [
            (f32::NAN, "NaN"),
            (f32::INFINITY, "inf"),
            (-f32::INFINITY, "-inf"),
        ] {
            let bytes = encode(&[1.0, 2.0, bad, 3.0]);
            let e = load(&bytes, 4).unwrap_err();
            assert!(
                matches!(e, WeightsError::NonFiniteValue { index: 2, .. }),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "`w.bin` holds a non-finite weight: expected finite values, found {shown} \
                     at index 2; load with `NonFinite::Allow` to accept it"
                )
            );
            let back = read_weights_with(&mut &bytes[..], Path::new("w.bin"), 4, NonFinite::Allow);
            let back = back.unwrap();
            assert_eq!(back[2].to_bits(), bad.to_bits());
        }
        // A corrupt file is reported as corrupt, whatever its values.
        let mut bytes = encode(&[f32::NAN]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(
            load(&bytes, 1),
            Err(WeightsError::Checksum { .. })
        ));
    }
}
