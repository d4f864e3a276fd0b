//! Inner kernels shared by the layers, sized for the compilation target's SIMD registers: dense
//! matrix–vector products and their backward ([`dense_forward`], [`dense_backward`]), and the
//! register-blocked matrix products convolutions are made of: [`gemm_nn`] (a panel of one
//! factor times broadcast entries of the other; [`gemm_nn_part`] with run-time sizes),
//! [`gemm_nb`] (the same, the other factor read in place from an image) and [`gemm_tn`] (long
//! dot products).
//!
//! Everything is safe Rust on flat slices, written as loops over small fixed-size arrays
//! (`[T; L]`, `L` lanes of one vector register) that LLVM turns into vector instructions on any
//! target. Each kernel takes the [`Width`] it is blocked for as its first generic argument;
//! the instruction set is its caller's (the layers compile their hot paths once per level
//! where the level is chosen at run time: [`crate::simd`]). How those loops are written decides whether it does, and the profile of every shape
//! here was checked on AVX-512:
//!
//! - the loop over contiguous lanes must be the one LLVM vectorises: if it unrolls instead and
//!   leaves an outer loop without a carried sum, LLVM vectorises that loop across rows or
//!   blocks with gathers and scatters, which run several times slower than the scalar code;
//! - sums carried by a loop stay in registers only if nothing inside the lane loops can
//!   branch (bounds checks go before them) and the blocks are small; single-row remainder
//!   blocks compile badly, so remainders re-run a whole block that ends at the edge and
//!   store only its new part.

use crate::simd::Width;
use crate::Scalar;

/// Runs `$body` with two constants in scope for the width `$V` and scalar `$T`: `L`, the
/// lanes of one vector, and `ACC`, the accumulators of [`gemm_nn`] (about half the vector
/// registers; the rest hold a panel of `A` and the broadcast row of `B`), counted in
/// vectors. Constants, because generic arguments cannot be computed from generic parameters
/// on stable Rust; the conditions are `const` blocks, so only the one arm that applies is
/// compiled.
macro_rules! with_lanes {
    ($V:ty, $T:ty, $body:expr) => {
        match const { <$V as Width>::BYTES } {
            64 => {
                #[allow(dead_code)]
                const ACC: usize = 16;
                if const { <$T as Scalar>::BYTES == 4 } {
                    const L: usize = 16;
                    $body
                } else {
                    const L: usize = 8;
                    $body
                }
            }
            32 => {
                #[allow(dead_code)]
                const ACC: usize = 8;
                if const { <$T as Scalar>::BYTES == 4 } {
                    const L: usize = 8;
                    $body
                } else {
                    const L: usize = 4;
                    $body
                }
            }
            _ => {
                #[allow(dead_code)]
                const ACC: usize = 8;
                if const { <$T as Scalar>::BYTES == 4 } {
                    const L: usize = 4;
                    $body
                } else {
                    const L: usize = 2;
                    $body
                }
            }
        }
    };
}

/// Rows of the weight matrix the dense forward works on at once: they share each load of `x`.
const ROWS: usize = 4;

/// Rows of the weight matrix the dense backward works on at once: they share each load and
/// store of `dx`. Each row streams its weights and gradients from L2 (fc1 of LeNet holds
/// 192 KB of each), and with more than two rows at a time the streams run slower, not faster.
const BWD_ROWS: usize = 2;

/// The sum of the lanes, as a balanced tree of vector additions (an in-order sum of the lanes
/// would be one long chain of scalar additions).
#[inline(always)]
fn hsum<T: Scalar, const L: usize>(mut v: [T; L]) -> T {
    let mut n = L;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            v[i] += v[i + n];
        }
    }
    v[0]
}

/// Defines a public kernel: `pub fn $name<V: Width, …>` calls `$body::<V, …>`, the
/// `#[inline(always)]` loops the layers call directly, from inside the copies of their hot
/// paths that [`crate::simd::target_copies!`] compiles for each instruction set. Called from
/// elsewhere, a kernel runs with the caller's instruction set, blocked for `V`.
macro_rules! kernel {
    (
        $(#[$attr:meta])*
        pub fn $name:ident<[$($gen:tt)*], [$($garg:tt)*]>($($arg:ident: $ty:ty),* $(,)?) = $body:ident;
    ) => {
        $(#[$attr])*
        #[inline]
        #[allow(clippy::too_many_arguments)]
        pub fn $name<V: Width, $($gen)*>($($arg: $ty),*) {
            $body::<V, $($garg)*>($($arg),*)
        }
    };
}

kernel! {
/// `y = b + W x` for `W: O × I`, row-major (`w[o·I + i]`, PyTorch's `[out, in]`); `b = 0` when
/// not given.
    pub fn dense_forward<[T: Scalar, const I: usize, const O: usize], [T, I, O]>(
        w: &[T],
        b: Option<&[T]>,
        x: &[T],
        y: &mut [T],
    ) = dense_forward_at;
}

#[inline(always)]
pub(crate) fn dense_forward_at<V: Width, T: Scalar, const I: usize, const O: usize>(
    w: &[T],
    b: Option<&[T]>,
    x: &[T],
    y: &mut [T],
) {
    with_lanes!(V, T, dense_forward_l::<T, I, O, L>(w, b, x, y))
}

#[inline(always)]
fn dense_forward_l<T: Scalar, const I: usize, const O: usize, const L: usize>(
    w: &[T],
    b: Option<&[T]>,
    x: &[T],
    y: &mut [T],
) {
    let (w, x, y) = (&w[..I * O], &x[..I], &mut y[..O]);
    let mut o = 0;
    while o + ROWS <= O {
        dot_rows::<T, I, L, ROWS>(
            &w[o * I..][..ROWS * I],
            x,
            b.map(|b| &b[o..o + ROWS]),
            &mut y[o..o + ROWS],
        );
        o += ROWS;
    }
    let (w, b, y) = (&w[o * I..], b.map(|b| &b[o..]), &mut y[o..]);
    // The rows left over are a constant: only their kernel is instantiated.
    match const { O % ROWS } {
        3 => dot_rows::<T, I, L, 3>(w, x, b, y),
        2 => dot_rows::<T, I, L, 2>(w, x, b, y),
        1 => dot_rows::<T, I, L, 1>(w, x, b, y),
        _ => {}
    }
}

/// Per row, the lane-wise sums `Σ_k rows[r][k] · xc[k]` (each row as long as `xc`), which
/// [`dot_rows`] and [`dots_at`] sum across.
#[inline(always)]
fn row_sums<T: Scalar, const L: usize, const R: usize>(
    rows: [&[[T; L]]; R],
    xc: &[[T; L]],
) -> [[T; L]; R] {
    let mut acc = [[T::zero(); L]; R];
    if crate::simd::DISPATCH {
        // Row by row, zipping array-typed chunks: no index to check, so the lane loop is one
        // vector multiply-add per chunk whatever LLVM's unroller decides. Chunk-major over
        // the rows (below) relies on the row loop being unrolled to drop the bounds checks:
        // it is when the build targets its instruction set, not in the copies dispatched at
        // run time in a user's crate, which ran scalar. (Zipping four rows at once to share
        // the loads of `x` measured no faster.) Each row adds its chunks in the same order
        // either way, so the two give the same sums.
        for (acc, wc) in acc.iter_mut().zip(&rows) {
            for (wv, xv) in wc.iter().zip(xc) {
                for l in 0..L {
                    acc[l] += wv[l] * xv[l];
                }
            }
        }
    } else {
        // Chunk-major, sharing each load of `x` between the rows; on a Cortex-M this is also
        // the smaller code (row by row unrolls into 18 KB more of LeNet-5).
        for (k, xv) in xc.iter().enumerate() {
            for (acc, wc) in acc.iter_mut().zip(&rows) {
                let wv = &wc[k];
                for l in 0..L {
                    acc[l] += wv[l] * xv[l];
                }
            }
        }
    }
    acc
}

/// `y[r] = b[r] + ⟨W[r], x⟩` for the `R` consecutive rows of `w`, each dot product in `L`
/// lanes summed across at the end.
#[inline(always)]
fn dot_rows<T: Scalar, const I: usize, const L: usize, const R: usize>(
    w: &[T],
    x: &[T],
    b: Option<&[T]>,
    y: &mut [T],
) {
    let (xc, xt) = x[..I].as_chunks::<L>();
    let rows: [(&[[T; L]], &[T]); R] = core::array::from_fn(|r| w[r * I..][..I].as_chunks::<L>());
    let acc = row_sums::<T, L, R>(rows.map(|(wc, _)| wc), xc);
    for (r, (acc, (_, wt))) in acc.into_iter().zip(&rows).enumerate() {
        let mut s = hsum(acc);
        for (&w, &x) in wt.iter().zip(xt) {
            s += w * x;
        }
        y[r] = b.map_or(T::zero(), |b| b[r]) + s;
    }
}

kernel! {
/// Dense backward for `W: O × I` row-major: `gw += δ xᵀ` and, when `dx` is given,
/// `dx = Wᵀ δ`, in one pass over the rows of `W` and `gw`.
///
/// Rows whose `δ` is exactly zero (every unit a ReLU switched off) add nothing and are skipped,
/// which halves the work behind a ReLU. (The one difference from the textbook product: an
/// infinite or NaN input no longer turns such a row's gradient into NaN through `0 · ∞`.)
    pub fn dense_backward<[T: Scalar, const I: usize, const O: usize], [T, I, O]>(
        w: &[T],
        x: &[T],
        dy: &[T],
        gw: &mut [T],
        dx: Option<&mut [T]>,
    ) = dense_backward_at;
}

/// [`dense_backward`]'s loops, vectorised by LLVM along the rows (the width does not matter;
/// `V` keeps the signature of the other kernels).
#[inline(always)]
#[allow(clippy::extra_unused_type_parameters)]
pub(crate) fn dense_backward_at<V: Width, T: Scalar, const I: usize, const O: usize>(
    w: &[T],
    x: &[T],
    dy: &[T],
    gw: &mut [T],
    dx: Option<&mut [T]>,
) {
    let (w, x, dy, gw) = (&w[..I * O], &x[..I], &dy[..O], &mut gw[..I * O]);
    // The rows that contribute, in order.
    let mut live = [0usize; O];
    let mut n = 0;
    for (o, &d) in dy.iter().enumerate() {
        live[n] = o;
        n += (d != T::zero()) as usize;
    }
    let Some(dx) = dx else {
        for &o in &live[..n] {
            let d = dy[o];
            for (g, &x) in gw[o * I..][..I].iter_mut().zip(x) {
                *g += d * x;
            }
        }
        return;
    };
    let dx = &mut dx[..I];
    dx.fill(T::zero());
    let mut groups = live[..n].chunks_exact(BWD_ROWS);
    for group in &mut groups {
        rows_backward::<T, I, BWD_ROWS>(group, w, x, dy, gw, dx);
    }
    // BWD_ROWS = 2 leaves at most one row.
    for &o in groups.remainder() {
        rows_backward::<T, I, 1>(&[o], w, x, dy, gw, dx);
    }
}

/// [`dense_backward`] for the `R` rows `os` (ascending): `gw[o] += δₒ x` and `dx += δₒ W[o]`,
/// sharing each load and store of `dx`.
#[inline(always)]
fn rows_backward<T: Scalar, const I: usize, const R: usize>(
    os: &[usize],
    w: &[T],
    x: &[T],
    dy: &[T],
    gw: &mut [T],
    dx: &mut [T],
) {
    let d: [T; R] = core::array::from_fn(|r| dy[os[r]]);
    let wr: [&[T]; R] = core::array::from_fn(|r| &w[os[r] * I..][..I]);
    let ranges: [core::ops::Range<usize>; R] = core::array::from_fn(|r| os[r] * I..os[r] * I + I);
    let Ok(gr) = gw.get_disjoint_mut(ranges) else {
        return;
    };
    let (x, dx) = (&x[..I], &mut dx[..I]);
    // The loop over all I inputs is the innermost loop left once the row loop unrolls, and
    // LLVM vectorises it along contiguous memory. (Blocking it into lane-sized chunks by hand
    // made LLVM vectorise across the chunks instead, with gathers and scatters on AVX-512.)
    for i in 0..I {
        let xi = x[i];
        let mut a = dx[i];
        for r in 0..R {
            gr[r][i] += d[r] * xi;
            a += d[r] * wr[r][i];
        }
        dx[i] = a;
    }
}

/// What a [`gemm_nn`] product's accumulators start from.
#[derive(Clone, Copy)]
pub enum Start<'a, T> {
    /// Zero.
    Zero,
    /// One value per output column (a bias).
    Columns(&'a [T]),
    /// One value per output row.
    Rows(&'a [T]),
}

/// Where [`gemm_nn`] puts its results: `MR` consecutive rows of one output column at a time.
pub trait Sink<T> {
    /// Rows `row0 .. row0 + vals.len()` of column `col`.
    fn put(&mut self, col: usize, row0: usize, vals: &[T]);
}

/// Column-major storage: `out[col·ld + row] = value`.
pub struct Store<'a, T> {
    /// The output.
    pub out: &'a mut [T],
    /// The distance between columns (the leading dimension).
    pub ld: usize,
}

impl<T: Scalar> Sink<T> for Store<'_, T> {
    #[inline(always)]
    fn put(&mut self, col: usize, row0: usize, vals: &[T]) {
        self.out[col * self.ld + row0..][..vals.len()].copy_from_slice(vals);
    }
}

/// Accumulation at a start offset per column: `out[offs(col) + row] += value`. Columns may
/// overlap in memory: each `put` reads and writes its rows before the next begins.
pub struct AddAt<'a, T, F> {
    /// The output.
    pub out: &'a mut [T],
    /// Where each column starts.
    pub offs: F,
}

impl<T: Scalar, F: Fn(usize) -> usize> Sink<T> for AddAt<'_, T, F> {
    #[inline(always)]
    fn put(&mut self, col: usize, row0: usize, vals: &[T]) {
        let out = &mut self.out[(self.offs)(col) + row0..][..vals.len()];
        for (o, &v) in out.iter_mut().zip(vals) {
            *o += v;
        }
    }
}

/// Storage across: the values of one `put` go down a row, `out[at + col + (row0 + l)·ld] =
/// vals[l]` (a product computed transposed, stored the right way round).
pub struct StoreAcross<'a, T> {
    /// The output.
    pub out: &'a mut [T],
    /// The distance between rows.
    pub ld: usize,
    /// Where column 0 of row 0 goes.
    pub at: usize,
}

impl<T: Scalar> Sink<T> for StoreAcross<'_, T> {
    #[inline(always)]
    fn put(&mut self, col: usize, row0: usize, vals: &[T]) {
        let out = &mut self.out[self.at + col + row0 * self.ld..];
        for (o, &v) in out.iter_mut().step_by(self.ld).zip(vals) {
            *o = v;
        }
    }
}

/// Accumulation across, as [`StoreAcross`] stores: `out[col + (row0 + l)·ld] += vals[l]`.
pub struct AddAcross<'a, T> {
    /// The output.
    pub out: &'a mut [T],
    /// The distance between rows.
    pub ld: usize,
}

impl<T: Scalar> Sink<T> for AddAcross<'_, T> {
    #[inline(always)]
    fn put(&mut self, col: usize, row0: usize, vals: &[T]) {
        let out = &mut self.out[col + row0 * self.ld..];
        for (o, &v) in out.iter_mut().step_by(self.ld).zip(vals) {
            *o += v;
        }
    }
}

/// `dst = srcᵀ` for `src` with `R` rows of `C` (row-major): `dst[c·R + r] = src[r·C + c]`.
#[inline]
pub fn transpose<T: Scalar, const R: usize, const C: usize>(src: &[T], dst: &mut [T]) {
    let (src, dst) = (&src[..R * C], &mut dst[..R * C]);
    for (c, col) in dst.chunks_exact_mut(R).enumerate() {
        for (d, row) in col.iter_mut().zip(src.chunks_exact(C)) {
            *d = row[c];
        }
    }
}

kernel! {
/// `C = start + A · B` into `sink`, for `A: m × R` whose column `r` is the contiguous run
/// `a[acol(r) ..][.. m]` (columns may overlap: a convolution's input shifted per tap) and
/// `B: R × N` given by strides, `B(r, n) = b[r·brs + n·bcs]`.
///
/// Register blocks of `MR` rows by `NR` columns: for each block of `NR` output columns, `B`'s
/// rows are packed once into a contiguous `R × NR` array, then every `MR`-row panel of `A`
/// is streamed past it; the last rows take narrower panels. A column block that overhangs
/// `N` repeats the last column (computed, not stored), so one kernel shape serves every `N`.
    pub fn gemm_nn<[T: Scalar, const R: usize, const N: usize], [T, R, N]>(
        m: usize,
        a: &[T],
        acol: impl Fn(usize) -> usize,
        b: &[T],
        brs: usize,
        bcs: usize,
        start: Start<'_, T>,
        sink: &mut impl Sink<T>,
    ) = gemm_nn_at;
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nn_at<V: Width, T: Scalar, const R: usize, const N: usize>(
    m: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    b: &[T],
    brs: usize,
    bcs: usize,
    start: Start<'_, T>,
    sink: &mut impl Sink<T>,
) {
    // Constant conditions: one call survives monomorphisation. Narrow products get narrow
    // column blocks (LeNet's first convolution has 6 channels) and taller panels instead.
    with_lanes!(V, T, {
        if const { N <= 4 } {
            gemm_nn_blocked::<V, T, R, N, { ACC / 4 * L }, 4>(m, a, &acol, b, brs, bcs, start, sink)
        } else if const { N <= 6 } {
            // 1.5 times the usual accumulators: the narrow block leaves registers spare.
            gemm_nn_blocked::<V, T, R, N, { ACC / 4 * L }, 6>(m, a, &acol, b, brs, bcs, start, sink)
        } else {
            gemm_nn_blocked::<V, T, R, N, { ACC / 8 * L }, 8>(m, a, &acol, b, brs, bcs, start, sink)
        }
    })
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_nn_blocked<
    V: Width,
    T: Scalar,
    const R: usize,
    const N: usize,
    const MR: usize,
    const NR: usize,
>(
    m: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    b: &[T],
    brs: usize,
    bcs: usize,
    start: Start<'_, T>,
    sink: &mut impl Sink<T>,
) {
    let mut packed = [[T::zero(); NR]; R];
    let mut j0 = 0;
    while j0 < N {
        let cols = columns::<NR>(j0, N - 1);
        for (r, row) in packed.iter_mut().enumerate() {
            for (v, &c) in row.iter_mut().zip(&cols) {
                *v = b[r * brs + c * bcs];
            }
        }
        let block = Block {
            cols: &cols,
            stored: (N - j0).min(NR),
            b: &packed,
            acol: &acol,
            start,
        };
        block.panels::<V, MR>(m, a, sink);
        j0 += NR;
    }
}

kernel! {
/// [`gemm_nn`] with the inner dimension `r ≤ RMAX` and the column count `n` known at run time
/// only: the products of a grouped convolution, whose per-group sizes (`OC / G` output
/// channels) cannot be generic arguments on stable Rust. The callers pass constants, so the
/// block shape below is still chosen at compile time once this is inlined.
///
/// The same register blocks as [`gemm_nn`], plus one- and two-column blocks with taller
/// panels for the matrix–vector products of depthwise convolutions (one output channel per
/// group), which would otherwise compute three repeated columns for every real one.
    pub fn gemm_nn_part<[T: Scalar, const RMAX: usize], [T, RMAX]>(
        m: usize,
        r: usize,
        n: usize,
        a: &[T],
        acol: impl Fn(usize) -> usize,
        b: &[T],
        brs: usize,
        bcs: usize,
        start: Start<'_, T>,
        sink: &mut impl Sink<T>,
    ) = gemm_nn_part_at;
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nn_part_at<V: Width, T: Scalar, const RMAX: usize>(
    m: usize,
    r: usize,
    n: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    b: &[T],
    brs: usize,
    bcs: usize,
    start: Start<'_, T>,
    sink: &mut impl Sink<T>,
) {
    assert!(r <= RMAX, "gemm_nn_part: more rows of `B` than RMAX");
    with_lanes!(V, T, {
        if n == 1 {
            gemm_nn_part_blocked::<V, T, RMAX, { ACC * L }, 1>(
                m, r, n, a, &acol, b, brs, bcs, start, sink,
            )
        } else if n == 2 {
            gemm_nn_part_blocked::<V, T, RMAX, { ACC / 2 * L }, 2>(
                m, r, n, a, &acol, b, brs, bcs, start, sink,
            )
        } else if n <= 4 {
            gemm_nn_part_blocked::<V, T, RMAX, { ACC / 4 * L }, 4>(
                m, r, n, a, &acol, b, brs, bcs, start, sink,
            )
        } else if n <= 6 {
            gemm_nn_part_blocked::<V, T, RMAX, { ACC / 4 * L }, 6>(
                m, r, n, a, &acol, b, brs, bcs, start, sink,
            )
        } else {
            gemm_nn_part_blocked::<V, T, RMAX, { ACC / 8 * L }, 8>(
                m, r, n, a, &acol, b, brs, bcs, start, sink,
            )
        }
    })
}

/// [`gemm_nn_blocked`] for [`gemm_nn_part`]: the packed block holds `RMAX` rows of which the
/// first `r` are used. (A separate copy, so that the constant-size products keep exactly
/// the code they were measured with.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_nn_part_blocked<
    V: Width,
    T: Scalar,
    const RMAX: usize,
    const MR: usize,
    const NR: usize,
>(
    m: usize,
    r: usize,
    n: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    b: &[T],
    brs: usize,
    bcs: usize,
    start: Start<'_, T>,
    sink: &mut impl Sink<T>,
) {
    let mut packed = [[T::zero(); NR]; RMAX];
    let packed = &mut packed[..r];
    let mut j0 = 0;
    while j0 < n {
        let cols = columns::<NR>(j0, n - 1);
        for (r, row) in packed.iter_mut().enumerate() {
            for (v, &c) in row.iter_mut().zip(&cols) {
                *v = b[r * brs + c * bcs];
            }
        }
        let block = Block {
            cols: &cols,
            stored: (n - j0).min(NR),
            b: &*packed,
            acol: &acol,
            start,
        };
        block.panels::<V, MR>(m, a, sink);
        j0 += NR;
    }
}

kernel! {
/// `C = start + A · B` for the `NR` output columns `c0 .. c0 + NR` only, with `A` as in
/// [`gemm_nn`] and the row `r < rows` of `B`, restricted to those columns, the contiguous run
/// `b[brow(r) ..][.. NR]`, read in place: the products of a convolution vectorised over its
/// output channels, where `B` is the (padded) image and `brow` says where a tap's window
/// starts.
    pub fn gemm_nb<[T: Scalar, const NR: usize], [T, NR]>(
        m: usize,
        rows: usize,
        a: &[T],
        acol: impl Fn(usize) -> usize,
        b: &[T],
        brow: impl Fn(usize) -> usize,
        c0: usize,
        start: Start<'_, T>,
        sink: &mut impl Sink<T>,
    ) = gemm_nb_at;
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nb_at<V: Width, T: Scalar, const NR: usize>(
    m: usize,
    rows: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    b: &[T],
    brow: impl Fn(usize) -> usize,
    c0: usize,
    start: Start<'_, T>,
    sink: &mut impl Sink<T>,
) {
    let cols = columns::<NR>(c0, usize::MAX);
    let block = Block {
        cols: &cols,
        stored: NR,
        b: &RowsAt { b, brow, rows },
        acol: &acol,
        start,
    };
    // Wide blocks leave registers for one vector of rows only.
    with_lanes!(V, T, {
        if const { NR > 8 } {
            block.panels::<V, L>(m, a, sink)
        } else {
            block.panels::<V, { 2 * L }>(m, a, sink)
        }
    })
}

/// Output columns `first, first + 1, …` of a block of `NR`, the last one repeated past `last`.
/// (A function rather than `array::from_fn` with a closure at each call: one copy per `NR`.)
#[inline(always)]
fn columns<const NR: usize>(first: usize, last: usize) -> [usize; NR] {
    let mut cols = [0; NR];
    for (jj, c) in cols.iter_mut().enumerate() {
        *c = (first + jj).min(last);
    }
    cols
}

/// The panel that finishes rows `i0 .. m` of a product done in panels of `mr` rows, as
/// (width, first row, rows to skip): one panel of the narrowest width that covers them, moved
/// up to end at row `m` and storing only the rows not done yet. (A panel costs about the same
/// for any width up to one vector, and narrow panels, one after another, add up.) With fewer
/// rows in all than the narrowest covering panel, whole panels first. Not generic, so that
/// every [`Block`] shares it; inlined, it folds to constants for each `mr`.
#[inline(always)]
fn tail_panel(i0: usize, m: usize, mr: usize) -> (usize, usize, usize) {
    let rest = m - i0;
    for w in [4, 8, 16, 32, mr] {
        if w >= rest && w <= m && w <= mr {
            return (w, m - w, w - rest);
        }
    }
    for w in [mr, 32, 16, 8, 4] {
        if w <= rest && w <= mr {
            return (w, i0, 0);
        }
    }
    (1, i0, 0)
}

/// The rows of `B` a [`Block`] multiplies by, `NR` values each.
trait BRows<T, const NR: usize> {
    fn rows(&self) -> usize;
    fn row(&self, r: usize) -> &[T; NR];
}

/// Packed rows ([`gemm_nn`]).
impl<T, const NR: usize, const R: usize> BRows<T, NR> for [[T; NR]; R] {
    #[inline(always)]
    fn rows(&self) -> usize {
        R
    }
    #[inline(always)]
    fn row(&self, r: usize) -> &[T; NR] {
        &self[r]
    }
}

/// The first rows of a packed block ([`gemm_nn_part`]).
impl<T, const NR: usize> BRows<T, NR> for [[T; NR]] {
    #[inline(always)]
    fn rows(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn row(&self, r: usize) -> &[T; NR] {
        &self[r]
    }
}

/// Rows read in place ([`gemm_nb`]).
struct RowsAt<'a, T, F> {
    b: &'a [T],
    brow: F,
    rows: usize,
}

impl<T, F: Fn(usize) -> usize, const NR: usize> BRows<T, NR> for RowsAt<'_, T, F> {
    #[inline(always)]
    fn rows(&self) -> usize {
        self.rows
    }
    #[inline(always)]
    fn row(&self, r: usize) -> &[T; NR] {
        match self.b[(self.brow)(r)..].first_chunk() {
            Some(row) => row,
            None => panic!("gemm_nb: a row of `B` runs past its end"),
        }
    }
}

/// One block of `NR` output columns of [`gemm_nn`] or [`gemm_nb`].
struct Block<'a, T, F, B: ?Sized, const NR: usize> {
    /// Output column of each lane (the last column repeated past the edge).
    cols: &'a [usize; NR],
    /// How many of the `NR` columns are real.
    stored: usize,
    /// `B` restricted to these columns, row by row.
    b: &'a B,
    /// Where each column of `A` starts.
    acol: &'a F,
    start: Start<'a, T>,
}

impl<T: Scalar, F: Fn(usize) -> usize, B: BRows<T, NR> + ?Sized, const NR: usize>
    Block<'_, T, F, B, NR>
{
    /// All `m` rows in panels of `MR`.
    #[inline(always)]
    fn panels<V: Width, const MR: usize>(&self, m: usize, a: &[T], sink: &mut impl Sink<T>) {
        let mut i0 = 0;
        while i0 + MR <= m {
            self.kernel::<V, MR>(a, i0, 0, sink);
            i0 += MR;
        }
        // The last rows, in the panels `tail_panel` picks.
        while i0 < m {
            let (w, at, skip) = tail_panel(i0, m, MR);
            // `w ≤ MR`, and `w = MR` takes the last arm. The guards are constants, so the
            // kernels no panel of this width can use are never instantiated: each kernel is
            // inlined at every call, and the unused ones cost compile time only.
            match w {
                1 if const { MR > 1 } => self.kernel::<V, 1>(a, at, skip, sink),
                4 if const { MR > 4 } => self.kernel::<V, 4>(a, at, skip, sink),
                8 if const { MR > 8 } => self.kernel::<V, 8>(a, at, skip, sink),
                16 if const { MR > 16 } => self.kernel::<V, 16>(a, at, skip, sink),
                32 if const { MR > 32 } => self.kernel::<V, 32>(a, at, skip, sink),
                _ => self.kernel::<V, MR>(a, at, skip, sink),
            }
            i0 = at + w;
        }
    }

    /// Rows `i0 .. i0 + MR` of the block: `MR × NR` accumulators, one rank-one update per
    /// row of `B` (a contiguous `MR`-slice of `A` times `NR` broadcast scalars). The first
    /// `skip` rows are computed but not stored.
    #[inline(always)]
    fn kernel<V: Width, const MR: usize>(
        &self,
        a: &[T],
        i0: usize,
        skip: usize,
        sink: &mut impl Sink<T>,
    ) {
        let mut acc = [[T::zero(); MR]; NR];
        match self.start {
            Start::Zero => {}
            Start::Columns(init) => {
                for (acc, &c) in acc.iter_mut().zip(self.cols) {
                    *acc = [init[c]; MR];
                }
            }
            Start::Rows(init) => {
                let init = &init[i0..][..MR];
                for acc in &mut acc {
                    acc.copy_from_slice(init);
                }
            }
        }
        if !self.fused::<V, MR>(a, i0, &mut acc) {
            self.rows::<MR>(a, i0, &mut acc);
        }
        for (acc, &c) in acc.iter().zip(self.cols).take(self.stored) {
            sink.put(c, i0 + skip, &acc[skip..]);
        }
    }

    /// The rank-one updates of [`kernel`](Self::kernel), one per row of `B`, as portable
    /// loops.
    #[inline(always)]
    fn rows<const MR: usize>(&self, a: &[T], i0: usize, acc: &mut [[T; MR]; NR]) {
        for r in 0..self.b.rows() {
            let brow = self.b.row(r);
            let av = &a[(self.acol)(r) + i0..][..MR];
            // Rows outside, columns inside: the short column loop unrolls first and leaves a
            // loop over contiguous rows to vectorise. (The other nesting let LLVM vectorise
            // across columns with gathers and scatters on AVX-512, eight times slower.)
            for (i, &x) in av.iter().enumerate() {
                for (acc, &bv) in acc.iter_mut().zip(brow) {
                    acc[i] += x * bv;
                }
            }
        }
    }

    /// The same updates with the width's fused multiply-adds ([`crate::simd::fma`]), where
    /// the scalar is `f32`, the panel whole vectors and the instructions at hand; whether
    /// they ran. (Fused, each update rounds once instead of twice.)
    #[inline(always)]
    fn fused<V: Width, const MR: usize>(
        &self,
        a: &[T],
        i0: usize,
        acc: &mut [[T; MR]; NR],
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let (Some(a), Some(acc)) = (T::f32s(a), T::f32s_mut(acc.as_flattened_mut())) {
            let acol = |r: usize| (self.acol)(r) + i0;
            let b = |r: usize| match T::f32_row(self.b.row(r)) {
                Some(row) => row,
                None => unreachable!("`T::f32s` said `T` is `f32`"),
            };
            return crate::simd::fma::block::<V, MR, NR>(self.b.rows(), a, &acol, &b, acc);
        }
        let _ = (a, i0, acc);
        false
    }
}

kernel! {
/// `out(k, o) += Σ_q A(q, k) · D(q, o)` for `k < K`, `o < O`, summing over `q < m`, where
/// column `k` of `A` is the contiguous run `a[acol(k) ..][.. m]`, column `o` of `D` is
/// `d[o·ld ..][.. m]`, and `out(k, o) = out[o·K + k]` (a convolution's weight gradient: `A`
/// its shifted input, `D` its output gradient). `m` must be a multiple of the vector length
/// ([`gemm_tn_rows`]); pad both factors with zeros to get there.
///
/// Each `out(k, o)` is a dot product along `q`, kept in one vector of partial sums that is
/// summed across its lanes once at the end: worth it for long sums only.
    pub fn gemm_tn<[T: Scalar, const K: usize, const O: usize], [T, K, O]>(
        m: usize,
        a: &[T],
        acol: impl Fn(usize) -> usize,
        d: &[T],
        ld: usize,
        out: &mut [T],
    ) = gemm_tn_at;
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_tn_at<V: Width, T: Scalar, const K: usize, const O: usize>(
    m: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    d: &[T],
    ld: usize,
    out: &mut [T],
) {
    with_lanes!(V, T, gemm_tn_l::<T, K, O, L>(m, a, &acol, d, ld, out))
}

/// The multiple of the vector length [`gemm_tn`] needs for `m` rows at a width of
/// `vector_bytes`: `m` rounded up.
pub const fn gemm_tn_rows<T: Scalar>(vector_bytes: usize, m: usize) -> usize {
    let lanes = vector_bytes / T::BYTES;
    m.div_ceil(lanes) * lanes
}

#[inline(always)]
fn gemm_tn_l<T: Scalar, const K: usize, const O: usize, const L: usize>(
    m: usize,
    a: &[T],
    acol: impl Fn(usize) -> usize,
    d: &[T],
    ld: usize,
    out: &mut [T],
) {
    let out = &mut out[..K * O];
    for o in 0..O {
        let (dv, out) = (&d[o * ld..][..m], &mut out[o * K..][..K]);
        let mut k0 = 0;
        while k0 + ROWS <= K {
            let sums = dots_at::<T, L, ROWS>(a, |r| acol(k0 + r), dv);
            for (o, s) in out[k0..k0 + ROWS].iter_mut().zip(sums) {
                *o += s;
            }
            k0 += ROWS;
        }
        // Constant conditions (`k0 = K − K mod ROWS` here): one branch is instantiated.
        if const { K >= ROWS && !K.is_multiple_of(ROWS) } {
            // The last taps: one more block moved up to end at K, adding only its new sums
            // (a single row compiled to two-lane code, as slow as a whole block).
            let from = K - ROWS;
            let sums = dots_at::<T, L, ROWS>(a, |r| acol(from + r), dv);
            for (o, &s) in out[k0..].iter_mut().zip(&sums[k0 - from..]) {
                *o += s;
            }
        } else if const { K < ROWS } {
            for (k, o) in out.iter_mut().enumerate().skip(k0) {
                let [s] = dots_at::<T, L, 1>(a, |_| acol(k), dv);
                *o += s;
            }
        }
    }
}

/// `⟨a[off(r) ..][.. m], x⟩` for `r < R`, `m = x.len()` a multiple of `L`: [`dot_rows`] with
/// rows at arbitrary offsets and a length known only at run time. (Sharing the row loads
/// between two `x`, or splitting the sums in two sets, made LLVM keep the sums in memory:
/// ten times slower.)
#[inline(always)]
fn dots_at<T: Scalar, const L: usize, const R: usize>(
    a: &[T],
    off: impl Fn(usize) -> usize,
    x: &[T],
) -> [T; R] {
    let m = x.len();
    let (xc, _) = x.as_chunks::<L>();
    let rows: [&[[T; L]]; R] = core::array::from_fn(|r| a[off(r)..][..m].as_chunks::<L>().0);
    let acc = row_sums::<T, L, R>(rows, xc);
    acc.map(hsum)
}

/// Σ v, with eight independent partial sums: the additions pipeline and vectorise (a single
/// running sum is one long dependency chain), and rounding errors grow with v.len() / 8
/// rather than v.len().
#[inline]
pub fn sum<T: Scalar>(v: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let mut s = chunks.remainder().iter().fold(T::zero(), |s, &x| s + x);
    for a in acc {
        s += a;
    }
    s
}

/// Σ (v − mean)², eight partial sums as in [`sum`].
#[inline]
pub fn sum_sq_dev<T: Scalar>(v: &[T], mean: T) -> T {
    let mut acc = [T::zero(); 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            let d = x - mean;
            *a += d * d;
        }
    }
    let mut s = chunks
        .remainder()
        .iter()
        .fold(T::zero(), |s, &x| s + (x - mean) * (x - mean));
    for a in acc {
        s += a;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{uniform_sym, SplitMix64};
    use crate::simd::{V128, V256, V512};
    use std::vec;
    use std::vec::Vec;

    fn random(rng: &mut SplitMix64, n: usize) -> Vec<f64> {
        (0..n).map(|_| uniform_sym(rng, 1.0)).collect()
    }

    /// The kernels against the textbook loops, at sizes below, at and above the row block and
    /// the lane count, with some zero δ.
    fn check_dense<V: Width, T: Scalar, const I: usize, const O: usize>(
        rng: &mut SplitMix64,
        tol: f64,
    ) {
        let (w, x, b) = (random(rng, I * O), random(rng, I), random(rng, O));
        let mut dy = random(rng, O);
        for (o, d) in dy.iter_mut().enumerate() {
            if o % 3 == 1 {
                *d = 0.0;
            }
        }
        let of = |v: &[f64]| v.iter().map(|&v| T::of(v)).collect::<Vec<T>>();
        let close = |what: &str, found: &[T], want: &[f64]| {
            for (k, (a, b)) in found.iter().zip(want).enumerate() {
                let a = a.to_f64();
                assert!(
                    (a - b).abs() <= tol * (1.0 + b.abs()),
                    "{what} {I}×{O} [{k}]: {a} vs {b}"
                );
            }
        };
        let mut y = of(&[f64::NAN; O]);
        dense_forward::<V, T, I, O>(&of(&w), Some(&of(&b)), &of(&x), &mut y);
        let want: Vec<f64> = (0..O)
            .map(|o| b[o] + (0..I).map(|i| w[o * I + i] * x[i]).sum::<f64>())
            .collect();
        close("y", &y, &want);
        dense_forward::<V, T, I, O>(&of(&w), None, &of(&x), &mut y);
        let want: Vec<f64> = want.iter().zip(&b).map(|(y, b)| y - b).collect();
        close("y without bias", &y, &want);

        // Backward adds to a gradient of ones and overwrites a NaN dx.
        let mut gw = of(&vec![1.0; I * O]);
        let mut dx = of(&[f64::NAN; I]);
        dense_backward::<V, T, I, O>(&of(&w), &of(&x), &of(&dy), &mut gw, Some(&mut dx));
        let gw_want: Vec<f64> = (0..I * O).map(|k| 1.0 + dy[k / I] * x[k % I]).collect();
        let dx_want: Vec<f64> = (0..I)
            .map(|i| (0..O).map(|o| w[o * I + i] * dy[o]).sum())
            .collect();
        close("gw", &gw, &gw_want);
        close("dx", &dx, &dx_want);
        let mut gw = of(&vec![1.0; I * O]);
        dense_backward::<V, T, I, O>(&of(&w), &of(&x), &of(&dy), &mut gw, None);
        close("gw without dx", &gw, &gw_want);
    }

    #[test]
    fn dense_kernels_match_the_textbook_loops() {
        let rng = &mut SplitMix64::new(3);
        check_dense::<V128, f64, 1, 1>(rng, 1e-13);
        check_dense::<V256, f64, 1, 1>(rng, 1e-13);
        check_dense::<V512, f64, 1, 1>(rng, 1e-13);
        check_dense::<V128, f64, 3, 5>(rng, 1e-13);
        check_dense::<V256, f64, 3, 5>(rng, 1e-13);
        check_dense::<V512, f64, 3, 5>(rng, 1e-13);
        check_dense::<V128, f64, 17, 9>(rng, 1e-13);
        check_dense::<V256, f64, 17, 9>(rng, 1e-13);
        check_dense::<V512, f64, 17, 9>(rng, 1e-13);
        check_dense::<V128, f64, 40, 12>(rng, 1e-13);
        check_dense::<V256, f64, 40, 12>(rng, 1e-13);
        check_dense::<V512, f64, 40, 12>(rng, 1e-13);
        check_dense::<V128, f32, 1, 1>(rng, 1e-5);
        check_dense::<V256, f32, 1, 1>(rng, 1e-5);
        check_dense::<V512, f32, 1, 1>(rng, 1e-5);
        check_dense::<V128, f32, 7, 3>(rng, 1e-5);
        check_dense::<V256, f32, 7, 3>(rng, 1e-5);
        check_dense::<V512, f32, 7, 3>(rng, 1e-5);
        check_dense::<V128, f32, 33, 13>(rng, 1e-5);
        check_dense::<V256, f32, 33, 13>(rng, 1e-5);
        check_dense::<V512, f32, 33, 13>(rng, 1e-5);
        check_dense::<V128, f32, 84, 10>(rng, 1e-5);
        check_dense::<V256, f32, 84, 10>(rng, 1e-5);
        check_dense::<V512, f32, 84, 10>(rng, 1e-5);
        check_dense::<V128, f32, 400, 8>(rng, 1e-5);
        check_dense::<V256, f32, 400, 8>(rng, 1e-5);
        check_dense::<V512, f32, 400, 8>(rng, 1e-5);
    }

    /// [`gemm_nn`] against the textbook triple loop for every row count up to 80 (full
    /// panels, overlapped last panels, tiny products), with columns of `A` at scattered
    /// offsets, a strided `B`, a bias start, plain stores and overlapping accumulation.
    fn check_gemm_nn<V: Width, T: Scalar, const R: usize, const N: usize>(
        rng: &mut SplitMix64,
        tol: f64,
    ) {
        let of = |v: &[f64]| v.iter().map(|&v| T::of(v)).collect::<Vec<T>>();
        for m in 1..=80 {
            // Column r of A starts at 3r: columns overlap, as a convolution's taps do.
            let a = random(rng, 3 * R + m);
            let (b, bias) = (random(rng, R * N + 7), random(rng, N));
            // B(r, n) = b[r·N + n]: brs = N, bcs = 1.
            let want =
                |i: usize, n: usize| (0..R).map(|r| a[3 * r + i] * b[r * N + n]).sum::<f64>();
            let (at, bt) = (of(&a), of(&b));
            let mut out = of(&vec![f64::NAN; m * N]);
            let mut sink = Store {
                out: &mut out,
                ld: m,
            };
            let bias_t = of(&bias);
            gemm_nn::<V, T, R, N>(
                m,
                &at,
                |r| 3 * r,
                &bt,
                N,
                1,
                Start::Columns(&bias_t),
                &mut sink,
            );
            for n in 0..N {
                for i in 0..m {
                    let (got, exp) = (out[n * m + i].to_f64(), bias[n] + want(i, n));
                    assert!(
                        (got - exp).abs() <= tol * (1.0 + exp.abs()),
                        "store {m}×{R}×{N} ({i}, {n}): {got} vs {exp}"
                    );
                }
            }
            // Accumulation at overlapping offsets (column n at 2n), onto ones.
            let mut acc = of(&vec![1.0; m + 2 * N]);
            let mut sink = AddAt {
                out: &mut acc,
                offs: |n: usize| 2 * n,
            };
            gemm_nn::<V, T, R, N>(m, &at, |r| 3 * r, &bt, N, 1, Start::Zero, &mut sink);
            let mut exp = vec![1.0; m + 2 * N];
            for n in 0..N {
                for i in 0..m {
                    exp[2 * n + i] += want(i, n);
                }
            }
            for (k, (got, exp)) in acc.iter().zip(&exp).enumerate() {
                let got = got.to_f64();
                assert!(
                    (got - exp).abs() <= tol * (1.0 + exp.abs()),
                    "add {m}×{R}×{N} [{k}]: {got} vs {exp}"
                );
            }
        }
    }

    #[test]
    fn gemm_nn_matches_the_textbook_product() {
        let rng = &mut SplitMix64::new(5);
        // Narrow (4, 6) and wide (8 and more) column blocks, ragged column counts.
        check_gemm_nn::<V128, f64, 3, 1>(rng, 1e-12);
        check_gemm_nn::<V256, f64, 3, 1>(rng, 1e-12);
        check_gemm_nn::<V512, f64, 3, 1>(rng, 1e-12);
        check_gemm_nn::<V128, f64, 5, 6>(rng, 1e-12);
        check_gemm_nn::<V256, f64, 5, 6>(rng, 1e-12);
        check_gemm_nn::<V512, f64, 5, 6>(rng, 1e-12);
        check_gemm_nn::<V128, f64, 7, 11>(rng, 1e-12);
        check_gemm_nn::<V256, f64, 7, 11>(rng, 1e-12);
        check_gemm_nn::<V512, f64, 7, 11>(rng, 1e-12);
        check_gemm_nn::<V128, f32, 4, 3>(rng, 1e-5);
        check_gemm_nn::<V256, f32, 4, 3>(rng, 1e-5);
        check_gemm_nn::<V512, f32, 4, 3>(rng, 1e-5);
        check_gemm_nn::<V128, f32, 9, 6>(rng, 1e-5);
        check_gemm_nn::<V256, f32, 9, 6>(rng, 1e-5);
        check_gemm_nn::<V512, f32, 9, 6>(rng, 1e-5);
        check_gemm_nn::<V128, f32, 2, 17>(rng, 1e-5);
        check_gemm_nn::<V256, f32, 2, 17>(rng, 1e-5);
        check_gemm_nn::<V512, f32, 2, 17>(rng, 1e-5);
    }

    /// [`gemm_nn_part`] against the textbook triple loop, as [`check_gemm_nn`]: `r` of the
    /// `RMAX` rows of `B` and `n` columns, for every row count up to 80 and every block shape
    /// (one, two, four, six and eight columns), with a bias start, plain stores and
    /// overlapping accumulation.
    fn check_gemm_nn_part<V: Width, T: Scalar, const RMAX: usize>(
        rng: &mut SplitMix64,
        r: usize,
        n: usize,
        tol: f64,
    ) {
        let of = |v: &[f64]| v.iter().map(|&v| T::of(v)).collect::<Vec<T>>();
        for m in 1..=80 {
            let a = random(rng, 3 * r + m);
            let (b, bias) = (random(rng, r * n + 7), random(rng, n));
            let want =
                |i: usize, j: usize| (0..r).map(|k| a[3 * k + i] * b[k * n + j]).sum::<f64>();
            let (at, bt, bias_t) = (of(&a), of(&b), of(&bias));
            let mut out = of(&vec![f64::NAN; m * n]);
            let mut sink = Store {
                out: &mut out,
                ld: m,
            };
            let start = Start::Columns(&bias_t);
            gemm_nn_part::<V, T, RMAX>(m, r, n, &at, |k| 3 * k, &bt, n, 1, start, &mut sink);
            for j in 0..n {
                for i in 0..m {
                    let (got, exp) = (out[j * m + i].to_f64(), bias[j] + want(i, j));
                    assert!(
                        (got - exp).abs() <= tol * (1.0 + exp.abs()),
                        "store {m}×{r}×{n} ({i}, {j}): {got} vs {exp}"
                    );
                }
            }
            let mut acc = of(&vec![1.0; m + 2 * n]);
            let mut sink = AddAt {
                out: &mut acc,
                offs: |j: usize| 2 * j,
            };
            gemm_nn_part::<V, T, RMAX>(m, r, n, &at, |k| 3 * k, &bt, n, 1, Start::Zero, &mut sink);
            let mut exp = vec![1.0; m + 2 * n];
            for j in 0..n {
                for i in 0..m {
                    exp[2 * j + i] += want(i, j);
                }
            }
            for (k, (got, exp)) in acc.iter().zip(&exp).enumerate() {
                let got = got.to_f64();
                assert!(
                    (got - exp).abs() <= tol * (1.0 + exp.abs()),
                    "add {m}×{r}×{n} [{k}]: {got} vs {exp}"
                );
            }
        }
    }

    #[test]
    fn gemm_nn_part_matches_the_textbook_product() {
        let rng = &mut SplitMix64::new(6);
        for (r, n) in [
            (1, 1),
            (9, 1),
            (4, 2),
            (7, 3),
            (9, 5),
            (3, 6),
            (9, 7),
            (6, 11),
        ] {
            check_gemm_nn_part::<V128, f64, 9>(rng, r, n, 1e-12);
            check_gemm_nn_part::<V256, f64, 9>(rng, r, n, 1e-12);
            check_gemm_nn_part::<V512, f64, 9>(rng, r, n, 1e-12);
            check_gemm_nn_part::<V128, f32, 9>(rng, r, n, 1e-5);
            check_gemm_nn_part::<V256, f32, 9>(rng, r, n, 1e-5);
            check_gemm_nn_part::<V512, f32, 9>(rng, r, n, 1e-5);
        }
    }

    /// [`gemm_tn`] against the textbook sums, for tap counts below, at and above a block,
    /// columns of `A` at overlapping offsets, and sums of several vector lengths.
    fn check_gemm_tn<V: Width, T: Scalar, const K: usize, const O: usize>(
        rng: &mut SplitMix64,
        tol: f64,
    ) {
        let of = |v: &[f64]| v.iter().map(|&v| T::of(v)).collect::<Vec<T>>();
        for vectors in [1, 2, 7] {
            let m = gemm_tn_rows::<T>(V::BYTES, vectors * 8);
            let (a, d) = (random(rng, 5 * K + m), random(rng, O * m + 3));
            let mut out = of(&vec![1.0; K * O]);
            gemm_tn::<V, T, K, O>(m, &of(&a), |k| 5 * k, &of(&d), m, &mut out);
            for o in 0..O {
                for k in 0..K {
                    let exp = 1.0 + (0..m).map(|q| a[5 * k + q] * d[o * m + q]).sum::<f64>();
                    let got = out[o * K + k].to_f64();
                    assert!(
                        (got - exp).abs() <= tol * (1.0 + exp.abs()),
                        "{K}×{O} m {m} ({k}, {o}): {got} vs {exp}"
                    );
                }
            }
        }
    }

    #[test]
    fn gemm_tn_matches_the_textbook_sums() {
        let rng = &mut SplitMix64::new(8);
        check_gemm_tn::<V128, f64, 1, 2>(rng, 1e-12);
        check_gemm_tn::<V256, f64, 1, 2>(rng, 1e-12);
        check_gemm_tn::<V512, f64, 1, 2>(rng, 1e-12);
        check_gemm_tn::<V128, f64, 4, 1>(rng, 1e-12);
        check_gemm_tn::<V256, f64, 4, 1>(rng, 1e-12);
        check_gemm_tn::<V512, f64, 4, 1>(rng, 1e-12);
        check_gemm_tn::<V128, f64, 25, 6>(rng, 1e-12);
        check_gemm_tn::<V256, f64, 25, 6>(rng, 1e-12);
        check_gemm_tn::<V512, f64, 25, 6>(rng, 1e-12);
        check_gemm_tn::<V128, f32, 3, 3>(rng, 1e-5);
        check_gemm_tn::<V256, f32, 3, 3>(rng, 1e-5);
        check_gemm_tn::<V512, f32, 3, 3>(rng, 1e-5);
        check_gemm_tn::<V128, f32, 9, 2>(rng, 1e-5);
        check_gemm_tn::<V256, f32, 9, 2>(rng, 1e-5);
        check_gemm_tn::<V512, f32, 9, 2>(rng, 1e-5);
    }

    #[test]
    fn hsum_adds_every_lane() {
        assert_eq!(hsum([1.0f64, 2.0, 4.0, 8.0]), 15.0);
        assert_eq!(hsum([1.0f32; 16]), 16.0);
        assert_eq!(hsum([3.0f64]), 3.0);
    }
}
