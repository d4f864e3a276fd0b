//! Shape inference: one pure function per layer kind, from the input shape and the layer's
//! arguments to its output shape, or a [`Mismatch`] saying why the layer cannot apply.
//!
//! The formulas are the convolution-arithmetic ones (Dumoulin & Visin), as in PyTorch:
//!
//! - effective kernel of a dilated convolution: k̂ = k + (k − 1)(d − 1);
//! - convolution output: o = ⌊(i + 2p − k̂) / s⌋ + 1;
//! - pooling output: o = ⌊(i + 2p − k) / s⌋ + 1;
//! - `same` padding at stride 1: p = (k̂ − 1) / 2 = d(k − 1) / 2, whole only when k̂ is odd;
//! - `same_upper` (TensorFlow's `SAME`) at stride s: o = ⌈i / s⌉, total padding
//!   max((o − 1)s + k̂ − i, 0), the odd one at the end (bottom, right);
//! - pooling in ceil mode: o = ⌈(i + p_lo + p_hi − k) / s⌉ + 1, less one when the last window
//!   would start past the input and its leading padding (PyTorch's rule).
//!
//! Padding may differ between the two sides of an axis (`p_lo`, `p_hi`); the formulas above
//! with 2p are the symmetric case.
//!
//! Nothing here knows about tokens or spans, so plain unit tests cover it; `check.rs` turns
//! each mismatch into a message on the right token. All arithmetic is checked: absurd sizes
//! give [`Mismatch::TooLarge`], never an overflow panic inside the compiler, and every size
//! is bounded by [`MAX_VALUES`].

use std::fmt;

/// A (height, width) pair: kernel, stride, padding or dilation along each axis.
pub type Hw = (u64, u64);

/// The shape of the tensor flowing between two layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[features]`.
    Vector(u64),
    /// `[channels, height, width]`.
    Image { c: u64, h: u64, w: u64 },
    /// `[steps, features]`, stored step-major (row t is step t).
    Sequence { steps: u64, features: u64 },
    /// `tokens: [steps]`: integer ids, which only `embedding` reads.
    Tokens { steps: u64 },
}

/// The most values one tensor, a network's parameters, or what it records for backward may
/// hold: Rust refuses types of more than `isize::MAX` bytes, and the widest scalar (`f64`) has
/// 8. Larger sizes would pass the macro and fail later inside the runtime's constants, with
/// no span in the user's code.
pub const MAX_VALUES: u64 = (i64::MAX as u64) / 8;

/// How the messages state [`MAX_VALUES`].
pub const MAX_VALUES_NOTE: &str =
    "more than 2^60 − 1 values, the most whose bytes fit `isize` in `f64`";

/// `n`, when it is at most [`MAX_VALUES`].
pub fn bounded(n: u64) -> Option<u64> {
    (n <= MAX_VALUES).then_some(n)
}

impl Shape {
    /// Number of values, or `None` if more than [`MAX_VALUES`].
    pub fn len(self) -> Option<u64> {
        bounded(match self {
            Shape::Vector(n) => n,
            Shape::Image { c, h, w } => c.checked_mul(h)?.checked_mul(w)?,
            Shape::Sequence { steps, features } => steps.checked_mul(features)?,
            Shape::Tokens { steps } => steps,
        })
    }
}

/// As written in the DSL: `[120]`, `[6, 28, 28]`.
impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Vector(n) => write!(f, "[{n}]"),
            Shape::Image { c, h, w } => write!(f, "[{c}, {h}, {w}]"),
            Shape::Sequence { steps, features } => write!(f, "[{steps}, {features}]"),
            Shape::Tokens { steps } => write!(f, "tokens [{steps}]"),
        }
    }
}

/// Zero padding on each side of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pad {
    pub top: u64,
    pub bottom: u64,
    pub left: u64,
    pub right: u64,
}

impl Pad {
    /// The same padding on both sides of each axis: PyTorch's `padding = (h, w)`.
    pub fn symmetric((h, w): Hw) -> Pad {
        Pad {
            top: h,
            bottom: h,
            left: w,
            right: w,
        }
    }

    /// `(h, w)` when both sides of each axis agree.
    pub fn as_symmetric(self) -> Option<Hw> {
        (self.top == self.bottom && self.left == self.right).then_some((self.top, self.left))
    }

    /// Total padding along height and width, or `None` on overflow.
    fn totals(self) -> Option<Hw> {
        Some((
            self.top.checked_add(self.bottom)?,
            self.left.checked_add(self.right)?,
        ))
    }
}

/// As written in the DSL: `1`, `(1, 2)` or `((0, 1), (0, 1))`.
impl fmt::Display for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_symmetric() {
            Some((h, w)) if h == w => write!(f, "{h}"),
            Some((h, w)) => write!(f, "({h}, {w})"),
            None => write!(
                f,
                "(({}, {}), ({}, {}))",
                self.top, self.bottom, self.left, self.right
            ),
        }
    }
}

/// Arguments of `conv2d` once `same` has been resolved to numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub out_channels: u64,
    pub kernel: Hw,
    pub stride: Hw,
    pub padding: Pad,
    pub dilation: Hw,
    pub groups: u64,
}

/// Arguments of `max_pool2d` and `avg_pool2d` (the stride already defaulted to the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2d {
    pub kernel: Hw,
    pub stride: Hw,
    pub padding: Pad,
    /// PyTorch's `ceil_mode`: round the output size up.
    pub ceil: bool,
}

/// Why a layer cannot apply to its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The layer needs a vector; it got something else (`dense` on an image without `flatten`).
    NotVector { found: Shape },
    /// The layer needs an image; it got something else (`conv2d` after `flatten`).
    NotImage { found: Shape },
    /// The layer needs a sequence `[steps, features]` (`lstm` on an image).
    NotSequence { found: Shape },
    /// The (effective) kernel is larger than the padded input along at least one axis.
    KernelTooLarge {
        input: Hw,
        padding: Pad,
        effective: Hw,
    },
    /// `groups` must divide both the input and the output channels.
    Groups {
        in_channels: u64,
        out_channels: u64,
        groups: u64,
    },
    /// `same` padding with a stride above 1: the output cannot have the input's size.
    SameStride { stride: Hw },
    /// `same` padding with an even effective kernel: the padding would be asymmetric.
    SameEvenKernel { effective: Hw },
    /// Pooling padding above half the kernel: some windows would see only padding.
    PoolPadding { padding: Pad, kernel: Hw },
    /// Only `embedding` reads token ids, and it reads nothing else.
    NotTokens { found: Shape },
    /// A kernel, stride or dilation of zero reached the formulas (check.rs reports it first).
    Zero,
    /// A size is more than [`MAX_VALUES`].
    TooLarge,
}

/// `dense(units)`: a vector of `units`, or on a sequence the same dense at every step
/// (`[steps, units]`); an image must be flattened first, token ids embedded.
pub fn dense(input: Shape, units: u64) -> Result<Shape, Mismatch> {
    match input {
        Shape::Vector(_) => Ok(Shape::Vector(units)),
        Shape::Sequence { steps, .. } => sequence(steps, units),
        found @ (Shape::Image { .. } | Shape::Tokens { .. }) => Err(Mismatch::NotVector { found }),
    }
}

/// `flatten`: the same values as one vector (a vector stays as it is).
pub fn flatten(input: Shape) -> Result<Shape, Mismatch> {
    if let Shape::Tokens { .. } = input {
        return Err(Mismatch::NotVector { found: input });
    }
    input.len().map(Shape::Vector).ok_or(Mismatch::TooLarge)
}

/// Checks that `steps·features` fits.
pub fn sequence(steps: u64, features: u64) -> Result<Shape, Mismatch> {
    let shape = Shape::Sequence { steps, features };
    shape.len().ok_or(Mismatch::TooLarge)?;
    Ok(shape)
}

/// The input as a sequence `(steps, features)`, or the mismatch.
pub fn as_sequence(input: Shape) -> Result<(u64, u64), Mismatch> {
    match input {
        Shape::Sequence { steps, features } => Ok((steps, features)),
        found => Err(Mismatch::NotSequence { found }),
    }
}

/// `embedding(vocab, dim)`: `tokens [steps]` → `[steps, dim]`.
pub fn embedding(input: Shape, dim: u64) -> Result<Shape, Mismatch> {
    match input {
        Shape::Tokens { steps } => sequence(steps, dim),
        found => Err(Mismatch::NotTokens { found }),
    }
}

/// Arguments of `conv1d` once `same` has been resolved to numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1d {
    pub out_channels: u64,
    pub kernel: u64,
    pub stride: u64,
    /// Padding before the first and after the last step.
    pub padding: (u64, u64),
    pub dilation: u64,
    pub groups: u64,
}

/// `conv1d` over time: `[steps, channels]` → `[out_steps, out_channels]`, the features of a
/// step being its channels.
pub fn conv1d(input: Shape, conv: &Conv1d) -> Result<Shape, Mismatch> {
    let (steps, c) = as_sequence(input)?;
    let effective = effective_kernel(conv.kernel, conv.dilation)?;
    if conv.groups == 0
        || !c.is_multiple_of(conv.groups)
        || !conv.out_channels.is_multiple_of(conv.groups)
    {
        return Err(Mismatch::Groups {
            in_channels: c,
            out_channels: conv.out_channels,
            groups: conv.groups,
        });
    }
    let pad = Pad {
        top: 0,
        bottom: 0,
        left: conv.padding.0,
        right: conv.padding.1,
    };
    let (_, out) = slide2d(1, steps, pad, (1, effective), (1, conv.stride), false)?;
    c.checked_mul(conv.kernel).ok_or(Mismatch::TooLarge)?;
    sequence(out, conv.out_channels)
}

/// Arguments of `max_pool1d` and `avg_pool1d` (the stride already defaulted to the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool1d {
    pub kernel: u64,
    pub stride: u64,
    pub padding: u64,
}

/// `max_pool1d` / `avg_pool1d` over time, per feature: `[steps, f]` → `[out_steps, f]`.
pub fn pool1d(input: Shape, pool: &Pool1d) -> Result<Shape, Mismatch> {
    let (steps, f) = as_sequence(input)?;
    let pad = Pad::symmetric((0, pool.padding));
    if pool.padding > pool.kernel / 2 {
        return Err(Mismatch::PoolPadding {
            padding: pad,
            kernel: (1, pool.kernel),
        });
    }
    let (_, out) = slide2d(1, steps, pad, (1, pool.kernel), (1, pool.stride), false)?;
    sequence(out, f)
}

/// `last`, `mean_over_time`, `max_over_time`: `[steps, f]` → `[f]`.
pub fn over_time(input: Shape) -> Result<Shape, Mismatch> {
    as_sequence(input).map(|(_, f)| Shape::Vector(f))
}

/// A recurrent layer of `hidden` units per direction: `[steps, features]` → `[steps,
/// directions·hidden]` with `sequences`, else `[directions·hidden]` (the final states).
pub fn recurrent(
    input: Shape,
    hidden: u64,
    directions: u64,
    sequences: bool,
) -> Result<Shape, Mismatch> {
    let (steps, _) = as_sequence(input)?;
    let width = hidden.checked_mul(directions).ok_or(Mismatch::TooLarge)?;
    if sequences {
        sequence(steps, width)
    } else {
        Ok(Shape::Vector(width))
    }
}

/// k̂ = k + (k − 1)(d − 1): a kernel of `k` taps spaced `d` apart spans k̂ inputs.
pub fn effective_kernel(kernel: u64, dilation: u64) -> Result<u64, Mismatch> {
    let gaps = kernel.checked_sub(1).ok_or(Mismatch::Zero)?;
    let extra = gaps
        .checked_mul(dilation.checked_sub(1).ok_or(Mismatch::Zero)?)
        .ok_or(Mismatch::TooLarge)?;
    kernel.checked_add(extra).ok_or(Mismatch::TooLarge)
}

/// `same` padding: the output keeps the input's size, which at stride 1 takes p = (k̂ − 1)/2
/// on both sides of each axis.
///
/// With a stride s > 1 the output is about i/s whatever the padding, so `same` cannot hold;
/// with an even k̂ the k̂ − 1 padded values cannot be split evenly between the two sides.
pub fn same_padding(kernel: Hw, stride: Hw, dilation: Hw) -> Result<Hw, Mismatch> {
    if stride.0 != 1 || stride.1 != 1 {
        return Err(Mismatch::SameStride { stride });
    }
    let effective = (
        effective_kernel(kernel.0, dilation.0)?,
        effective_kernel(kernel.1, dilation.1)?,
    );
    if effective.0 % 2 == 0 || effective.1 % 2 == 0 {
        return Err(Mismatch::SameEvenKernel { effective });
    }
    Ok(((effective.0 - 1) / 2, (effective.1 - 1) / 2))
}

/// TensorFlow's `SAME` (ONNX's `SAME_UPPER`): the output is ⌈i / s⌉ along each axis, and the
/// padding that takes, max((o − 1)·s + k̂ − i, 0), is split with the odd value at the end.
pub fn same_upper_padding(
    input: Hw,
    kernel: Hw,
    stride: Hw,
    dilation: Hw,
) -> Result<Pad, Mismatch> {
    let axis = |i: u64, k: u64, s: u64, d: u64| -> Result<Hw, Mismatch> {
        let effective = effective_kernel(k, d)?;
        let o = i.checked_add(s - 1).ok_or(Mismatch::TooLarge)? / s;
        let reach = (o - 1)
            .checked_mul(s)
            .and_then(|r| r.checked_add(effective))
            .ok_or(Mismatch::TooLarge)?;
        let total = reach.saturating_sub(i);
        Ok((total / 2, total - total / 2))
    };
    if stride.0 == 0 || stride.1 == 0 {
        return Err(Mismatch::Zero);
    }
    let (top, bottom) = axis(input.0, kernel.0, stride.0, dilation.0)?;
    let (left, right) = axis(input.1, kernel.1, stride.1, dilation.1)?;
    Ok(Pad {
        top,
        bottom,
        left,
        right,
    })
}

/// o = ⌊(i + p − k̂) / s⌋ + 1 along one axis with total padding p (⌈⌉ in ceil mode, less one
/// when the last window would start past the input and its leading padding `lead`), or `None`
/// when k̂ > i + p.
fn sliding(
    input: u64,
    (lead, total): Hw,
    effective: u64,
    stride: u64,
    ceil: bool,
) -> Result<Option<u64>, Mismatch> {
    let padded = input.checked_add(total).ok_or(Mismatch::TooLarge)?;
    let Some(room) = padded.checked_sub(effective) else {
        return Ok(None);
    };
    let steps = room.checked_div(stride).ok_or(Mismatch::Zero)?;
    if ceil && room % stride != 0 && (steps + 1) * stride < input + lead {
        return Ok(Some(steps + 2));
    }
    Ok(Some(steps + 1))
}

/// Output height and width of a window sliding over an image, or the mismatch.
fn slide2d(
    h: u64,
    w: u64,
    padding: Pad,
    effective: Hw,
    stride: Hw,
    ceil: bool,
) -> Result<Hw, Mismatch> {
    let totals = padding.totals().ok_or(Mismatch::TooLarge)?;
    let oh = sliding(h, (padding.top, totals.0), effective.0, stride.0, ceil)?;
    let ow = sliding(w, (padding.left, totals.1), effective.1, stride.1, ceil)?;
    match (oh, ow) {
        (Some(oh), Some(ow)) => Ok((oh, ow)),
        _ => Err(Mismatch::KernelTooLarge {
            input: (h, w),
            padding,
            effective,
        }),
    }
}

/// Checks that `c·h·w` fits (the runtime types carry these products as const generics).
fn image(c: u64, h: u64, w: u64) -> Result<Shape, Mismatch> {
    let shape = Shape::Image { c, h, w };
    shape.len().ok_or(Mismatch::TooLarge)?;
    Ok(shape)
}

/// `conv2d`: `[c, h, w]` → `[out_channels, oh, ow]`.
pub fn conv2d(input: Shape, conv: &Conv2d) -> Result<Shape, Mismatch> {
    let (c, h, w) = as_image(input)?;
    let effective = (
        effective_kernel(conv.kernel.0, conv.dilation.0)?,
        effective_kernel(conv.kernel.1, conv.dilation.1)?,
    );
    if conv.groups == 0
        || !c.is_multiple_of(conv.groups)
        || !conv.out_channels.is_multiple_of(conv.groups)
    {
        return Err(Mismatch::Groups {
            in_channels: c,
            out_channels: conv.out_channels,
            groups: conv.groups,
        });
    }
    let (oh, ow) = slide2d(h, w, conv.padding, effective, conv.stride, false)?;
    // The im2col matrix has c·kh·kw rows: it must be representable too.
    c.checked_mul(conv.kernel.0)
        .and_then(|k| k.checked_mul(conv.kernel.1))
        .ok_or(Mismatch::TooLarge)?;
    image(conv.out_channels, oh, ow)
}

/// `max_pool2d` / `avg_pool2d`: `[c, h, w]` → `[c, oh, ow]`.
///
/// PyTorch requires padding ≤ kernel / 2 on each axis: a larger padding would make windows that
/// cover only padding (−∞ for max pooling).
pub fn pool2d(input: Shape, pool: &Pool2d) -> Result<Shape, Mismatch> {
    let (c, h, w) = as_image(input)?;
    let p = pool.padding;
    let (half_h, half_w) = (pool.kernel.0 / 2, pool.kernel.1 / 2);
    if p.top.max(p.bottom) > half_h || p.left.max(p.right) > half_w {
        return Err(Mismatch::PoolPadding {
            padding: pool.padding,
            kernel: pool.kernel,
        });
    }
    let (oh, ow) = slide2d(h, w, pool.padding, pool.kernel, pool.stride, pool.ceil)?;
    image(c, oh, ow)
}

/// `global_avg_pool2d` / `global_max_pool2d`: `[c, h, w]` → `[c]`.
pub fn global_pool2d(input: Shape) -> Result<Shape, Mismatch> {
    as_image(input).map(|(c, _, _)| Shape::Vector(c))
}

/// The input as an image `(c, h, w)`, or the mismatch.
pub fn as_image(input: Shape) -> Result<(u64, u64, u64), Mismatch> {
    match input {
        Shape::Image { c, h, w } => Ok((c, h, w)),
        found => Err(Mismatch::NotImage { found }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(c: u64, h: u64, w: u64) -> Shape {
        Shape::Image { c, h, w }
    }

    fn conv(oc: u64, k: Hw, s: Hw, p: Hw, d: Hw) -> Conv2d {
        Conv2d {
            out_channels: oc,
            kernel: k,
            stride: s,
            padding: Pad::symmetric(p),
            dilation: d,
            groups: 1,
        }
    }

    #[test]
    fn lenet_shapes_by_hand() {
        // 28 + 2·2 − 5 + 1 = 28; 28/2 = 14; 14 − 5 + 1 = 10; 10/2 = 5; 16·5·5 = 400.
        let x = conv2d(img(1, 28, 28), &conv(6, (5, 5), (1, 1), (2, 2), (1, 1))).unwrap();
        assert_eq!(x, img(6, 28, 28));
        let x = pool2d(
            x,
            &Pool2d {
                kernel: (2, 2),
                stride: (2, 2),
                padding: Pad::symmetric((0, 0)),
                ceil: false,
            },
        )
        .unwrap();
        assert_eq!(x, img(6, 14, 14));
        let x = conv2d(x, &conv(16, (5, 5), (1, 1), (0, 0), (1, 1))).unwrap();
        assert_eq!(x, img(16, 10, 10));
        let x = pool2d(
            x,
            &Pool2d {
                kernel: (2, 2),
                stride: (2, 2),
                padding: Pad::symmetric((0, 0)),
                ceil: false,
            },
        )
        .unwrap();
        assert_eq!(x, img(16, 5, 5));
        assert_eq!(flatten(x), Ok(Shape::Vector(400)));
        assert_eq!(dense(Shape::Vector(400), 120), Ok(Shape::Vector(120)));
    }

    #[test]
    fn conv_stride_padding_dilation_by_hand() {
        // i = 7, k = 3, s = 2: (7 − 3)/2 + 1 = 3.
        assert_eq!(
            conv2d(img(1, 7, 7), &conv(2, (3, 3), (2, 2), (0, 0), (1, 1))),
            Ok(img(2, 3, 3))
        );
        // i = 8, k = 3, s = 2: ⌊5/2⌋ + 1 = 3 (floor drops the last column).
        assert_eq!(
            conv2d(img(1, 8, 8), &conv(2, (3, 3), (2, 2), (0, 0), (1, 1))),
            Ok(img(2, 3, 3))
        );
        // i = 5, k = 3, p = 1, s = 2: (5 + 2 − 3)/2 + 1 = 3.
        assert_eq!(
            conv2d(img(3, 5, 5), &conv(4, (3, 3), (2, 2), (1, 1), (1, 1))),
            Ok(img(4, 3, 3))
        );
        // k = 3, d = 2: k̂ = 5; i = 7: 7 − 5 + 1 = 3.
        assert_eq!(
            conv2d(img(1, 7, 7), &conv(1, (3, 3), (1, 1), (0, 0), (2, 2))),
            Ok(img(1, 3, 3))
        );
        // Rectangular everything: h: (10 + 2 − 3)/1 + 1 = 10; w: k̂ = 5 + 4·2 = 13,
        // (20 + 0 − 13)/3 + 1 = 3.
        let c = conv(8, (3, 5), (1, 3), (1, 0), (1, 3));
        assert_eq!(conv2d(img(2, 10, 20), &c), Ok(img(8, 10, 3)));
        // A 1×1 kernel keeps the size.
        assert_eq!(
            conv2d(img(5, 4, 6), &conv(7, (1, 1), (1, 1), (0, 0), (1, 1))),
            Ok(img(7, 4, 6))
        );
        // The kernel exactly filling the padded input gives 1×1.
        assert_eq!(
            conv2d(img(1, 3, 3), &conv(1, (5, 5), (1, 1), (1, 1), (1, 1))),
            Ok(img(1, 1, 1))
        );
    }

    #[test]
    fn effective_kernel_by_hand() {
        assert_eq!(effective_kernel(3, 1), Ok(3));
        assert_eq!(effective_kernel(3, 2), Ok(5));
        assert_eq!(effective_kernel(5, 3), Ok(13));
        assert_eq!(effective_kernel(1, 9), Ok(1));
        assert_eq!(effective_kernel(0, 1), Err(Mismatch::Zero));
        assert_eq!(effective_kernel(3, 0), Err(Mismatch::Zero));
        assert_eq!(effective_kernel(u64::MAX, 2), Err(Mismatch::TooLarge));
    }

    #[test]
    fn kernel_that_does_not_fit() {
        let err = conv2d(img(16, 4, 4), &conv(16, (5, 5), (1, 1), (0, 0), (1, 1)));
        assert_eq!(
            err,
            Err(Mismatch::KernelTooLarge {
                input: (4, 4),
                padding: Pad::symmetric((0, 0)),
                effective: (5, 5)
            })
        );
        // Dilation makes a fitting kernel too large: k̂ = 3 + 2·2 = 7 > 6.
        let err = conv2d(img(1, 6, 9), &conv(1, (3, 3), (1, 1), (0, 0), (3, 3)));
        assert_eq!(
            err,
            Err(Mismatch::KernelTooLarge {
                input: (6, 9),
                padding: Pad::symmetric((0, 0)),
                effective: (7, 7)
            })
        );
        // Only the width is too small: 2 + 2·1 = 4 < 5.
        let err = conv2d(img(1, 9, 2), &conv(1, (5, 5), (1, 1), (1, 1), (1, 1)));
        assert_eq!(
            err,
            Err(Mismatch::KernelTooLarge {
                input: (9, 2),
                padding: Pad::symmetric((1, 1)),
                effective: (5, 5)
            })
        );
        let err = pool2d(
            img(3, 2, 2),
            &Pool2d {
                kernel: (3, 3),
                stride: (3, 3),
                padding: Pad::symmetric((0, 0)),
                ceil: false,
            },
        );
        assert_eq!(
            err,
            Err(Mismatch::KernelTooLarge {
                input: (2, 2),
                padding: Pad::symmetric((0, 0)),
                effective: (3, 3)
            })
        );
    }

    #[test]
    fn same_padding_by_hand() {
        assert_eq!(same_padding((3, 3), (1, 1), (1, 1)), Ok((1, 1)));
        assert_eq!(same_padding((5, 5), (1, 1), (1, 1)), Ok((2, 2)));
        // k = 3, d = 2: p = 2·2/2 = 2.
        assert_eq!(same_padding((3, 3), (1, 1), (2, 2)), Ok((2, 2)));
        // k = 4, d = 3: k̂ = 4 + 3·2 = 10, even.
        assert_eq!(
            same_padding((4, 4), (1, 1), (3, 3)),
            Err(Mismatch::SameEvenKernel {
                effective: (10, 10)
            })
        );
        // k = 4, d = 2: k̂ = 7, odd, p = 3.
        assert_eq!(same_padding((4, 4), (1, 1), (2, 2)), Ok((3, 3)));
        assert_eq!(same_padding((1, 5), (1, 1), (1, 1)), Ok((0, 2)));
        assert_eq!(
            same_padding((4, 3), (1, 1), (1, 1)),
            Err(Mismatch::SameEvenKernel { effective: (4, 3) })
        );
        assert_eq!(
            same_padding((3, 3), (2, 2), (1, 1)),
            Err(Mismatch::SameStride { stride: (2, 2) })
        );
        assert_eq!(
            same_padding((3, 3), (1, 2), (1, 1)),
            Err(Mismatch::SameStride { stride: (1, 2) })
        );
        // Same padding really keeps the size: i + 2p − k̂ + 1 = i.
        let p = same_padding((5, 3), (1, 1), (2, 1)).unwrap();
        assert_eq!(
            conv2d(img(1, 11, 4), &conv(2, (5, 3), (1, 1), p, (2, 1))),
            Ok(img(2, 11, 4))
        );
    }

    #[test]
    fn pooling_by_hand() {
        let pool = |k: Hw, s: Hw, p: Hw| Pool2d {
            kernel: k,
            stride: s,
            padding: Pad::symmetric(p),
            ceil: false,
        };
        // 5 − 2 = 3, ⌊3/2⌋ + 1 = 2.
        assert_eq!(
            pool2d(img(4, 5, 5), &pool((2, 2), (2, 2), (0, 0))),
            Ok(img(4, 2, 2))
        );
        // k = 3, s = 2, p = 1 on 7: (7 + 2 − 3)/2 + 1 = 4.
        assert_eq!(
            pool2d(img(1, 7, 7), &pool((3, 3), (2, 2), (1, 1))),
            Ok(img(1, 4, 4))
        );
        // k = 3, s = 1 on 6×4: 4×2.
        assert_eq!(
            pool2d(img(2, 6, 4), &pool((3, 3), (1, 1), (0, 0))),
            Ok(img(2, 4, 2))
        );
        // padding 1 on kernel 2 is exactly half: allowed; 2 on 3 is not (3/2 = 1).
        assert_eq!(
            pool2d(img(1, 4, 4), &pool((2, 2), (2, 2), (1, 1))),
            Ok(img(1, 3, 3))
        );
        assert_eq!(
            pool2d(img(1, 9, 9), &pool((3, 3), (3, 3), (2, 0))),
            Err(Mismatch::PoolPadding {
                padding: Pad::symmetric((2, 0)),
                kernel: (3, 3)
            })
        );
        assert_eq!(
            pool2d(img(1, 4, 4), &pool((2, 2), (0, 0), (0, 0))),
            Err(Mismatch::Zero)
        );
        assert_eq!(global_pool2d(img(16, 5, 5)), Ok(Shape::Vector(16)));
    }

    #[test]
    fn vectors_and_images_do_not_mix() {
        assert_eq!(
            dense(img(6, 5, 5), 10),
            Err(Mismatch::NotVector {
                found: img(6, 5, 5)
            })
        );
        assert_eq!(
            conv2d(Shape::Vector(120), &conv(1, (3, 3), (1, 1), (0, 0), (1, 1))),
            Err(Mismatch::NotImage {
                found: Shape::Vector(120)
            })
        );
        let p = Pool2d {
            kernel: (2, 2),
            stride: (2, 2),
            padding: Pad::symmetric((0, 0)),
            ceil: false,
        };
        assert_eq!(
            pool2d(Shape::Vector(8), &p),
            Err(Mismatch::NotImage {
                found: Shape::Vector(8)
            })
        );
        assert_eq!(
            global_pool2d(Shape::Vector(8)),
            Err(Mismatch::NotImage {
                found: Shape::Vector(8)
            })
        );
        assert_eq!(flatten(Shape::Vector(8)), Ok(Shape::Vector(8)));
    }

    fn seq(steps: u64, features: u64) -> Shape {
        Shape::Sequence { steps, features }
    }

    #[test]
    fn sequences() {
        // dense on a sequence is per step; flatten reads it step-major.
        assert_eq!(dense(seq(28, 28), 10), Ok(seq(28, 10)));
        assert_eq!(flatten(seq(28, 28)), Ok(Shape::Vector(784)));
        let tokens = Shape::Tokens { steps: 5 };
        assert_eq!(embedding(tokens, 8), Ok(seq(5, 8)));
        assert_eq!(
            embedding(seq(5, 8), 8),
            Err(Mismatch::NotTokens { found: seq(5, 8) })
        );
        assert_eq!(dense(tokens, 3), Err(Mismatch::NotVector { found: tokens }));
        assert_eq!(over_time(seq(7, 3)), Ok(Shape::Vector(3)));
        assert_eq!(recurrent(seq(7, 3), 16, 2, true), Ok(seq(7, 32)));
        assert_eq!(recurrent(seq(7, 3), 16, 1, false), Ok(Shape::Vector(16)));
        assert_eq!(
            recurrent(img(1, 28, 28), 16, 1, false),
            Err(Mismatch::NotSequence {
                found: img(1, 28, 28)
            })
        );
    }

    /// conv1d's output length against L_out = ⌊(L + pl + pr − d(k − 1) − 1)/s⌋ + 1, written
    /// out here, over a grid of geometries.
    #[test]
    fn conv1d_output_length() {
        for l in [1u64, 5, 16, 49] {
            for k in [1u64, 2, 3, 5] {
                for s in [1u64, 2, 3] {
                    for (pl, pr) in [(0u64, 0u64), (1, 1), (0, 1), (2, 1)] {
                        for d in [1u64, 2] {
                            let conv = Conv1d {
                                out_channels: 4,
                                kernel: k,
                                stride: s,
                                padding: (pl, pr),
                                dilation: d,
                                groups: 1,
                            };
                            let span = d * (k - 1) + 1;
                            let got = conv1d(seq(l, 2), &conv);
                            if l + pl + pr < span {
                                assert!(matches!(got, Err(Mismatch::KernelTooLarge { .. })));
                            } else {
                                let want = (l + pl + pr - span) / s + 1;
                                assert_eq!(
                                    got,
                                    Ok(seq(want, 4)),
                                    "L={l} k={k} s={s} p=({pl},{pr}) d={d}"
                                );
                            }
                        }
                    }
                }
            }
        }
        let grouped = Conv1d {
            out_channels: 6,
            kernel: 3,
            stride: 1,
            padding: (1, 1),
            dilation: 1,
            groups: 4,
        };
        assert!(matches!(
            conv1d(seq(8, 8), &grouped),
            Err(Mismatch::Groups { .. })
        ));
    }

    #[test]
    fn pool1d_output_length() {
        let p = Pool1d {
            kernel: 2,
            stride: 2,
            padding: 0,
        };
        assert_eq!(pool1d(seq(9, 3), &p), Ok(seq(4, 3)));
        let p = Pool1d {
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        assert_eq!(pool1d(seq(9, 3), &p), Ok(seq(9, 3)));
        let p = Pool1d {
            kernel: 2,
            stride: 1,
            padding: 2,
        };
        assert!(matches!(
            pool1d(seq(9, 3), &p),
            Err(Mismatch::PoolPadding { .. })
        ));
    }

    #[test]
    fn huge_sizes_are_errors_not_panics() {
        let huge = u64::MAX / 2;
        assert_eq!(flatten(img(huge, 4, 1)), Err(Mismatch::TooLarge));
        assert_eq!(
            conv2d(img(1, 4, 4), &conv(1, (1, 1), (1, 1), (huge, 0), (1, 1))),
            Err(Mismatch::TooLarge)
        );
        assert_eq!(
            conv2d(img(1, 4, 4), &conv(huge, (1, 1), (1, 1), (0, 0), (1, 1))),
            Err(Mismatch::TooLarge)
        );
        assert_eq!(
            conv2d(img(1, 4, 4), &conv(1, (3, 3), (0, 1), (0, 0), (1, 1))),
            Err(Mismatch::Zero)
        );
        assert_eq!(format!("{}", img(6, 28, 28)), "[6, 28, 28]");
        assert_eq!(format!("{}", Shape::Vector(10)), "[10]");
    }

    #[test]
    fn ceil_mode_by_hand() {
        let pool = |k: u64, s: u64, p: u64| Pool2d {
            kernel: (k, k),
            stride: (s, s),
            padding: Pad::symmetric((p, p)),
            ceil: true,
        };
        // 7, k = 2, s = 2: ⌈5/2⌉ + 1 = 4 (floor gives 3); the last window starts at 6 < 7.
        assert_eq!(pool2d(img(1, 7, 7), &pool(2, 2, 0)), Ok(img(1, 4, 4)));
        // GoogLeNet's 112 → 56 with kernel 3, stride 2: ⌈109/2⌉ + 1 = 56.
        assert_eq!(
            pool2d(img(64, 112, 112), &pool(3, 2, 0)),
            Ok(img(64, 56, 56))
        );
        // 5, k = 2, s = 2, p = 1: ⌈5/2⌉ + 1 = 4, but that window would start at 6, past the
        // input and its leading padding (5 + 1): 3.
        assert_eq!(pool2d(img(1, 5, 5), &pool(2, 2, 1)), Ok(img(1, 3, 3)));
        // Exact division: ceil and floor agree, 6 + 2 − 2 = 6, 6/2 + 1 = 4.
        assert_eq!(pool2d(img(1, 6, 6), &pool(2, 2, 1)), Ok(img(1, 4, 4)));
    }

    #[test]
    fn same_upper_by_hand() {
        // 5, k = 3, s = 2: o = 3, (3 − 1)·2 + 3 − 5 = 2 → 1 and 1.
        let p = same_upper_padding((5, 5), (3, 3), (2, 2), (1, 1)).unwrap();
        assert_eq!(p, Pad::symmetric((1, 1)));
        // 4, k = 3, s = 2: o = 2, 2 + 3 − 4 = 1 → 0 before, 1 after.
        let p = same_upper_padding((4, 4), (3, 3), (2, 2), (1, 1)).unwrap();
        assert_eq!((p.top, p.bottom, p.left, p.right), (0, 1, 0, 1));
        // DS-CNN's first layer on 49×10 MFCCs, kernel (10, 4), stride 2: o = 25 × 5;
        // height 48 + 10 − 49 = 9 → 4 and 5; width 8 + 4 − 10 = 2 → 1 and 1.
        let p = same_upper_padding((49, 10), (10, 4), (2, 2), (1, 1)).unwrap();
        assert_eq!((p.top, p.bottom, p.left, p.right), (4, 5, 1, 1));
        let mut c = Conv2d {
            out_channels: 64,
            kernel: (10, 4),
            stride: (2, 2),
            padding: p,
            dilation: (1, 1),
            groups: 1,
        };
        assert_eq!(conv2d(img(1, 49, 10), &c), Ok(img(64, 25, 5)));
        // At stride 1 it is `same`: k = 3 → 1 on each side.
        let p = same_upper_padding((7, 7), (3, 3), (1, 1), (1, 1)).unwrap();
        assert_eq!(p, Pad::symmetric((1, 1)));
        // A kernel of 1 at stride 2 needs none: o = 3 for 5, (3 − 1)·2 + 1 = 5.
        let p = same_upper_padding((5, 5), (1, 1), (2, 2), (1, 1)).unwrap();
        assert_eq!(p, Pad::symmetric((0, 0)));
        // Depthwise: groups = channels.
        c.groups = 64;
        assert_eq!(
            conv2d(img(64, 25, 5), &{
                let mut d = c;
                d.kernel = (3, 3);
                d.stride = (1, 1);
                d.padding = Pad::symmetric((1, 1));
                d
            }),
            Ok(img(64, 25, 5))
        );
    }

    #[test]
    fn groups_divide_both_channel_counts() {
        let c = |in_c: u64, oc: u64, g: u64| {
            conv2d(
                img(in_c, 4, 4),
                &Conv2d {
                    out_channels: oc,
                    kernel: (1, 1),
                    stride: (1, 1),
                    padding: Pad::symmetric((0, 0)),
                    dilation: (1, 1),
                    groups: g,
                },
            )
        };
        assert_eq!(c(4, 6, 2), Ok(img(6, 4, 4)));
        assert_eq!(c(3, 6, 3), Ok(img(6, 4, 4)));
        let err = |i, o, g| {
            Err(Mismatch::Groups {
                in_channels: i,
                out_channels: o,
                groups: g,
            })
        };
        assert_eq!(c(4, 6, 3), err(4, 6, 3));
        assert_eq!(c(6, 4, 3), err(6, 4, 3));
    }
}
