//! Writing a network as safetensors without a heap: the header is formatted twice, once to
//! count its length (which comes first in the file) and once into the sink.
//!
//! Tensors go in `state_dict` order (a network's buffers after each layer's parameters, as
//! PyTorch's `state_dict` lists them; counts as `I64`) with offsets in the same order, the header carries
//! `{"format": "pt"}` metadata and is padded with spaces to a multiple of 8 bytes, as
//! PyTorch's `safetensors.torch.save_file` writes it.

use super::set::{is_count, ParamsOf, Set, StateOf, Then};
use super::{name_collision, Dtype, Error};
use crate::{Network, Params, Scalar, TensorInfo};
use core::fmt::{self, Write};

/// The dtype a network of scalar `T` is written in.
pub fn dtype_of<T: Scalar>() -> Dtype {
    if T::BYTES == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// Bytes of the JSON header (padding included) that [`export`] writes for `P`.
pub fn header_len<T: Scalar, P: Params<T>>() -> usize {
    set_header_len::<T, ParamsOf<P>>()
}

/// Bytes of the whole file [`export`] writes for `P`.
pub fn exported_len<T: Scalar, P: Params<T>>() -> usize {
    set_len::<T, ParamsOf<P>>()
}

/// Bytes of the whole file [`export_state`] writes for `N`.
pub fn exported_state_len<T: Scalar, N: Network<T>>() -> usize {
    set_len::<T, StateOf<N>>()
}

/// Bytes of the whole file [`export_state_with`] writes for `N` and `P`.
pub fn exported_state_with_len<T: Scalar, N: Network<T>, P: Params<T>>() -> usize {
    set_len::<T, Then<'_, StateOf<N>, ParamsOf<P>>>()
}

/// Writes `params` (its parameters only) as a safetensors file, piece by piece, into `sink`.
pub fn export<T: Scalar, P: Params<T>, E>(
    params: &P,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    export_set::<T, ParamsOf<P>, E>(params, sink)
}

/// Writes a network's whole `state_dict` (parameters and buffers, batch norm's running
/// statistics and `num_batches_tracked` included) as a safetensors file into `sink`.
pub fn export_state<T: Scalar, N: Network<T>, E>(
    net: &N,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    export_set::<T, StateOf<N>, E>(net, sink)
}

/// Writes a network's `state_dict` (as [`export_state`] does) and then the tensors of `extra`
/// (any [`Params`]: a fitted [`Standardizer`](crate::data::Standardizer) or
/// [`MinMaxScaler`](crate::data::MinMaxScaler), so that preprocessing travels with the
/// weights) as one safetensors file into `sink`; [`load_state_with`](super::load_state_with)
/// reads it back.
///
/// A tensor of `extra` named like one of the network's, or a network layer under `extra`'s
/// prefix (a layer called `standardizer` beside a `Standardizer`), is refused before anything
/// is written ([`ExportError::Collision`], see [`name_collision`]).
pub fn export_state_with<T: Scalar, N: Network<T>, P: Params<T>, E>(
    net: &N,
    extra: &P,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), ExportError<E>> {
    if let Some((tensor, other)) = name_collision::<T, N, P>() {
        return Err(ExportError::Collision { tensor, other });
    }
    export_set::<T, Then<'_, StateOf<N>, ParamsOf<P>>, E>(&(net, extra), sink)
        .map_err(ExportError::Sink)
}

/// What tensor `info` is written as: counts as `I64`, everything else in the scalar's dtype.
fn file_dtype<T: Scalar>(info: &TensorInfo) -> Dtype {
    if is_count(info) {
        Dtype::I64
    } else {
        dtype_of::<T>()
    }
}

fn set_header_len<T: Scalar, S: Set<T>>() -> usize {
    let mut n = Count(0);
    // Counting never fails.
    let _ = write_header::<T, S>(&mut n);
    n.0.div_ceil(8) * 8
}

fn set_len<T: Scalar, S: Set<T>>() -> usize {
    let data: usize = (0..S::count())
        .map(|i| {
            let info = S::info(i);
            info.shape.len() * file_dtype::<T>(&info).size()
        })
        .sum();
    8 + set_header_len::<T, S>() + data
}

fn export_set<T: Scalar, S: Set<T>, E>(
    of: &S::Of,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let len = set_header_len::<T, S>();
    sink(&(len as u64).to_le_bytes())?;
    let mut w = Sink {
        sink: &mut sink,
        err: None,
        n: 0,
    };
    if write_header::<T, S>(&mut w).is_err() {
        if let Some(e) = w.err {
            return Err(e);
        }
    }
    let written = w.n;
    for _ in written..len {
        sink(b" ")?;
    }
    let mut buf = [0u8; 512];
    for i in 0..S::count() {
        let t = S::get(of, i);
        let info = S::info(i);
        debug_assert_eq!(t.len(), info.shape.len());
        let dtype = file_dtype::<T>(&info);
        let per = buf.len() / dtype.size();
        for chunk in t.chunks(per) {
            let mut at = 0;
            for &v in chunk {
                match dtype {
                    Dtype::I64 => {
                        let n = libm::round(v.to_f64()) as i64;
                        buf[at..at + 8].copy_from_slice(&n.to_le_bytes());
                    }
                    Dtype::F32 => {
                        buf[at..at + 4].copy_from_slice(&(v.to_f64() as f32).to_le_bytes())
                    }
                    _ => buf[at..at + 8].copy_from_slice(&v.to_f64().to_le_bytes()),
                }
                at += dtype.size();
            }
            sink(&buf[..at])?;
        }
    }
    Ok(())
}

/// `out` is too small for the file (sizes in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// The file's size.
    pub needed: usize,
    /// The buffer's length.
    pub found: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer too small for the safetensors file: needs {} bytes, has {}",
            self.needed, self.found
        )
    }
}

/// Writes `params` as a safetensors file into `out`; returns the bytes written
/// ([`exported_len`]). `out` is not written at all if it is too small.
pub fn export_to_slice<T: Scalar, P: Params<T>>(
    params: &P,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    set_to_slice::<T, ParamsOf<P>>(params, out)
}

/// Writes a network's `state_dict` (see [`export_state`]) into `out`; returns the bytes
/// written ([`exported_state_len`]). `out` is not written at all if it is too small.
pub fn export_state_to_slice<T: Scalar, N: Network<T>>(
    net: &N,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    set_to_slice::<T, StateOf<N>>(net, out)
}

/// Writes a network's `state_dict` and `extra` (see [`export_state_with`]) into `out`;
/// returns the bytes written ([`exported_state_with_len`]). `out` is not written at all if it
/// is too small or a name collides.
pub fn export_state_with_to_slice<T: Scalar, N: Network<T>, P: Params<T>>(
    net: &N,
    extra: &P,
    out: &mut [u8],
) -> Result<usize, ExportError<BufferTooSmall>> {
    if let Some((tensor, other)) = name_collision::<T, N, P>() {
        return Err(ExportError::Collision { tensor, other });
    }
    set_to_slice::<T, Then<'_, StateOf<N>, ParamsOf<P>>>(&(net, extra), out)
        .map_err(ExportError::Sink)
}

/// Why [`export_state_with`] or [`export_state_with_to_slice`] wrote nothing, or stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportError<E> {
    /// A tensor beside the network collides with an earlier one ([`Error::Collision`], see
    /// [`name_collision`]); found before anything was written.
    Collision {
        /// The tensor beside the network.
        tensor: TensorInfo,
        /// The earlier tensor it collides with.
        other: TensorInfo,
    },
    /// The sink's error ([`BufferTooSmall`] for a slice, found before anything was written).
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for ExportError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            &ExportError::Collision { tensor, other } => {
                fmt::Display::fmt(&Error::<&str>::Collision { tensor, other }, f)
            }
            ExportError::Sink(e) => e.fmt(f),
        }
    }
}

fn set_to_slice<T: Scalar, S: Set<T>>(of: &S::Of, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let needed = set_len::<T, S>();
    if out.len() < needed {
        let found = out.len();
        return Err(BufferTooSmall { needed, found });
    }
    let mut at = 0;
    let _ = export_set::<T, S, ()>(of, |b: &[u8]| -> Result<(), ()> {
        out[at..at + b.len()].copy_from_slice(b);
        at += b.len();
        Ok(())
    });
    Ok(at)
}

fn write_header<T: Scalar, S: Set<T>>(w: &mut impl Write) -> fmt::Result {
    w.write_str("{\"__metadata__\":{\"format\":\"pt\"}")?;
    let mut at = 0;
    for i in 0..S::count() {
        let info = S::info(i);
        let dtype = file_dtype::<T>(&info);
        w.write_str(",\"")?;
        if !info.layer.is_empty() {
            escape(w, info.layer)?;
            w.write_char('.')?;
        }
        escape(w, info.name)?;
        write!(w, "\":{{\"dtype\":\"{dtype}\",\"shape\":[")?;
        for (k, d) in info.shape.dims().iter().enumerate() {
            if k > 0 {
                w.write_char(',')?;
            }
            write!(w, "{d}")?;
        }
        let end = at + info.shape.len() * dtype.size();
        write!(w, "],\"data_offsets\":[{at},{end}]}}")?;
        at = end;
    }
    w.write_char('}')
}

/// A JSON string's contents (names are identifiers and dots; this is for safety only).
fn escape(w: &mut impl Write, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            c if (c as u32) < 0x20 => write!(w, "\\u{:04x}", c as u32)?,
            c => w.write_char(c)?,
        }
    }
    Ok(())
}

struct Count(usize);

impl Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `fmt::Write` over a fallible byte sink, keeping the sink's error.
struct Sink<'s, F, E> {
    sink: &'s mut F,
    err: Option<E>,
    n: usize,
}

impl<F: FnMut(&[u8]) -> Result<(), E>, E> Write for Sink<'_, F, E> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.n += s.len();
        (self.sink)(s.as_bytes()).map_err(|e| {
            self.err = Some(e);
            fmt::Error
        })
    }
}
