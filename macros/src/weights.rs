//! `#[weights = "net.safetensors"]`: the file is read when the macro expands and checked
//! against the network's `state_dict`, tensor by tensor (name, shape, dtype, and nothing
//! extra), so a file for another architecture is a compile error naming the tensor and both
//! shapes. What comes out is each tensor's place in the file, which `expand/baked.rs` decodes
//! from `include_bytes!` of the same file at compile time.
//!
//! The path is relative to the file holding the declaration, as `include_bytes!` takes it.
//! The file is parsed by the runtime's safetensors reader, which trusts nothing a header says.

use crate::ir;
use crate::layers::{Tensor, TensorRole};
use crate::report::Errors;
use proc_macro2::Span;
use stacknet_runtime::safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta};

/// Most mismatches reported one by one; a file for another network entirely would otherwise
/// bury the first in hundreds.
const MAX_REPORTED: usize = 8;

/// `#[weights = "…"]` at most once, with a string: the file's path as written.
pub fn attribute(cx: &mut Errors, attrs: &[Attribute]) -> Option<LitStr> {
    let mut found = None;
    for (i, attr) in attrs.iter().enumerate() {
        if i > 0 {
            cx.error_spanned(attr, "`#[weights]` is given twice; a network has one file");
            continue;
        }
        match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(path),
                    ..
                }) => found = Some(path.clone()),
                value => cx.error_spanned(
                    value,
                    "`#[weights]` takes the file's path as a string: `#[weights = \"net.safetensors\"]`",
                ),
            },
            meta => cx.error_spanned(
                meta,
                "`#[weights]` takes a file: write `#[weights = \"net.safetensors\"]` above the network",
            ),
        }
    }
    found
}

/// The checked file: its bytes' length and where each tensor lies.
pub struct Weights {
    /// The file as `include_bytes!` must name it.
    pub include: String,
    pub len: usize,
    /// Per layer (in `layers` order), per tensor: its first byte in the file and its dtype.
    pub places: Vec<Vec<(usize, Dtype)>>,
}

/// Reads `path` and checks it against every tensor of `layers`; every mismatch is an error on
/// the path.
pub fn read<'a>(
    path: &LitStr,
    layers: impl Iterator<Item = &'a ir::Layer>,
) -> Result<Weights, Errors> {
    let mut cx = Errors::default();
    let span = path.span();
    let (file, include) = locate(path);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) => {
            let message = format!("cannot read the weights file `{}`: {e}", file.display());
            cx.error(span, message);
            return Err(cx);
        }
    };
    let st = match SafeTensors::parse(&bytes) {
        Ok(st) => st,
        Err(e) => {
            cx.error(
                span,
                format!("`{}` is not a valid safetensors file: {e}", path.value()),
            );
            return Err(cx);
        }
    };
    let mut report = Report {
        cx: &mut cx,
        span,
        count: 0,
    };
    let mut places = Vec::new();
    let mut names = Vec::new();
    for layer in layers {
        let mut here = Vec::new();
        for t in &layer.op.tensors {
            let name = format!("{}.{}", layer.path, t.name);
            if let Some(place) = check(&mut report, &st, &bytes, &name, t) {
                here.push(place);
            }
            names.push(name);
        }
        places.push(here);
    }
    for t in st.tensors() {
        if !names.iter().any(|name| t.name.eq_str(name)) {
            report.error(format!(
                "the weights file has a tensor `{}` of shape {} that the network does not",
                t.name, t.shape
            ));
        }
    }
    if report.count > MAX_REPORTED {
        let more = report.count - MAX_REPORTED;
        report.cx.error(
            span,
            format!("… and {more} more mismatches with the weights file"),
        );
    }
    if !cx.is_empty() {
        return Err(cx);
    }
    Ok(Weights {
        include,
        len: bytes.len(),
        places,
    })
}

/// Network tensor `t`, called `name`, in the file: its byte offset and dtype if it matches.
fn check(
    report: &mut Report,
    st: &SafeTensors,
    bytes: &[u8],
    name: &str,
    t: &Tensor,
) -> Option<(usize, Dtype)> {
    let shape = Shape(&t.dims);
    let Some(found) = st.get(name) else {
        report.error(format!(
            "the weights file has no tensor `{name}` (the network's, of shape {shape})"
        ));
        return None;
    };
    if found.shape.dims() != t.dims.as_slice() {
        report.error(format!(
            "tensor `{name}`: the network expects shape {shape}, the weights file has {}",
            found.shape
        ));
        return None;
    }
    // As a run-time load takes them: the floats, and PyTorch's I64 for a count.
    let count = t.role == TensorRole::Count;
    if !(found.dtype.is_loadable() || (count && found.dtype == Dtype::I64)) {
        let also = if count { ", I64" } else { "" };
        report.error(format!(
            "tensor `{name}` is {} in the weights file; only F16, BF16, F32{also} and F64 load",
            found.dtype
        ));
        return None;
    }
    // The view borrows `bytes`: its distance from the start is the tensor's offset.
    let offset = found.data.as_ptr() as usize - bytes.as_ptr() as usize;
    Some((offset, found.dtype))
}

/// The file on disk, and the path for `include_bytes!`: beside the declaring file when the
/// compiler says which that is (`include_bytes!` resolves the literal the same way), else
/// under the crate's manifest directory, named absolutely.
fn locate(path: &LitStr) -> (PathBuf, String) {
    let value = PathBuf::from(path.value());
    if value.is_absolute() {
        return (value, path.value());
    }
    if let Some(dir) = path
        .span()
        .local_file()
        .and_then(|f| f.parent().map(PathBuf::from))
    {
        return (dir.join(&value), path.value());
    }
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from);
    let file = base.join(&value);
    let include = file.display().to_string();
    (file, include)
}

/// Mismatches, on the path, up to [`MAX_REPORTED`] of them.
struct Report<'a> {
    cx: &'a mut Errors,
    span: Span,
    count: usize,
}

impl Report<'_> {
    fn error(&mut self, message: String) {
        self.count += 1;
        if self.count <= MAX_REPORTED {
            self.cx.error(self.span, message);
        }
    }
}

/// A shape as the runtime prints one: `[120, 400]`, `[]`.
struct Shape<'a>(&'a [u64]);

impl std::fmt::Display for Shape<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.0.iter().map(u64::to_string).collect();
        write!(f, "[{}]", dims.join(", "))
    }
}
