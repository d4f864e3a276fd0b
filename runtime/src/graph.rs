//! What blocks lower to: an arena of working memory, and the joins `residual` and `concat`.
//!
//! `network!` plans a model's working memory at compile time: every intermediate value gets
//! an offset in one flat arena, and values whose lifetimes do not overlap share bytes (see the
//! macro's `plan.rs`). The generated code then sees each region as the layer's typed vector
//! through [`view`], [`view_mut`] and [`split`]. Every offset is a const generic and every
//! range is checked by a `const` assertion, so a plan that would overlap two live values, or
//! read past the arena, does not compile; at run time the views cost nothing.
//!
//! The joins are two slice operations over flat vectors: [`copy`] and [`accumulate`], each
//! between a sub-range of one vector and a sub-range of another. Images are stored in
//! (channel, row, column) order, so concatenating along channels is concatenating the flat
//! vectors: `concat` forward copies each branch into its range of the output, and backward
//! hands each branch its range of the output gradient. `residual` adds: forward copies one
//! term and accumulates the other, and backward gives both terms the output gradient.

use crate::{InPlace, Layer, Scalar};
use nalgebra::SVector;

/// [`Layer::forward`], in a stack frame of its own when the layer needs scratch memory.
///
/// Inlined into one function, every layer's scratch array would be a slot of that one frame,
/// and the compiler does not reliably overlap them: a network of five convolutions would keep
/// five im2col buffers. Behind a call that is never inlined, one layer's scratch is live at a
/// time, which is what the memory figures state. Layers without scratch stay inlined.
#[inline(always)]
pub fn forward<T: Scalar, L: Layer<T>>(layer: &L, x: &L::Input, y: &mut L::Output) {
    if L::SCRATCH_BYTES > 0 {
        framed_forward(layer, x, y)
    } else {
        layer.forward(x, y)
    }
}

#[inline(never)]
fn framed_forward<T: Scalar, L: Layer<T>>(layer: &L, x: &L::Input, y: &mut L::Output) {
    layer.forward(x, y)
}

/// [`Layer::forward_train`], framed as [`forward`] is.
#[inline(always)]
pub fn forward_train<T: Scalar, L: Layer<T>>(
    layer: &mut L,
    x: &L::Input,
    y: &mut L::Output,
    rec: &mut L::Record,
) {
    if L::SCRATCH_BYTES > 0 {
        framed_forward_train(layer, x, y, rec)
    } else {
        layer.forward_train(x, y, rec)
    }
}

#[inline(never)]
fn framed_forward_train<T: Scalar, L: Layer<T>>(
    layer: &mut L,
    x: &L::Input,
    y: &mut L::Output,
    rec: &mut L::Record,
) {
    layer.forward_train(x, y, rec)
}

/// [`Layer::backward`], framed as [`forward`] is.
#[inline(always)]
pub fn backward<T: Scalar, L: Layer<T>>(
    layer: &L,
    (x, y, rec): (&L::Input, &L::Output, &L::Record),
    dy: &L::Output,
    dx: Option<&mut L::Input>,
    grad: &mut L::Grad,
) {
    if L::SCRATCH_BYTES > 0 {
        framed_backward(layer, (x, y, rec), dy, dx, grad)
    } else {
        layer.backward(x, y, rec, dy, dx, grad)
    }
}

#[inline(never)]
fn framed_backward<T: Scalar, L: Layer<T>>(
    layer: &L,
    (x, y, rec): (&L::Input, &L::Output, &L::Record),
    dy: &L::Output,
    dx: Option<&mut L::Input>,
    grad: &mut L::Grad,
) {
    layer.backward(x, y, rec, dy, dx, grad)
}

/// The region `[AT, AT + N)` of an arena of `A` values, as a vector.
#[inline(always)]
pub fn view<T: Scalar, const A: usize, const AT: usize, const N: usize>(
    arena: &SVector<T, A>,
) -> &SVector<T, N> {
    const { assert!(AT + N <= A, "arena view out of bounds") };
    as_vector(&arena.as_slice()[AT..AT + N])
}

/// The region `[AT, AT + N)` of an arena of `A` values, as a mutable vector.
#[inline(always)]
pub fn view_mut<T: Scalar, const A: usize, const AT: usize, const N: usize>(
    arena: &mut SVector<T, A>,
) -> &mut SVector<T, N> {
    const { assert!(AT + N <= A, "arena view out of bounds") };
    as_vector_mut(&mut arena.as_mut_slice()[AT..AT + N])
}

/// Two disjoint regions of one arena: `[XAT, XAT + X)` to read and `[YAT, YAT + Y)` to write.
#[inline(always)]
pub fn split<
    T: Scalar,
    const A: usize,
    const XAT: usize,
    const X: usize,
    const YAT: usize,
    const Y: usize,
>(
    arena: &mut SVector<T, A>,
) -> (&SVector<T, X>, &mut SVector<T, Y>) {
    const {
        assert!(XAT + X <= A && YAT + Y <= A, "arena view out of bounds");
        assert!(XAT + X <= YAT || YAT + Y <= XAT, "arena views overlap");
    };
    let all = arena.as_mut_slice();
    if XAT < YAT {
        let (low, high) = all.split_at_mut(YAT);
        (as_vector(&low[XAT..XAT + X]), as_vector_mut(&mut high[..Y]))
    } else {
        let (low, high) = all.split_at_mut(XAT);
        (as_vector(&high[..X]), as_vector_mut(&mut low[YAT..YAT + Y]))
    }
}

/// `dst[DAT..DAT + LEN] = src[SAT..SAT + LEN]`.
#[inline(always)]
pub fn copy<
    T: Scalar,
    const N: usize,
    const SAT: usize,
    const M: usize,
    const DAT: usize,
    const LEN: usize,
>(
    src: &SVector<T, N>,
    dst: &mut SVector<T, M>,
) {
    const { assert!(SAT + LEN <= N && DAT + LEN <= M, "copy out of bounds") };
    dst.as_mut_slice()[DAT..DAT + LEN].copy_from_slice(&src.as_slice()[SAT..SAT + LEN]);
}

/// `dst[DAT..DAT + LEN] += src[SAT..SAT + LEN]`.
#[inline(always)]
pub fn accumulate<
    T: Scalar,
    const N: usize,
    const SAT: usize,
    const M: usize,
    const DAT: usize,
    const LEN: usize,
>(
    src: &SVector<T, N>,
    dst: &mut SVector<T, M>,
) {
    const { assert!(SAT + LEN <= N && DAT + LEN <= M, "accumulate out of bounds") };
    let dst = &mut dst.as_mut_slice()[DAT..DAT + LEN];
    for (d, &s) in dst.iter_mut().zip(&src.as_slice()[SAT..SAT + LEN]) {
        *d += s;
    }
}

/// [`copy`] or [`accumulate`] (`add`) for every sample of a minibatch. The batch path calls
/// this rather than writing the loop itself: a generated function with one loop per layer
/// makes the borrow checker's work grow faster than the number of layers.
#[inline(always)]
pub fn move_batch<
    T: Scalar,
    const N: usize,
    const SAT: usize,
    const M: usize,
    const DAT: usize,
    const LEN: usize,
    const B: usize,
>(
    add: bool,
    src: &[SVector<T, N>; B],
    dst: &mut [SVector<T, M>; B],
) {
    for (src, dst) in src.iter().zip(dst) {
        if add {
            accumulate::<T, N, SAT, M, DAT, LEN>(src, dst);
        } else {
            copy::<T, N, SAT, M, DAT, LEN>(src, dst);
        }
    }
}

/// [`InPlace::backward_in_place`] for every sample of a minibatch (as [`move_batch`], the loop
/// lives here rather than in the generated function).
#[inline(always)]
pub fn backward_in_place_batch<T: Scalar, L: InPlace<T>, const B: usize>(
    layer: &L,
    x: &[L::Input; B],
    y: &[L::Output; B],
    d: &mut [L::Output; B],
) {
    for ((x, y), d) in x.iter().zip(y).zip(d) {
        layer.backward_in_place(x, y, d);
    }
}

/// A slice of exactly `N` values seen as an `SVector<T, N>` (same layout: nalgebra's static
/// vectors are `Pod` arrays).
#[inline(always)]
fn as_vector<T: Scalar, const N: usize>(values: &[T]) -> &SVector<T, N> {
    &bytemuck::cast_slice::<T, SVector<T, N>>(values)[0]
}

#[inline(always)]
fn as_vector_mut<T: Scalar, const N: usize>(values: &mut [T]) -> &mut SVector<T, N> {
    &mut bytemuck::cast_slice_mut::<T, SVector<T, N>>(values)[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_see_their_range() {
        let mut arena = SVector::<f32, 8>::from_fn(|i, _| i as f32);
        assert_eq!(view::<f32, 8, 2, 3>(&arena).as_slice(), &[2.0, 3.0, 4.0]);
        view_mut::<f32, 8, 5, 2>(&mut arena).fill(-1.0);
        assert_eq!(
            arena.as_slice(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, -1.0, -1.0, 7.0]
        );
        // Read after write and write before read, both orders of the regions.
        let (x, y) = split::<f32, 8, 0, 2, 6, 2>(&mut arena);
        y.copy_from(x);
        assert_eq!(&arena.as_slice()[6..], &[0.0, 1.0]);
        let (x, y) = split::<f32, 8, 4, 2, 1, 2>(&mut arena);
        y.copy_from(x);
        assert_eq!(&arena.as_slice()[1..3], &[4.0, -1.0]);
    }

    #[test]
    fn copy_and_accumulate_move_sub_ranges() {
        let a = SVector::<f64, 3>::new(1.0, 2.0, 3.0);
        let mut out = SVector::<f64, 5>::zeros();
        // concat [a[1..3], a] → out
        copy::<f64, 3, 1, 5, 0, 2>(&a, &mut out);
        copy::<f64, 3, 0, 5, 2, 3>(&a, &mut out);
        assert_eq!(out.as_slice(), &[2.0, 3.0, 1.0, 2.0, 3.0]);
        accumulate::<f64, 3, 0, 5, 1, 3>(&a, &mut out);
        assert_eq!(out.as_slice(), &[2.0, 4.0, 3.0, 5.0, 3.0]);
        let mut back = SVector::<f64, 3>::zeros();
        copy::<f64, 5, 2, 3, 0, 3>(&out, &mut back);
        assert_eq!(back.as_slice(), &[3.0, 5.0, 3.0]);
    }
}
