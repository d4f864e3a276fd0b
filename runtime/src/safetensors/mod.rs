//! safetensors, the interchange format of PyTorch and Hugging Face: reading from a byte slice
//! with no allocator, loading into any network by PyTorch `state_dict` name, and writing.
//!
//! A file is an 8-byte little-endian header length *n*, *n* bytes of JSON
//! (`{"__metadata__": {..}, "fc1.weight": {"dtype": "F32", "shape": [120, 400],
//! "data_offsets": [0, 192000]}, ..}`), then the tensors' raw little-endian bytes, offsets
//! counted from the end of the header.
//!
//! [`SafeTensors::parse`] trusts nothing the header says: every length is checked against the
//! bytes actually present before it is used, nothing is sized from the header (nothing is
//! allocated at all), and the JSON is read without recursion. A file is valid when every
//! tensor is well formed and lies inside the data, no two tensors share a byte or a name, and
//! the tensors cover the data exactly (as the reference implementation requires).
//! [`load_state`] (a network's parameters and buffers, batch norm's running statistics
//! included) and [`load_params`] (any `Params`) then match tensors by name (`TensorInfo`'s
//! `Display`, `layer1.0.conv1.weight`), check shapes and dtypes, convert F16/BF16/F32/F64 to
//! the network's scalar (and `I64` counts), and change nothing unless everything matches.
//! [`export_state_with`] and [`load_state_with`] do the same for a network and any other
//! [`Params`] beside it in one file (its fitted [`Standardizer`](crate::data::Standardizer) or
//! [`MinMaxScaler`](crate::data::MinMaxScaler), so that preprocessing travels with the
//! weights).

// Errors carry both shapes and the network tensor's description, and with no heap there is
// nothing to box them into; they are returned once per load, so their size costs nothing.
#![allow(clippy::result_large_err)]

mod dtype;
mod error;
mod export;
mod json;
mod set;

pub use dtype::{f16_to_f64, Dtype};
pub use error::{Error, ReadError};
pub use export::{
    dtype_of, export, export_state, export_state_to_slice, export_state_with,
    export_state_with_to_slice, export_to_slice, exported_len, exported_state_len,
    exported_state_with_len, header_len, BufferTooSmall, ExportError,
};
pub use json::{Chars, JsonError, JsonStr, MAX_DEPTH};

use crate::{Network, Params, Scalar, Shape, TensorInfo};
use core::fmt;
use json::Cursor;
use set::{is_count, ParamsOf, Set, SetMut, StateOf, Then, ThenMut};

/// Most dimensions a tensor may have.
pub const MAX_RANK: usize = 8;
/// Most tensors a file may hold: checking names and offsets pairwise without a heap costs
/// a pass over the header per tensor, so the count is bounded.
pub const MAX_TENSORS: usize = 4096;
/// The metadata key the format reserves.
pub const METADATA_KEY: &str = "__metadata__";

/// A tensor's shape as a file declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileShape {
    dims: [u64; MAX_RANK],
    rank: usize,
}

impl FileShape {
    /// The declared sizes, outermost first (`[]` for a scalar).
    pub fn dims(&self) -> &[u64] {
        &self.dims[..self.rank]
    }

    /// Elements, `None` if the product overflows a `u64`.
    pub fn numel(&self) -> Option<u64> {
        self.dims().iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }

    /// Whether this is `shape` (same rank, same dimensions).
    pub fn is(&self, shape: &Shape) -> bool {
        self.rank == shape.rank
            && self
                .dims()
                .iter()
                .zip(shape.dims())
                .all(|(&a, &b)| a == b as u64)
    }

    /// The shape of a network tensor, as a file would declare it.
    pub fn of(shape: &Shape) -> FileShape {
        let mut dims = [0; MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(shape.dims()) {
            *d = s as u64;
        }
        FileShape {
            dims,
            rank: shape.rank,
        }
    }
}

impl fmt::Display for FileShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// One tensor of a validated file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorView<'a> {
    /// The header's key, escapes not yet decoded (compare with [`is`](TensorView::is)).
    pub name: JsonStr<'a>,
    /// The element type.
    pub dtype: Dtype,
    /// The declared shape, row-major.
    pub shape: FileShape,
    /// Raw little-endian bytes, exactly `numel × dtype.size()` of them.
    pub data: &'a [u8],
}

impl TensorView<'_> {
    /// Whether this is network tensor `info` by name (`{layer}.{name}`).
    pub fn is(&self, info: &TensorInfo) -> bool {
        if info.layer.is_empty() {
            self.name.eq_str(info.name)
        } else {
            self.name.eq_parts(&[info.layer, ".", info.name])
        }
    }

    /// The values as `f64` (exact for every loadable dtype, and for `I64` up to 2^53); empty
    /// for the other dtypes.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let n = if self.dtype.is_loadable() || self.dtype == Dtype::I64 {
            self.dtype.size()
        } else {
            self.data.len().max(1)
        };
        self.data
            .chunks_exact(n)
            .filter_map(move |b| self.dtype.decode(b))
    }
}

/// A validated safetensors file over borrowed bytes.
#[derive(Clone, Copy, Debug)]
pub struct SafeTensors<'a> {
    header: &'a str,
    data: &'a [u8],
    count: usize,
}

impl<'a> SafeTensors<'a> {
    /// Reads and validates a whole file.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ReadError<'a>> {
        let Some((len, rest)) = bytes.split_first_chunk::<8>() else {
            return Err(Error::TooShort { len: bytes.len() });
        };
        let header_len = u64::from_le_bytes(*len);
        if header_len > rest.len() as u64 {
            let file_len = bytes.len();
            return Err(Error::HeaderTooLarge {
                header_len,
                file_len,
            });
        }
        let (header, data) = rest.split_at(header_len as usize);
        let header = core::str::from_utf8(header).map_err(|e| {
            Error::Json(JsonError {
                offset: e.valid_up_to(),
                reason: "the header is not UTF-8",
            })
        })?;
        let mut st = SafeTensors {
            header,
            data,
            count: 0,
        };

        // One pass checks each entry on its own, and whether the offsets run in header
        // order (as PyTorch's and stacknet's writers put them): then they cannot overlap.
        let (mut in_order, mut end, mut covered, mut metadata) = (true, 0u64, 0u64, false);
        for item in st.raw() {
            match item? {
                Item::Metadata(name, _) => {
                    if metadata {
                        return Err(Error::Duplicate { tensor: name });
                    }
                    metadata = true;
                }
                Item::Tensor(t) => {
                    st.count += 1;
                    if st.count > MAX_TENSORS {
                        return Err(Error::TooManyTensors { max: MAX_TENSORS });
                    }
                    in_order &= t.start == end;
                    end = t.end;
                    // Each span is within the data, so at most MAX_TENSORS × data length.
                    covered = covered.saturating_add(t.end - t.start);
                }
            }
        }
        // Names and, when out of order, byte ranges pairwise: a pass per tensor, no heap.
        for (i, a) in st.raw_tensors().enumerate() {
            for b in st.raw_tensors().take(i) {
                if a.name == b.name {
                    return Err(Error::Duplicate { tensor: a.name });
                }
                if !in_order && a.start < b.end && b.start < a.end {
                    let (tensor, other) = (b.name, a.name);
                    return Err(Error::Overlap { tensor, other });
                }
            }
        }
        let data_len = data.len() as u64;
        if covered != data_len {
            return Err(Error::Uncovered { covered, data_len });
        }
        Ok(st)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the file holds no tensors (a valid file can).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The tensors in header order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'a>> + '_ {
        self.raw_tensors().map(|t| TensorView {
            name: t.name,
            dtype: t.dtype,
            shape: t.shape,
            data: &self.data[t.start as usize..t.end as usize],
        })
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<TensorView<'a>> {
        self.tensors().find(|t| t.name.eq_str(name))
    }

    /// The tensor that is network tensor `info`.
    pub fn find(&self, info: &TensorInfo) -> Option<TensorView<'a>> {
        self.tensors().find(|t| t.is(info))
    }

    /// The value of `key` in `__metadata__`.
    pub fn metadata(&self, key: &str) -> Option<JsonStr<'a>> {
        let at = self.raw().find_map(|item| match item {
            Ok(Item::Metadata(_, at)) => Some(at),
            _ => None,
        })?;
        let mut c = Cursor::new(self.header);
        c.skip_to(at);
        let mut found = None;
        metadata_pairs(&mut c, |k, v| {
            if found.is_none() && k.eq_str(key) {
                found = Some(v);
            }
        })
        .ok()?;
        found
    }

    fn raw(&self) -> Raw<'a> {
        Raw {
            cur: Cursor::new(self.header),
            data_len: self.data.len() as u64,
            state: State::Start,
        }
    }

    /// The tensors of a header already validated (so no error can arise).
    fn raw_tensors(&self) -> impl Iterator<Item = RawTensor<'a>> {
        self.raw().filter_map(|item| match item {
            Ok(Item::Tensor(t)) => Some(t),
            _ => None,
        })
    }
}

/// Loads every tensor of `params` from `file` by name, converting to `T`; on any error
/// `params` is unchanged.
pub fn load_params<'a, T: Scalar, P: Params<T>>(
    params: &mut P,
    file: &SafeTensors<'a>,
) -> Result<(), ReadError<'a>> {
    load_set::<T, ParamsOf<P>>(params, file)
}

/// Parses `bytes` and loads every tensor of `params` from it (see [`load_params`]).
pub fn load_from_bytes<'a, T: Scalar, P: Params<T>>(
    params: &mut P,
    bytes: &'a [u8],
) -> Result<(), ReadError<'a>> {
    load_params(params, &SafeTensors::parse(bytes)?)
}

/// Loads a network's whole `state_dict` from `file`: every parameter and every buffer (batch
/// norm's running statistics and `num_batches_tracked`, which may be `I64` as PyTorch writes
/// it), each checked by name, shape and dtype; on any error the network is unchanged.
pub fn load_state<'a, T: Scalar, N: Network<T>>(
    net: &mut N,
    file: &SafeTensors<'a>,
) -> Result<(), ReadError<'a>> {
    load_set::<T, StateOf<N>>(net, file)
}

/// Parses `bytes` and loads a network's `state_dict` from it (see [`load_state`]).
pub fn load_state_from_bytes<'a, T: Scalar, N: Network<T>>(
    net: &mut N,
    bytes: &'a [u8],
) -> Result<(), ReadError<'a>> {
    load_state(net, &SafeTensors::parse(bytes)?)
}

/// Loads a network's whole `state_dict` (as [`load_state`] does) and every tensor of `extra`
/// (any [`Params`]: a [`Standardizer`](crate::data::Standardizer) or
/// [`MinMaxScaler`](crate::data::MinMaxScaler) fitted on the training data) from one file, as
/// [`export_state_with`] writes it.
///
/// Strict over both: every tensor of each must be in the file by name with its shape and a
/// loadable dtype (a file of the network alone is refused, [`Error::Missing`] naming the
/// first of `extra`'s tensors), and the file may hold nothing else ([`Error::Unexpected`]). A
/// tensor of `extra` that collides with the network's ([`name_collision`]) is
/// [`Error::Collision`], whatever the file holds. On any error neither `net` nor `extra` is
/// changed.
pub fn load_state_with<'a, T: Scalar, N: Network<T>, P: Params<T>>(
    net: &mut N,
    extra: &mut P,
    file: &SafeTensors<'a>,
) -> Result<(), ReadError<'a>> {
    if let Some((tensor, other)) = name_collision::<T, N, P>() {
        return Err(Error::Collision { tensor, other });
    }
    load_set::<T, ThenMut<'_, StateOf<N>, ParamsOf<P>>>(&mut (net, extra), file)
}

/// Parses `bytes` and loads a network's `state_dict` and `extra` from it (see
/// [`load_state_with`]).
pub fn load_state_with_from_bytes<'a, T: Scalar, N: Network<T>, P: Params<T>>(
    net: &mut N,
    extra: &mut P,
    bytes: &'a [u8],
) -> Result<(), ReadError<'a>> {
    load_state_with(net, extra, &SafeTensors::parse(bytes)?)
}

/// Whether network `N` and tensors `P` beside it can share one file: the first tensor of `P`
/// that cannot, with the earlier tensor it collides with, or `None`. A tensor of `P` collides
/// when its full name (`layer.name`) is one of `N`'s `state_dict` or of an earlier tensor of
/// `P`, or when a tensor of `N` is under its layer's prefix (a layer called `standardizer`
/// beside a [`Standardizer`](crate::data::Standardizer)'s `standardizer.mean`), so that a
/// file's tensors under that prefix are `P`'s alone. [`export_state_with`] and
/// [`load_state_with`] refuse such a pair with it.
pub fn name_collision<T: Scalar, N: Network<T>, P: Params<T>>() -> Option<(TensorInfo, TensorInfo)>
{
    let from = <StateOf<N> as Set<T>>::count();
    set::collision::<T, Then<'_, StateOf<N>, ParamsOf<P>>>(from)
}

/// Whether a file tensor of `dtype` loads into tensor `info`: the floats always, and `I64`
/// into a count.
fn loads_into(dtype: Dtype, info: &TensorInfo) -> bool {
    dtype.is_loadable() || (dtype == Dtype::I64 && is_count(info))
}

fn load_set<'a, T: Scalar, S: SetMut<T>>(
    of: &mut S::Of,
    file: &SafeTensors<'a>,
) -> Result<(), ReadError<'a>> {
    // Check everything first, so that a failure leaves the tensors as they were.
    for i in 0..S::count() {
        let expected = S::info(i);
        let t = file.find(&expected).ok_or(Error::Missing { expected })?;
        if !t.shape.is(&expected.shape) || S::get(of, i).len() != expected.shape.len() {
            let found = t.shape;
            return Err(Error::WrongShape { expected, found });
        }
        if !loads_into(t.dtype, &expected) {
            let found = t.dtype;
            return Err(Error::WrongDtype { expected, found });
        }
    }
    // Every tensor was found and names are unique, so any extra is unexpected.
    if file.len() != S::count() {
        for t in file.tensors() {
            if !(0..S::count()).any(|i| t.is(&S::info(i))) {
                let (tensor, shape) = (t.name, t.shape);
                return Err(Error::Unexpected { tensor, shape });
            }
        }
    }
    for i in 0..S::count() {
        let Some(t) = file.find(&S::info(i)) else {
            continue; // found above
        };
        for (d, v) in S::get_mut(of, i).iter_mut().zip(t.values()) {
            *d = T::of(v);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
struct RawTensor<'a> {
    name: JsonStr<'a>,
    dtype: Dtype,
    shape: FileShape,
    start: u64,
    end: u64,
}

enum Item<'a> {
    /// `__metadata__` and where its value starts in the header.
    Metadata(JsonStr<'a>, usize),
    Tensor(RawTensor<'a>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Members,
    Done,
}

/// The header's top-level members, each checked as it is read.
struct Raw<'a> {
    cur: Cursor<'a>,
    data_len: u64,
    state: State,
}

impl<'a> Iterator for Raw<'a> {
    type Item = Result<Item<'a>, ReadError<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Done {
            return None;
        }
        let item = self.step();
        if !matches!(item, Some(Ok(_))) {
            self.state = State::Done;
        }
        item
    }
}

impl<'a> Raw<'a> {
    fn step(&mut self) -> Option<Result<Item<'a>, ReadError<'a>>> {
        let c = &mut self.cur;
        if self.state == State::Start {
            if let Err(e) = c.expect(b'{', "the header must be a JSON object") {
                return Some(Err(e.into()));
            }
            self.state = State::Members;
            if c.eat(b'}') {
                return self.finish().err().map(Err);
            }
        }
        Some(self.member().and_then(|item| {
            if self
                .cur
                .end_or_comma(b'}', "expected `,` or `}` after a tensor")?
            {
                self.finish()?;
                self.state = State::Done;
            }
            Ok(item)
        }))
    }

    fn finish(&mut self) -> Result<(), ReadError<'a>> {
        if self.cur.at_end() {
            Ok(())
        } else {
            Err(self
                .cur
                .error("characters after the header's object")
                .into())
        }
    }

    fn member(&mut self) -> Result<Item<'a>, ReadError<'a>> {
        let c = &mut self.cur;
        let name = c.string()?;
        c.expect(b':', "expected `:` after a tensor name")?;
        if name.eq_str(METADATA_KEY) {
            let at = c.pos();
            let bad = |_| Error::BadEntry {
                tensor: name,
                reason: "`__metadata__` must be an object of strings",
            };
            metadata_pairs(c, |_, _| {}).map_err(bad)?;
            return Ok(Item::Metadata(name, at));
        }
        let bad = |reason| Error::BadEntry {
            tensor: name,
            reason,
        };
        if !c.eat(b'{') {
            return Err(bad("a tensor entry must be an object"));
        }
        let (mut dtype, mut shape, mut offsets) = (None, None, None);
        if !c.eat(b'}') {
            loop {
                let key = c.string()?;
                c.expect(b':', "expected `:` after a key")?;
                if key.eq_str("dtype") {
                    if dtype.is_some() {
                        return Err(bad("`dtype` given twice"));
                    }
                    dtype = Some(c.string().map_err(|_| bad("`dtype` must be a string"))?);
                } else if key.eq_str("shape") {
                    if shape.is_some() {
                        return Err(bad("`shape` given twice"));
                    }
                    shape = Some(dims(c, name)?);
                } else if key.eq_str("data_offsets") {
                    if offsets.is_some() {
                        return Err(bad("`data_offsets` given twice"));
                    }
                    let two = |c: &mut Cursor<'a>| -> Result<(u64, u64), JsonError> {
                        c.expect(b'[', "")?;
                        let a = c.uint()?;
                        c.expect(b',', "")?;
                        let b = c.uint()?;
                        c.expect(b']', "")?;
                        Ok((a, b))
                    };
                    let pair = two(c).map_err(|_| bad("`data_offsets` must be two integers"))?;
                    offsets = Some(pair);
                } else {
                    // The reference reader ignores other fields too.
                    c.skip_value()?;
                }
                if c.end_or_comma(b'}', "expected `,` or `}` in a tensor entry")? {
                    break;
                }
            }
        }
        let dtype_name = dtype.ok_or_else(|| bad("missing `dtype`"))?;
        let shape = shape.ok_or_else(|| bad("missing `shape`"))?;
        let (start, end) = offsets.ok_or_else(|| bad("missing `data_offsets`"))?;
        let dtype = Dtype::from_json(&dtype_name).ok_or(Error::UnknownDtype {
            tensor: name,
            dtype: dtype_name,
        })?;
        if end < start {
            return Err(Error::BadOffsets {
                tensor: name,
                start,
                end,
            });
        }
        if end > self.data_len {
            let data_len = self.data_len;
            return Err(Error::Truncated {
                tensor: name,
                end,
                data_len,
            });
        }
        let bytes = end - start;
        if shape
            .numel()
            .and_then(|n| n.checked_mul(dtype.size() as u64))
            != Some(bytes)
        {
            return Err(Error::SizeMismatch {
                tensor: name,
                dtype,
                shape,
                bytes,
            });
        }
        Ok(Item::Tensor(RawTensor {
            name,
            dtype,
            shape,
            start,
            end,
        }))
    }
}

/// A shape: `[d0, d1, ..]` of at most [`MAX_RANK`] non-negative integers.
fn dims<'a>(c: &mut Cursor<'a>, name: JsonStr<'a>) -> Result<FileShape, ReadError<'a>> {
    let bad = |_| Error::BadEntry {
        tensor: name,
        reason: "`shape` must be a list of non-negative integers",
    };
    let mut shape = FileShape {
        dims: [0; MAX_RANK],
        rank: 0,
    };
    c.expect(b'[', "").map_err(bad)?;
    if c.eat(b']') {
        return Ok(shape);
    }
    loop {
        let d = c.uint().map_err(bad)?;
        if shape.rank == MAX_RANK {
            return Err(Error::RankTooHigh { tensor: name });
        }
        shape.dims[shape.rank] = d;
        shape.rank += 1;
        if c.end_or_comma(b']', "").map_err(bad)? {
            return Ok(shape);
        }
    }
}

/// Reads `{"key": "value", ..}` (or `null`, which the reference reader accepts), calling
/// `each` with every pair.
fn metadata_pairs<'a>(
    c: &mut Cursor<'a>,
    mut each: impl FnMut(JsonStr<'a>, JsonStr<'a>),
) -> Result<(), JsonError> {
    if c.peek() == Some(b'n') {
        return c.skip_value();
    }
    c.expect(b'{', "")?;
    if c.eat(b'}') {
        return Ok(());
    }
    loop {
        let k = c.string()?;
        c.expect(b':', "")?;
        let v = c.string()?;
        each(k, v);
        if c.end_or_comma(b'}', "")? {
            return Ok(());
        }
    }
}
