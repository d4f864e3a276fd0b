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
//!
//! The `_with` functions put a network and its fitted preprocessing (a
//! [`Standardizer`](stacknet_runtime::data::Standardizer) or
//! [`MinMaxScaler`](stacknet_runtime::data::MinMaxScaler), any [`Params`]) in one file, so that
//! a model never meets inputs scaled otherwise than in training:
//!
//! ```no_run
//! # use stacknet::prelude::*;
//! # network! { pub struct Net(input: [4]) { fc: dense(2) } }
//! use stacknet::data::{load_safetensors_with, save_safetensors_with};
//! use stacknet::runtime::data::Standardizer;
//! # let train = [SVector::<f32, 4>::zeros()];
//! let scaler = Standardizer::fit(&train).unwrap();
//! let net = Net::<f32>::new(&mut SplitMix64::new(1));
//! save_safetensors_with("net.safetensors", &net, &scaler)?; // fc.*, then standardizer.*
//!
//! let mut back = Net::<f32>::new(&mut SplitMix64::new(2));
//! let mut scaler = Standardizer::<f32, 4> { mean: SVector::zeros(), std: SVector::zeros() };
//! load_safetensors_with("net.safetensors", &mut back, &mut scaler)?;
//! # Ok::<(), stacknet::data::SafetensorsError>(())
//! ```

use std::error::Error;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use stacknet_runtime::safetensors::{self as st, SafeTensors};
use stacknet_runtime::{Network, Params, Scalar};

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
    /// The file is not valid safetensors, or does not fit the network (which is unchanged);
    /// or, saving a network with tensors beside it, names that cannot share a file
    /// ([`Collision`](st::Error::Collision), found before the file is created).
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
pub fn to_safetensors<T: Scalar, N: Network<T>>(net: &N) -> Vec<u8> {
    let mut out = vec![0; st::exported_state_len::<T, N>()];
    let n = st::export_state_to_slice(net, &mut out).expect("sized by `exported_state_len`");
    debug_assert_eq!(n, out.len());
    out
}

/// Writes the file to any writer (buffer it: the header goes out in small pieces).
pub fn write_safetensors<T: Scalar, N: Network<T>>(
    out: &mut impl Write,
    net: &N,
) -> io::Result<()> {
    st::export_state(net, |bytes: &[u8]| out.write_all(bytes))
}

/// Saves a network's `state_dict` (its parameters, and batch norm's running statistics and
/// `num_batches_tracked` as PyTorch keeps them) as safetensors, through a temporary file
/// renamed into place so that an interrupted save never leaves half a file under the final
/// name.
pub fn save_safetensors<T: Scalar, N: Network<T>>(
    path: impl AsRef<Path>,
    net: &N,
) -> Result<(), SafetensorsError> {
    save_with(path.as_ref(), |out| write_safetensors(out, net))
}

/// Saves any [`Params`] (a lone layer, a set of named tensors that is not a network, such as
/// an input and its outputs) as safetensors, its parameters only, as [`save_safetensors`] does.
pub fn save_params_safetensors<T: Scalar, P: Params<T>>(
    path: impl AsRef<Path>,
    params: &P,
) -> Result<(), SafetensorsError> {
    save_with(path.as_ref(), |out| {
        st::export(params, |bytes: &[u8]| out.write_all(bytes))
    })
}

/// Saves a network's `state_dict` (as [`save_safetensors`] does) and then the tensors of
/// `extra` in one safetensors file: any [`Params`], typically the preprocessing fitted on the
/// training data ([`Standardizer`](stacknet_runtime::data::Standardizer)'s
/// `standardizer.mean` and `standardizer.std`,
/// [`MinMaxScaler`](stacknet_runtime::data::MinMaxScaler)'s `min_max.min`, `min_max.range`,
/// `min_max.a` and `min_max.b`), so that it travels with the weights. Through a temporary file
/// renamed into place, as [`save_safetensors`].
///
/// A tensor of `extra` named like one of the network's, or a network layer under `extra`'s
/// prefix (a layer called `standardizer` beside a `Standardizer`), is refused as
/// [`SafetensorsError::Invalid`] with [`Collision`](st::Error::Collision) before any file is
/// created ([`st::name_collision`]).
pub fn save_safetensors_with<T: Scalar, N: Network<T>, P: Params<T>>(
    path: impl AsRef<Path>,
    net: &N,
    extra: &P,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    distinct_names::<T, N, P>().map_err(|error| SafetensorsError::Invalid {
        path: path.into(),
        error,
    })?;
    save_with(path, |out| {
        st::export_state_with(net, extra, |bytes: &[u8]| out.write_all(bytes)).map_err(
            |e| match e {
                st::ExportError::Sink(e) => e,
                // Refused above; cannot happen.
                collision => io::Error::other(collision.to_string()),
            },
        )
    })
}

/// [`save_safetensors_with`]'s file, in memory.
pub fn to_safetensors_with<T: Scalar, N: Network<T>, P: Params<T>>(
    net: &N,
    extra: &P,
) -> Result<Vec<u8>, Box<st::Error<String>>> {
    distinct_names::<T, N, P>()?;
    let mut out = vec![0; st::exported_state_with_len::<T, N, P>()];
    let n = st::export_state_with_to_slice(net, extra, &mut out)
        .expect("sized by `exported_state_with_len`, names checked");
    debug_assert_eq!(n, out.len());
    Ok(out)
}

/// [`Collision`](st::Error::Collision) if `P`'s tensors cannot share a file with `N`'s
/// ([`st::name_collision`]).
fn distinct_names<T: Scalar, N: Network<T>, P: Params<T>>() -> Result<(), Box<st::Error<String>>> {
    match st::name_collision::<T, N, P>() {
        Some((tensor, other)) => Err(Box::new(st::Error::Collision { tensor, other })),
        None => Ok(()),
    }
}

fn save_with(
    path: &Path,
    write_all: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), SafetensorsError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> io::Result<()> {
        let mut out = BufWriter::new(File::create(&tmp)?);
        write_all(&mut out)?;
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

/// Loads every tensor of a network's `state_dict` (parameters and buffers) from a safetensors
/// file by name, converting F16/BF16/F32/F64 (and `I64` counts); on any error the network is
/// unchanged.
///
/// The file is read whole: memory is the file's actual size, never what its header claims.
///
/// A file saved with preprocessing beside the weights ([`save_safetensors_with`]) is refused
/// like any file holding more than the network, the error naming the first tensor the
/// network lacks (``the file has a tensor `standardizer.mean` of shape [4] that the network
/// does not``), as PyTorch's `load_state_dict(strict=True)` refuses it: nothing in a file is
/// skipped silently. Load such a file with [`load_safetensors_with`].
pub fn load_safetensors<T: Scalar, N: Network<T>>(
    path: impl AsRef<Path>,
    net: &mut N,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| SafetensorsError::Io {
        path: path.into(),
        source,
    })?;
    load_safetensors_bytes(&bytes, net).map_err(|error| SafetensorsError::Invalid {
        path: path.into(),
        error,
    })
}

/// [`load_safetensors`] from bytes in memory, with an owned error.
pub fn load_safetensors_bytes<T: Scalar, N: Network<T>>(
    bytes: &[u8],
    net: &mut N,
) -> Result<(), Box<st::Error<String>>> {
    let owned = |e: st::ReadError<'_>| Box::new(e.map_names(|n| n.to_string()));
    let file = SafeTensors::parse(bytes).map_err(owned)?;
    st::load_state(net, &file).map_err(owned)
}

/// Loads a network's `state_dict` and every tensor of `extra` (a fitted scaler, any
/// [`Params`]) from one safetensors file, as [`save_safetensors_with`] writes it.
///
/// Strict over both, as [`load_safetensors`] is over the network: a file without `extra`'s
/// tensors (one saved by [`save_safetensors`]) is refused naming the first of them
/// ([`Missing`](st::Error::Missing)), a tensor of neither is
/// [`Unexpected`](st::Error::Unexpected), names that cannot share a file are a
/// [`Collision`](st::Error::Collision) ([`st::name_collision`]); on any error neither `net`
/// nor `extra` is changed.
pub fn load_safetensors_with<T: Scalar, N: Network<T>, P: Params<T>>(
    path: impl AsRef<Path>,
    net: &mut N,
    extra: &mut P,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| SafetensorsError::Io {
        path: path.into(),
        source,
    })?;
    load_safetensors_with_bytes(&bytes, net, extra).map_err(|error| SafetensorsError::Invalid {
        path: path.into(),
        error,
    })
}

/// [`load_safetensors_with`] from bytes in memory, with an owned error.
pub fn load_safetensors_with_bytes<T: Scalar, N: Network<T>, P: Params<T>>(
    bytes: &[u8],
    net: &mut N,
    extra: &mut P,
) -> Result<(), Box<st::Error<String>>> {
    let owned = |e: st::ReadError<'_>| Box::new(e.map_names(|n| n.to_string()));
    let file = SafeTensors::parse(bytes).map_err(owned)?;
    st::load_state_with(net, extra, &file).map_err(owned)
}
