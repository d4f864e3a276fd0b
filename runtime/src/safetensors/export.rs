//! Writing a network as safetensors without a heap: the header is formatted twice, once to
//! count its length (which comes first in the file) and once into the sink.
//!
//! Tensors go in `state_dict` order with offsets in the same order, the header carries
//! `{"format": "pt"}` metadata and is padded with spaces to a multiple of 8 bytes, as
//! PyTorch's `safetensors.torch.save_file` writes it.

use super::Dtype;
use crate::{Params, Scalar};
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
    let mut n = Count(0);
    // Counting never fails.
    let _ = write_header::<T, P>(&mut n);
    n.0.div_ceil(8) * 8
}

/// Bytes of the whole file [`export`] writes for `P`.
pub fn exported_len<T: Scalar, P: Params<T>>() -> usize {
    8 + header_len::<T, P>() + data_len::<T, P>()
}

fn data_len<T: Scalar, P: Params<T>>() -> usize {
    (0..P::TENSORS)
        .map(|i| P::tensor_info(i).shape.len() * T::BYTES)
        .sum()
}

/// Writes `params` as a safetensors file, piece by piece, into `sink`.
pub fn export<T: Scalar, P: Params<T>, E>(
    params: &P,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let len = header_len::<T, P>();
    sink(&(len as u64).to_le_bytes())?;
    let mut w = Sink {
        sink: &mut sink,
        err: None,
        n: 0,
    };
    if write_header::<T, P>(&mut w).is_err() {
        if let Some(e) = w.err {
            return Err(e);
        }
    }
    let written = w.n;
    for _ in written..len {
        sink(b" ")?;
    }
    let mut buf = [0u8; 512];
    for i in 0..P::TENSORS {
        let t = params.tensor(i);
        debug_assert_eq!(t.len(), P::tensor_info(i).shape.len());
        let per = buf.len() / T::BYTES;
        for chunk in t.chunks(per) {
            let mut at = 0;
            for &v in chunk {
                if T::BYTES == 4 {
                    buf[at..at + 4].copy_from_slice(&(v.to_f64() as f32).to_le_bytes());
                } else {
                    buf[at..at + 8].copy_from_slice(&v.to_f64().to_le_bytes());
                }
                at += T::BYTES;
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
    let needed = exported_len::<T, P>();
    if out.len() < needed {
        let found = out.len();
        return Err(BufferTooSmall { needed, found });
    }
    let mut at = 0;
    let _ = export(params, |b: &[u8]| -> Result<(), ()> {
        out[at..at + b.len()].copy_from_slice(b);
        at += b.len();
        Ok(())
    });
    Ok(at)
}

fn write_header<T: Scalar, P: Params<T>>(w: &mut impl Write) -> fmt::Result {
    w.write_str("{\"__metadata__\":{\"format\":\"pt\"}")?;
    let dtype = dtype_of::<T>();
    let mut at = 0;
    for i in 0..P::TENSORS {
        let info = P::tensor_info(i);
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
        let end = at + info.shape.len() * T::BYTES;
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
