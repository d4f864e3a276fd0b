//! safetensors files for whole networks: saved with PyTorch's `state_dict` names, shapes and
//! dtype, loaded with every tensor's name, shape and dtype checked.
//!
//! The format and its checks live in the `no_std` runtime
//! ([`stacknet_runtime::safetensors`]); this adds files, writers and owned errors.
//!
//! ```no_run
//! # use stacknet::prelude::*;
//! # network! { pub struct Net(input: [4]) { fc: dense(2) } }
//! use stacknet::data::{load_safetensors, save_safetensors};
//! let mut net = Net::<f32>::new(&mut SplitMix64::new(1));
//! save_safetensors("net.safetensors", &net)?; // `safetensors.torch.load_file` reads it
//! load_safetensors("net.safetensors", &mut net)?;
//! # Ok::<(), stacknet::data::SafetensorsError>(())
//! ```

use std::error::Error;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use stacknet_runtime::safetensors::{self as st, SafeTensors};
use stacknet_runtime::{Params, Scalar};

/// Why a safetensors file could not be written, read or loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum SafetensorsError {
    /// The file could not be created, written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not valid safetensors, or does not fit the network (which is unchanged).
    Invalid {
        /// The file.
        path: PathBuf,

        /// Boxed: it holds both shapes and the network tensor's description.
        error: Box<st::Error<String>>,
    },
}

impl fmt::Display for SafetensorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SafetensorsError::Io { path, source } => {
                write!(f, "cannot access `{}`: {source}", path.display())
            }
            SafetensorsError::Invalid { path, error } => write!(f, "`{}`: {error}", path.display()),
        }
    }
}

impl Error for SafetensorsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SafetensorsError::Io { source, .. } => Some(source),
            SafetensorsError::Invalid { .. } => None,
        }
    }
}

/// The whole file, in memory.
pub fn to_safetensors<T: Scalar, P: Params<T>>(params: &P) -> Vec<u8> {
    let mut out = vec![0; st::exported_len::<T, P>()];
    let n = st::export_to_slice(params, &mut out).expect("sized by `exported_len`");
    debug_assert_eq!(n, out.len());
    out
}

/// Writes the file to any writer (buffer it: the header goes out in small pieces).
pub fn write_safetensors<T: Scalar, P: Params<T>>(
    out: &mut impl Write,
    params: &P,
) -> io::Result<()> {
    st::export(params, |bytes: &[u8]| out.write_all(bytes))
}

/// Saves a network (or any [`Params`]) as safetensors, through a temporary file renamed into
/// place so that an interrupted save never leaves half a file under the final name.
pub fn save_safetensors<T: Scalar, P: Params<T>>(
    path: impl AsRef<Path>,
    params: &P,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> io::Result<()> {
        let mut out = BufWriter::new(File::create(&tmp)?);
        write_safetensors(&mut out, params)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()
    };
    let io_err = |source| SafetensorsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    fs::rename(&tmp, path).map_err(io_err)
}

/// Loads every tensor of a network (or any [`Params`]) from a safetensors file by its
/// `state_dict` name, converting F16/BF16/F32/F64; on any error the network is unchanged.
///
/// The file is read whole: memory is the file's actual size, never what its header claims.
pub fn load_safetensors<T: Scalar, P: Params<T>>(
    path: impl AsRef<Path>,
    params: &mut P,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| SafetensorsError::Io {
        path: path.into(),
        source,
    })?;
    load_safetensors_bytes(&bytes, params).map_err(|error| SafetensorsError::Invalid {
        path: path.into(),
        error,
    })
}

/// [`load_safetensors`] from bytes in memory, with an owned error.
pub fn load_safetensors_bytes<T: Scalar, P: Params<T>>(
    bytes: &[u8],
    params: &mut P,
) -> Result<(), Box<st::Error<String>>> {
    let owned = |e: st::ReadError<'_>| Box::new(e.map_names(|n| n.to_string()));
    let file = SafeTensors::parse(bytes).map_err(owned)?;
    st::load_params(params, &file).map_err(owned)
}
