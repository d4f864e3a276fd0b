//! What can be wrong with a safetensors file, or with a file for another network: each
//! error names the tensor, and both shapes where two are involved.

use super::{Dtype, FileShape, JsonError, JsonStr, MAX_RANK};
use crate::TensorInfo;
use core::fmt;

/// Why a file could not be read or loaded. `N` is how a file's tensor names are held:
/// [`JsonStr`] borrowing the bytes here, `String` in the `std` facade.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<N> {
    /// Fewer than the 8 bytes of the header length.
    TooShort {
        /// The file's length in bytes.
        len: usize,
    },
    /// The header length claims more bytes than the file has after it.
    HeaderTooLarge {
        /// The header length the first 8 bytes declare.
        header_len: u64,
        /// The file's length in bytes, those 8 included.
        file_len: usize,
    },
    /// The header is not valid JSON (or not UTF-8); `offset` counts from the header's start.
    Json(JsonError),
    /// A tensor entry (or `__metadata__`) is not of the form the format defines.
    BadEntry {
        /// The entry's key (`__metadata__` for the metadata).
        tensor: N,
        /// What is wrong (`"missing `dtype`"`).
        reason: &'static str,
    },
    /// A `dtype` the format does not define.
    UnknownDtype {
        /// The tensor's name.
        tensor: N,
        /// The dtype as written.
        dtype: N,
    },
    /// A shape with more than [`MAX_RANK`] dimensions.
    RankTooHigh {
        /// The tensor's name.
        tensor: N,
    },
    /// `data_offsets` run backwards.
    BadOffsets {
        /// The tensor's name.
        tensor: N,
        /// Its first byte, counted from the start of the data (after the header).
        start: u64,
        /// One past its last byte, likewise; here below `start`.
        end: u64,
    },
    /// The bytes between the offsets are not shape × dtype size (`bytes` is `end − start`).
    SizeMismatch {
        /// The tensor's name.
        tensor: N,
        /// Its declared dtype.
        dtype: Dtype,
        /// Its declared shape.
        shape: FileShape,
        /// The bytes its offsets span.
        bytes: u64,
    },
    /// A tensor ends past the end of the file.
    Truncated {
        /// The tensor's name.
        tensor: N,
        /// One past its last byte, counted from the start of the data.
        end: u64,
        /// The data's length in bytes (the file after the header).
        data_len: u64,
    },
    /// Two tensors share bytes.
    Overlap {
        /// One tensor's name.
        tensor: N,
        /// The other's.
        other: N,
    },
    /// The tensors do not cover the data exactly: holes, or bytes after the last tensor.
    Uncovered {
        /// The bytes the tensors span together.
        covered: u64,
        /// The data's length in bytes.
        data_len: u64,
    },
    /// Two entries with the same name.
    Duplicate {
        /// The repeated name.
        tensor: N,
    },
    /// More tensors than [`MAX_TENSORS`](super::MAX_TENSORS), the bound that keeps the
    /// overlap check's work bounded.
    TooManyTensors {
        /// The limit.
        max: usize,
    },
    /// The network has a tensor the file does not.
    Missing {
        /// The network's tensor (name, shape).
        expected: TensorInfo,
    },
    /// The file has a tensor the network does not.
    Unexpected {
        /// The file's tensor name.
        tensor: N,
        /// Its shape in the file.
        shape: FileShape,
    },
    /// A tensor of the network's name with another shape.
    WrongShape {
        /// The network's tensor, with the shape it needs.
        expected: TensorInfo,
        /// The shape in the file.
        found: FileShape,
    },
    /// The file's dtype is not a float type loading converts.
    WrongDtype {
        /// The network's tensor.
        expected: TensorInfo,
        /// The dtype in the file.
        found: Dtype,
    },
    /// A tensor saved or loaded beside a network (a fitted scaler's) has the name of one of
    /// the network's, or of an earlier one beside it, or claims a prefix the network has tensors
    /// under (a layer called `standardizer` beside a
    /// [`Standardizer`](crate::data::Standardizer)'s `standardizer.mean`): one file cannot hold
    /// both. Found before anything is read or written.
    Collision {
        /// The tensor beside the network.
        tensor: TensorInfo,
        /// The earlier tensor it collides with (the network's, or one beside it).
        other: TensorInfo,
    },
}

/// The error of reading a byte slice: names borrow it.
pub type ReadError<'a> = Error<JsonStr<'a>>;

impl<N> From<JsonError> for Error<N> {
    fn from(e: JsonError) -> Self {
        Error::Json(e)
    }
}

impl<N> Error<N> {
    /// The same error with its file names converted (to owned strings, say).
    pub fn map_names<M>(self, mut f: impl FnMut(N) -> M) -> Error<M> {
        use Error::*;
        match self {
            TooShort { len } => TooShort { len },
            HeaderTooLarge {
                header_len,
                file_len,
            } => HeaderTooLarge {
                header_len,
                file_len,
            },
            Json(e) => Json(e),
            BadEntry { tensor, reason } => BadEntry {
                tensor: f(tensor),
                reason,
            },
            UnknownDtype { tensor, dtype } => UnknownDtype {
                tensor: f(tensor),
                dtype: f(dtype),
            },
            RankTooHigh { tensor } => RankTooHigh { tensor: f(tensor) },
            BadOffsets { tensor, start, end } => BadOffsets {
                tensor: f(tensor),
                start,
                end,
            },
            SizeMismatch {
                tensor,
                dtype,
                shape,
                bytes,
            } => SizeMismatch {
                tensor: f(tensor),
                dtype,
                shape,
                bytes,
            },
            Truncated {
                tensor,
                end,
                data_len,
            } => Truncated {
                tensor: f(tensor),
                end,
                data_len,
            },
            Overlap { tensor, other } => {
                let tensor = f(tensor);
                Overlap {
                    tensor,
                    other: f(other),
                }
            }
            Uncovered { covered, data_len } => Uncovered { covered, data_len },
            Duplicate { tensor } => Duplicate { tensor: f(tensor) },
            TooManyTensors { max } => TooManyTensors { max },
            Missing { expected } => Missing { expected },
            Unexpected { tensor, shape } => Unexpected {
                tensor: f(tensor),
                shape,
            },
            WrongShape { expected, found } => WrongShape { expected, found },
            WrongDtype { expected, found } => WrongDtype { expected, found },
            Collision { tensor, other } => Collision { tensor, other },
        }
    }
}

impl<N: fmt::Display> fmt::Display for Error<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            TooShort { len } => write!(
                f,
                "not a safetensors file: expected at least 8 bytes, found {len}"
            ),
            HeaderTooLarge {
                header_len,
                file_len,
            } => write!(
                f,
                "safetensors header claims {header_len} bytes but the file has only {} after \
                 the length",
                file_len.saturating_sub(8)
            ),
            Json(e) => write!(
                f,
                "malformed safetensors header at byte {} of the JSON: {}",
                e.offset, e.reason
            ),
            BadEntry { tensor, reason } => write!(f, "tensor `{tensor}`: {reason}"),
            UnknownDtype { tensor, dtype } => {
                write!(f, "tensor `{tensor}` has an unknown dtype `{dtype}`")
            }
            RankTooHigh { tensor } => {
                write!(f, "tensor `{tensor}` has more than {MAX_RANK} dimensions")
            }
            BadOffsets { tensor, start, end } => write!(
                f,
                "tensor `{tensor}`: data_offsets [{start}, {end}] run backwards"
            ),
            SizeMismatch {
                tensor,
                dtype,
                shape,
                bytes,
            } => {
                write!(
                f,
                "tensor `{tensor}`: shape {shape} of {dtype} needs {} bytes but its offsets span \
                 {bytes}",
                shape
                    .numel()
                    .and_then(|n| n.checked_mul(dtype.size() as u64))
                    .unwrap_or(u64::MAX)
            )
            }
            Truncated {
                tensor,
                end,
                data_len,
            } => write!(
                f,
                "truncated safetensors file: tensor `{tensor}` ends at byte {end} of the data \
                 but the data has {data_len} bytes"
            ),
            Overlap { tensor, other } => {
                write!(f, "tensors `{tensor}` and `{other}` overlap in the data")
            }
            Uncovered { covered, data_len } => write!(
                f,
                "the tensors cover {covered} bytes but the data has {data_len}: the file has \
                 holes or trailing bytes"
            ),
            Duplicate { tensor } => write!(f, "tensor `{tensor}` appears twice in the header"),
            TooManyTensors { max } => write!(f, "the file holds more than {max} tensors"),
            Missing { expected } => write!(
                f,
                "the file has no tensor `{expected}` (the network's, of shape {})",
                expected.shape
            ),
            Unexpected { tensor, shape } => write!(
                f,
                "the file has a tensor `{tensor}` of shape {shape} that the network does not"
            ),
            WrongShape { expected, found } => write!(
                f,
                "tensor `{expected}`: the network expects shape {}, the file has {found}",
                expected.shape
            ),
            WrongDtype { expected, found } => write!(
                f,
                "tensor `{expected}` is {found} in the file; only F16, BF16, F32 and F64 load"
            ),
            Collision { tensor, other } if super::set::same_name(tensor, other) => write!(
                f,
                "two tensors to be held in one file are called `{tensor}` (the second beside \
                 the network): a file cannot hold both"
            ),
            Collision { tensor, other } => write!(
                f,
                "the network's tensor `{other}` is under `{}.`, the prefix of `{tensor}` held \
                 beside it: one file could not tell them apart (rename the network's layer)",
                tensor.layer
            ),
        }
    }
}
