//! 2-D convolution, PyTorch's cross-correlation, as matrix products over the im2col matrix,
//! which is built only when no faster path applies.
//!
//! Shapes: x ∈ ℝ^(C×H×W), weight w ∈ ℝ^(OC×C×KH×KW), bias b ∈ ℝ^OC, y ∈ ℝ^(OC×OH×OW), all flat
//! in PyTorch's row-major order, with
//!
//! ```text
//! y[o, i, j] = b[o] + Σ_{c, u, v} w[o, c, u, v] · x[c, i·SH + u·DH − PH, j·SW + v·DW − PW]
//! OH = ⌊(H + 2·PH − DH·(KH − 1) − 1) / SH⌋ + 1        (OW likewise)
//! ```
//!
//! where x reads as zero outside the image (zero padding, PH rows above and below, PW columns
//! left and right).
//!
//! **The products.** The im2col matrix `col: P × K` (P = OH·OW output positions, K = C·KH·KW
//! taps) holds in column k = (c, u, v), for every output position in (i, j) order, the input
//! value tap k sees there, or zero in the padding. With `Wmat: K × OC` the weight as stored
//! (column o is PyTorch's `w[o]`, so the memory is exactly `[OC, C, KH, KW]`) and δ = ∂L/∂y
//! seen as `D: P × OC`:
//!
//! ```text
//! Y = col · Wmat    ∂L/∂Wmat = colᵀ · D    ∂L/∂b = column sums of D    ∂L/∂x = col2im(D · Wmatᵀ)
//! ```
//!
//! where col2im adds every entry of a `P × K` matrix back onto the input value im2col took it
//! from (padding entries are dropped). `Y: P × OC` in column-major order is the flat (o, i, j)
//! output.
//!
//! **Paths.** Each product runs on the fastest of a few register-blocked kernels
//! ([`crate::kernels`]), chosen at compile time from the geometry (constants of the type, so
//! only one survives):
//!
//! - forward *direct* (`DIRECT`, stride 1): column k of `col` is a contiguous run
//!   of the zero-padded image if outputs are numbered in padded-width rows, so the product
//!   reads the image in place; taken when the unused positions that numbering adds cost less
//!   than building `col` (LeNet's first convolution);
//! - forward *by channels* (`CHANNELS_FORWARD`): `Yᵀ = Wmatᵀ · colᵀ` one output row at a time,
//!   the output channels in the vector lanes and each tap's row of `colᵀ` read in place from
//!   the image (LeNet's second convolution, 16 channels);
//! - otherwise `col` is built and `Y = col · Wmat` computed along P;
//! - ∂L/∂Wmat by *dot products* along the padded-width rows (`DOT_WEIGHTS`, long rows), *by
//!   channels* (`CHANNELS_WEIGHTS`), or through the transposed `colᵀ: K × P` (each position's
//!   K taps contiguous), so that the product runs along K rather than ending every entry in a
//!   horizontal sum over P;
//! - ∂L/∂x: `D · Wmatᵀ` along P into a `P × K` matrix, then col2im a whole output row at a
//!   time.
//!
//! **Memory.** Backward recomputes what it needs from the input instead of keeping `col` in
//! the training record: the record stays [`NoRecord`] and a model keeps one convolution's
//! scratch live at a time instead of one per convolution per sample, which is what a
//! microcontroller can afford. The scratch buffers (at most one `P × K` matrix, or the padded
//! image and a few rows) live on the stack; [`SCRATCH_BYTES`](Layer::SCRATCH_BYTES) is the
//! largest of forward and backward.
//!
//! Every buffer is written in place, never passed or returned by value.

use crate::init::Init;
use crate::kernels::{
    gemm_nb, gemm_nn, gemm_tn, gemm_tn_rows, lanes, transpose, AddAcross, AddAt, Sink, Start,
    Store, StoreAcross,
};
use crate::{Layer, NoRecord, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::{SMatrix, SVector};
use rand_core::RngCore;

/// A 2-D convolution from `C × H × W` to `OC × OH × OW`; see the module docs for the formula.
///
/// The derived dimensions are generic parameters too (stable Rust cannot compute array sizes
/// from generics), and a `const` assertion checks them when the layer is built or run:
/// `OH`, `OW` by the formula above, `K = C·KH·KW`, `P = OH·OW`, `IN = C·H·W`, `OUT = OC·OH·OW`.
///
/// ```
/// use stacknet_runtime::init::Init;
/// use stacknet_runtime::layers::Conv2d;
/// use stacknet_runtime::rng::SplitMix64;
/// use stacknet_runtime::Layer;
/// use stacknet_runtime::nalgebra::SVector;
///
/// // LeNet's first layer: 1×28×28 → 6×28×28, kernel 5, padding 2.
/// // T, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, K, P, IN, OUT
/// type Conv1 = Conv2d<f32, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 28, 28, 25, 784, 784, 4704>;
/// let conv = Conv1::new(Init::HeUniform, &mut SplitMix64::new(0));
/// let x = SVector::<f32, 784>::zeros();
/// let mut y = SVector::<f32, 4704>::zeros();
/// conv.forward(&x, &mut y);
/// assert!(y.iter().all(|&v| v == 0.0)); // zero input, zero bias
/// ```
///
/// Dimensions that disagree with the formula do not compile (here `OH = OW = 28` without the
/// padding that makes them so):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::Conv2d;
/// # use stacknet_runtime::Zeros;
/// type Bad = Conv2d<f32, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 1, 1, 28, 28, 25, 784, 784, 4704>;
/// let conv = Bad::zeros();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<
    T: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const DH: usize,
    const DW: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const P: usize,
    const IN: usize,
    const OUT: usize,
    const BIAS: bool = true,
> {
    /// `K × OC`, column o = PyTorch's `weight[o]` flattened over (c, ky, kx): the memory is
    /// PyTorch's `[OC, C, KH, KW]`.
    pub weight: SMatrix<T, K, OC>,
    /// b; stays zero when `BIAS` is false.
    pub bias: SVector<T, OC>,
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const DH: usize,
        const DW: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, K, P, IN, OUT, BIAS>
{
    const VALID: () = {
        assert!(
            C > 0 && H > 0 && W > 0 && OC > 0,
            "conv2d: channels and sizes must be positive"
        );
        assert!(KH > 0 && KW > 0, "conv2d: kernel sizes must be positive");
        assert!(SH > 0 && SW > 0, "conv2d: strides must be positive");
        assert!(DH > 0 && DW > 0, "conv2d: dilations must be positive");
        assert!(
            DH * (KH - 1) < H + 2 * PH,
            "conv2d: effective kernel height `DH·(KH − 1) + 1` exceeds the padded input height"
        );
        assert!(
            DW * (KW - 1) < W + 2 * PW,
            "conv2d: effective kernel width `DW·(KW − 1) + 1` exceeds the padded input width"
        );
        assert!(
            OH == (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1,
            "conv2d: `OH` must be `(H + 2·PH − DH·(KH − 1) − 1) / SH + 1`"
        );
        assert!(
            OW == (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1,
            "conv2d: `OW` must be `(W + 2·PW − DW·(KW − 1) − 1) / SW + 1`"
        );
        assert!(K == C * KH * KW, "conv2d: `K` must be `C·KH·KW`");
        assert!(P == OH * OW, "conv2d: `P` must be `OH·OW`");
        assert!(IN == C * H * W, "conv2d: `IN` must be `C·H·W`");
        assert!(OUT == OC * OH * OW, "conv2d: `OUT` must be `OC·OH·OW`");
    };

    /// Weights drawn from `init` (fan-in `C·KH·KW`, fan-out `OC·KH·KW`, as PyTorch counts
    /// them), bias zero.
    pub fn new(init: Init, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut layer = Self::zeros();
        init.fill(layer.weight.as_mut_slice(), K, OC * KH * KW, rng);
        layer
    }

    /// Padded input height and width.
    const HP: usize = H + 2 * PH;
    const WP: usize = W + 2 * PW;
    /// Values of the zero-padded input image.
    const XP: usize = C * Self::HP * Self::WP;
    /// Rows of the wide output (see [`Self::DIRECT`]): output (i, j) is row i·WP + j.
    const Q: usize = (OH - 1) * Self::WP + OW;

    /// Whether forward takes the direct path, which never builds an im2col matrix.
    ///
    /// At stride 1, output (i, j) reads tap (c, u, v) at `xp[off(c, u, v) + i·WP + j]` of the
    /// zero-padded image `xp` (`C × HP × WP`), with `off(c, u, v) = c·HP·WP + u·DH·WP + v·DW`.
    /// Numbering the outputs `q = i·WP + j` ("wide" rows, of which the last `WP − OW` of each
    /// image row are never used), column k of the im2col matrix is the contiguous run
    /// `xp[off(k) ..][.. Q]`: the product reads the padded image in place. The price is the
    /// unused rows, `Q / P − 1` more work: taken only when that costs less than building the
    /// im2col matrix (about four multiply-adds per copied value, measured). LeNet's first
    /// convolution (28-wide rows, 32 padded: 14 % more) takes it, its second (10 of 14)
    /// does not.
    ///
    /// The padded image lives in an array of twice the input size (sizes computed from the
    /// generics cannot be array lengths on stable Rust); it must fit.
    const DIRECT: bool = SH == 1 && SW == 1 && Self::XP <= 2 * IN && (Self::Q - P) * OC <= 4 * P;

    /// Whether backward takes the weight gradient as dot products along the wide rows
    /// ([`gemm_tn`]), reading the padded image in place like the direct forward, instead of
    /// through a transposed im2col matrix: for layers on the direct path whose sums are long
    /// (at least 512 positions: the final sums across the lanes then cost little) on AVX-512
    /// (with narrower vectors LLVM vectorises these dot products across taps instead, with
    /// shuffles, and the transposed im2col path is faster: measured on AVX2), and whose
    /// padded image and one channel's wide output gradient, both rounded up to whole vectors,
    /// fit in arrays of twice the input and twice `P`. LeNet's first convolution (896
    /// positions) takes it.
    const DOT_WEIGHTS: bool = Self::DIRECT
        && crate::kernels::VECTOR_BYTES == 64
        && Self::Q >= 512
        && Self::XP + (gemm_tn_rows::<T>(Self::Q) - Self::Q) <= 2 * IN
        && gemm_tn_rows::<T>(Self::Q) <= 2 * P;

    /// Whether the padded image is at hand: no padding (the input itself), or it fits in an
    /// array of twice the input.
    const PADDED_FITS: bool = (PH == 0 && PW == 0) || Self::XP <= 2 * IN;

    /// Whether forward, off the direct path, takes the path vectorised over output channels:
    /// `Yᵀ = Wmat` transposed times the im2col matrix transposed, one output row at a time,
    /// each tap's row of that matrix read in place from the (padded) image (a run of `OW`
    /// inputs at stride 1). No im2col matrix and no unused rows; the channels fill whole
    /// vectors. LeNet's second convolution (16 channels, 10-wide rows) takes it.
    const CHANNELS_FORWARD: bool =
        !Self::DIRECT && SW == 1 && OW <= 16 && OC >= lanes::<T>() && Self::PADDED_FITS;

    /// Whether backward's weight gradient, off [`DOT_WEIGHTS`](Self::DOT_WEIGHTS), is
    /// vectorised over output channels as well: `∂L/∂Wmatᵀ = Dᵀ · col`, one row of taps
    /// (fixed channel and kernel row, `KW` taps a contiguous run of the image at dilation
    /// 1) at a time.
    const CHANNELS_WEIGHTS: bool =
        !Self::DOT_WEIGHTS && DW == 1 && OC >= lanes::<T>() && Self::PADDED_FITS;

    /// Calls `f` with the zero-padded image of `x` (`x` itself without padding).
    #[inline(always)]
    fn with_padded<R>(x: &[T], f: impl FnOnce(&[T]) -> R) -> R {
        if PH == 0 && PW == 0 {
            f(&x[..IN])
        } else {
            let mut buf = [[T::zero(); IN]; 2];
            let xp = buf.as_flattened_mut();
            Self::pad_into(x, xp);
            f(xp)
        }
    }

    /// Forward vectorised over output channels ([`CHANNELS_FORWARD`](Self::CHANNELS_FORWARD)).
    fn forward_channels(&self, x: &[T], y: &mut [T]) {
        // Column k of `wt` holds the OC weights of tap k.
        let mut wt = SMatrix::<T, OC, K>::zeros();
        transpose::<T, OC, K>(self.weight.as_slice(), wt.as_mut_slice());
        let (wt, offs) = (wt.as_slice(), Self::offsets());
        let start = if BIAS {
            Start::Rows(self.bias.as_slice())
        } else {
            Start::Zero
        };
        Self::with_padded(x, |xp| {
            for i in 0..OH {
                let top = i * SH * Self::WP;
                let mut sink = StoreAcross {
                    out: &mut y[..OUT],
                    ld: P,
                    at: i * OW,
                };
                gemm_nb::<T, OW>(
                    OC,
                    K,
                    wt,
                    |k| k * OC,
                    xp,
                    |k| offs[k] + top,
                    0,
                    start,
                    &mut sink,
                );
            }
        });
    }

    /// ∂L/∂Wmat += colᵀ · D vectorised over output channels
    /// ([`CHANNELS_WEIGHTS`](Self::CHANNELS_WEIGHTS)).
    fn weight_grad_channels(x: &[T], dy: &[T], grad: &mut [T]) {
        // Column p of `dt` holds the OC output gradients at position p.
        let mut dt = SMatrix::<T, OC, P>::zeros();
        transpose::<T, OC, P>(dy, dt.as_mut_slice());
        let dt = dt.as_slice();
        Self::with_padded(x, |xp| {
            for c in 0..C {
                for u in 0..KH {
                    let off = c * Self::HP * Self::WP + u * DH * Self::WP;
                    // Position p = (i, j) sees this row of taps from here on.
                    let brow = |p: usize| (p / OW) * SH * Self::WP + (p % OW) * SW + off;
                    let mut sink = AddAcross {
                        out: &mut grad[..K * OC],
                        ld: K,
                    };
                    let k0 = (c * KH + u) * KW;
                    gemm_nb::<T, KW>(OC, P, dt, |p| p * OC, xp, brow, k0, Start::Zero, &mut sink);
                }
            }
        });
    }

    /// `off(k)` of every tap k = (c, u, v): where column k of the im2col matrix starts in the
    /// padded image.
    fn offsets() -> [usize; K] {
        core::array::from_fn(|k| {
            let (c, u, v) = (k / (KH * KW), k / KW % KH, k % KW);
            c * Self::HP * Self::WP + u * DH * Self::WP + v * DW
        })
    }

    /// Copies `x` into the interior of the zeroed padded image `xp`.
    fn pad_into(x: &[T], xp: &mut [T]) {
        let x = &x[..IN];
        for (c, img) in x.chunks_exact(H * W).enumerate() {
            for (h, row) in img.chunks_exact(W).enumerate() {
                xp[(c * Self::HP + h + PH) * Self::WP + PW..][..W].copy_from_slice(row);
            }
        }
    }

    /// Forward on the direct path: `Y = col · Wmat` with the columns of `col` read in place
    /// from the padded image, the wide rows of `Y` written compactly into `y`.
    fn forward_direct(&self, x: &[T], y: &mut [T]) {
        let offs = Self::offsets();
        let start = if BIAS {
            Start::Columns(self.bias.as_slice())
        } else {
            Start::Zero
        };
        let mut sink = WideRows {
            y: &mut y[..OUT],
            wp: Self::WP,
            ow: OW,
            q: Self::Q,
            p: P,
        };
        let w = self.weight.as_slice();
        if PH == 0 && PW == 0 {
            gemm_nn::<T, K, OC>(Self::Q, x, |k| offs[k], w, 1, K, start, &mut sink);
        } else {
            let mut buf = [[T::zero(); IN]; 2];
            let xp = buf.as_flattened_mut();
            Self::pad_into(x, xp);
            gemm_nn::<T, K, OC>(Self::Q, xp, |k| offs[k], w, 1, K, start, &mut sink);
        }
    }

    /// Forward through an im2col matrix (any stride).
    fn forward_im2col(&self, x: &[T], y: &mut [T]) {
        let mut col = SMatrix::<T, P, K>::zeros();
        Self::im2col(x, col.as_mut_slice());
        let start = if BIAS {
            Start::Columns(self.bias.as_slice())
        } else {
            Start::Zero
        };
        // Y (P × OC) = col · Wmat, starting from the bias; Wmat(k, o) = weight[k + o·K].
        let (col, w) = (col.as_slice(), self.weight.as_slice());
        let mut sink = Store {
            out: &mut y[..OUT],
            ld: P,
        };
        gemm_nn::<T, K, OC>(P, col, |k| k * P, w, 1, K, start, &mut sink);
    }

    /// ∂L/∂Wmat += colᵀ · D, for [`DOT_WEIGHTS`](Self::DOT_WEIGHTS): with D in wide rows
    /// (`Dw`, zero in the unused rows and up to a whole number of vectors), each entry is
    /// the dot product of a run of the padded image and a row of `Dw`.
    fn weight_grad_dots(x: &[T], dy: &[T], grad: &mut [T]) {
        let (offs, qb) = (Self::offsets(), gemm_tn_rows::<T>(Self::Q));
        let mut xbuf = [[T::zero(); IN]; 2];
        let xp = xbuf.as_flattened_mut();
        Self::pad_into(x, xp);
        // One channel's gradient in wide rows at a time: each channel overwrites the same
        // entries, so the unused ones stay zero.
        let mut dbuf = [[T::zero(); P]; 2];
        let dw = &mut dbuf.as_flattened_mut()[..qb];
        for (d, grad) in dy[..OUT].chunks_exact(P).zip(grad.chunks_exact_mut(K)) {
            for (i, row) in d.chunks_exact(OW).enumerate() {
                dw[i * Self::WP..][..OW].copy_from_slice(row);
            }
            gemm_tn::<T, K, 1>(qb, xp, |k| offs[k], dw, qb, grad);
        }
    }

    /// ∂L/∂Wmat += colᵀ · D through the transposed im2col matrix `colᵀ` (K × P, each
    /// position's K taps contiguous), so that the product runs along K, contiguous in the
    /// weight gradient, rather than along P with horizontal sums.
    fn weight_grad_by_columns(x: &[T], dy: &[T], grad: &mut [T], colt: &mut [T]) {
        Self::im2col_t(x, colt);
        // A = colᵀ (column p at p·K), B(p, o) = D[p + o·P].
        let mut sink = AddAt {
            out: &mut grad[..K * OC],
            offs: |o: usize| o * K,
        };
        gemm_nn::<T, P, OC>(K, colt, |p| p * K, dy, 1, P, Start::Zero, &mut sink);
    }

    /// ∂L/∂x = col2im(G) for `G = D · Wmatᵀ` (P × K, the gradient of the im2col matrix, a
    /// product along P), added back onto the input a whole output row at a time. `G` is
    /// computed [`TAPS`] columns at a time, each block added back while it is
    /// still in L1; the last block ends at tap K and adds only its new columns.
    fn input_grad(&self, dy: &[T], dx: &mut [T]) {
        let dx = &mut dx[..IN];
        dx.fill(T::zero());
        let mut buf = [[T::zero(); P]; TAPS];
        let g = buf.as_flattened_mut();
        let w = self.weight.as_slice();
        // A = D (column o at o·P), B(o, k) = weight[o·K + k0 + k].
        if K < TAPS {
            let mut sink = Store {
                out: &mut *g,
                ld: P,
            };
            gemm_nn::<T, OC, K>(P, dy, |o| o * P, w, K, 1, Start::Zero, &mut sink);
            Self::col2im(g, 0, 0..K, dx);
            return;
        }
        let mut k0 = 0;
        while k0 < K {
            let from = k0.min(K - TAPS);
            let mut sink = Store {
                out: &mut *g,
                ld: P,
            };
            gemm_nn::<T, OC, TAPS>(P, dy, |o| o * P, &w[from..], K, 1, Start::Zero, &mut sink);
            Self::col2im(g, from, k0 - from..TAPS, dx);
            k0 = from + TAPS;
        }
    }

    /// Writes the `P × K` im2col matrix of `x` (column-major) into `col`.
    fn im2col(x: &[T], col: &mut [T]) {
        let (x, col) = (&x[..IN], &mut col[..P * K]);
        let mut k = 0;
        for img in x.chunks_exact(H * W) {
            for ky in 0..KH {
                let (oh0, oh1) = valid_span(ky * DH, PH, SH, H, OH);
                for kx in 0..KW {
                    let (ow0, ow1) = valid_span(kx * DW, PW, SW, W, OW);
                    let dst = &mut col[k * P..][..P];
                    k += 1;
                    if ow0 == ow1 {
                        // This tap reads padding at every output column.
                        dst.fill(T::zero());
                        continue;
                    }
                    // Output rows whose input row lies in the padding see zeros only.
                    dst[..oh0 * OW].fill(T::zero());
                    dst[oh1 * OW..].fill(T::zero());
                    for oh in oh0..oh1 {
                        let src = &img[(oh * SH + ky * DH - PH) * W..][..W];
                        let row = &mut dst[oh * OW..][..OW];
                        let ix0 = (ow0 * SW + kx * DW).wrapping_sub(PW);
                        if SW == 1 && ow0 == 0 && ow1 == OW {
                            // The common interior case: one copy of constant length.
                            row.copy_from_slice(&src[ix0..][..OW]);
                        } else {
                            row[..ow0].fill(T::zero());
                            row[ow1..].fill(T::zero());
                            let row = &mut row[ow0..ow1];
                            if SW == 1 {
                                row.copy_from_slice(&src[ix0..][..row.len()]);
                            } else {
                                for (d, s) in row.iter_mut().zip(src[ix0..].iter().step_by(SW)) {
                                    *d = *s;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the given columns of a block of the `P × K` matrix (column-major, the layout of
    /// [`im2col`](Self::im2col); column j of `g` is tap `first + j`) onto the input values
    /// im2col took them from, dropping the padding: its adjoint. Each column adds whole
    /// output rows, of constant length in the interior.
    fn col2im(g: &[T], first: usize, columns: core::ops::Range<usize>, dx: &mut [T]) {
        let dx = &mut dx[..IN];
        for j in columns {
            let (k, src) = (first + j, &g[j * P..][..P]);
            let (c, ky, kx) = (k / (KH * KW), k / KW % KH, k % KW);
            let img = &mut dx[c * H * W..][..H * W];
            let (oh0, oh1) = valid_span(ky * DH, PH, SH, H, OH);
            let (ow0, ow1) = valid_span(kx * DW, PW, SW, W, OW);
            if ow0 == ow1 {
                // This tap reads padding at every output column.
                continue;
            }
            for oh in oh0..oh1 {
                let dst = &mut img[(oh * SH + ky * DH - PH) * W..][..W];
                let row = &src[oh * OW..][..OW];
                let ix0 = (ow0 * SW + kx * DW).wrapping_sub(PW);
                if SW == 1 && ow0 == 0 && ow1 == OW {
                    for (d, &v) in dst[ix0..][..OW].iter_mut().zip(row) {
                        *d += v;
                    }
                } else if SW == 1 {
                    for (d, &v) in dst[ix0..].iter_mut().zip(&row[ow0..ow1]) {
                        *d += v;
                    }
                } else {
                    let dst = dst[ix0..].iter_mut().step_by(SW);
                    for (d, &v) in dst.zip(&row[ow0..ow1]) {
                        *d += v;
                    }
                }
            }
        }
    }

    /// Writes the transposed im2col matrix, `K × P` column-major: column p holds the `K` taps
    /// of output position p, in (c, ky, kx) order, so each kernel row is one contiguous run.
    fn im2col_t(x: &[T], colt: &mut [T]) {
        let (x, colt) = (&x[..IN], &mut colt[..K * P]);
        let mut taps = colt.chunks_exact_mut(KW);
        for oh in 0..OH {
            for ow in 0..OW {
                // Input column of tap kx = 0, wrapping below zero into the padding.
                let iw0 = (ow * SW).wrapping_sub(PW);
                let interior = DW == 1 && iw0 < W && iw0 + KW <= W;
                for img in x.chunks_exact(H * W) {
                    for ky in 0..KH {
                        let Some(dst) = taps.next() else { return };
                        let ih = (oh * SH + ky * DH).wrapping_sub(PH);
                        if ih >= H {
                            dst.fill(T::zero());
                            continue;
                        }
                        let src = &img[ih * W..][..W];
                        if interior {
                            dst.copy_from_slice(&src[iw0..iw0 + KW]);
                        } else {
                            for (kx, d) in dst.iter_mut().enumerate() {
                                let iw = iw0.wrapping_add(kx * DW);
                                *d = if iw < W { src[iw] } else { T::zero() };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The output positions `o ∈ lo..hi` (of `outs`) at which a tap at offset `off` inside the
/// window reads a real input value, i.e. `0 ≤ o·stride + off − pad < len`; empty as `(hi, hi)`.
#[inline(always)]
fn valid_span(off: usize, pad: usize, stride: usize, len: usize, outs: usize) -> (usize, usize) {
    // o·s + off ≥ pad  ⇔  o ≥ ⌈(pad − off) / s⌉
    let lo = if pad > off {
        (pad - off).div_ceil(stride)
    } else {
        0
    };
    // o·s + off − pad ≤ len − 1  ⇔  o ≤ ⌊(len − 1 + pad − off) / s⌋
    let hi = if len + pad > off {
        ((len - 1 + pad - off) / stride + 1).min(outs)
    } else {
        0
    };
    (lo.min(hi), hi)
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const DH: usize,
        const DW: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Zeros
    for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, K, P, IN, OUT, BIAS>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Conv2d {
            weight: SMatrix::zeros(),
            bias: SVector::zeros(),
        }
    }
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const DH: usize,
        const DW: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Params<T>
    for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, K, P, IN, OUT, BIAS>
{
    const TENSORS: usize = 1 + BIAS as usize;
    const LEN: usize = K * OC + if BIAS { OC } else { 0 };

    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.weight.as_slice(),
            1 if BIAS => self.bias.as_slice(),
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.weight.as_mut_slice(),
            1 if BIAS => self.bias.as_mut_slice(),
            _ => &mut [],
        }
    }

    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = match i {
            0 => ("weight", Shape::rank4(OC, C, KH, KW), TensorKind::Weight),
            _ => ("bias", Shape::vector(OC), TensorKind::Bias),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: C * KH * KW,
            fan_out: OC * KH * KW,
        }
    }
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const DH: usize,
        const DW: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Layer<T>
    for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, K, P, IN, OUT, BIAS>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    type Record = NoRecord;
    type Grad = Self;
    const KIND: &'static str = "conv2d";
    const MACS: usize = OC * P * K;
    /// The largest scratch of forward and backward: the `P × K` im2col matrix where it is
    /// built (forward on the im2col path, backward's weight gradient through `colᵀ`); the
    /// padded image (an array of twice the input) with, on the paths vectorised over
    /// channels, the transposed weights (forward) or output gradient (backward); the padded
    /// image and one channel's wide output gradient of `DOT_WEIGHTS` (twice the input and
    /// twice `P`); eight columns of ∂L/∂col; plus one packed block of a product's right
    /// factor, at most 8 columns of `K`, `P` or `OC` rows.
    const SCRATCH_BYTES: usize = {
        let padded = if PH > 0 || PW > 0 { 2 * IN } else { 0 };
        let mut most = P * TAPS;
        if !Self::DIRECT && !Self::CHANNELS_FORWARD {
            most = max(most, P * K);
        }
        if Self::DIRECT {
            most = max(most, padded);
        }
        if Self::CHANNELS_FORWARD {
            most = max(most, padded + OC * K);
        }
        if Self::DOT_WEIGHTS {
            most = max(most, 2 * IN + 2 * P);
        } else if Self::CHANNELS_WEIGHTS {
            most = max(most, padded + OC * P);
        } else {
            most = max(most, P * K);
        }
        (most + 8 * max(max(K, P), OC)) * T::BYTES
    };

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        if Self::DIRECT {
            self.forward_direct(x.as_slice(), y.as_mut_slice());
        } else if Self::CHANNELS_FORWARD {
            self.forward_channels(x.as_slice(), y.as_mut_slice());
        } else {
            self.forward_im2col(x.as_slice(), y.as_mut_slice());
        }
    }

    #[inline]
    fn backward(
        &self,
        x: &SVector<T, IN>,
        _y: &SVector<T, OUT>,
        _rec: &NoRecord,
        dy: &SVector<T, OUT>,
        dx: Option<&mut SVector<T, IN>>,
        grad: &mut Self,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, dy) = (x.as_slice(), dy.as_slice());
        let dx = dx.map(|dx| dx.as_mut_slice());
        let gw = grad.weight.as_mut_slice();
        if Self::DOT_WEIGHTS {
            Self::weight_grad_dots(x, dy, gw);
        } else if Self::CHANNELS_WEIGHTS {
            Self::weight_grad_channels(x, dy, gw);
        } else {
            let mut buf = SMatrix::<T, K, P>::zeros();
            Self::weight_grad_by_columns(x, dy, gw, buf.as_mut_slice());
        }
        if let Some(dx) = dx {
            self.input_grad(dy, dx);
        }
        if BIAS {
            for (db, d) in grad.bias.as_mut_slice().iter_mut().zip(dy.chunks_exact(P)) {
                *db += sum(d);
            }
        }
    }
}

/// Σ v, with eight independent partial sums so the additions pipeline and vectorise
/// (a single running sum is one long dependency chain).
#[inline]
fn sum<T: Scalar>(v: &[T]) -> T {
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

/// Columns of the gradient of the im2col matrix that backward computes at a time.
const TAPS: usize = 8;

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// The [`Sink`] of a direct-path forward: column o of the product, in wide rows
/// (`q = i·wp + j`), lands compactly at `y[o·p + i·ow + j]`; the unused rows (`j ≥ ow`, and
/// those from `q` on) are dropped.
struct WideRows<'a, T> {
    y: &'a mut [T],
    wp: usize,
    ow: usize,
    q: usize,
    p: usize,
}

impl<T: Scalar> Sink<T> for WideRows<'_, T> {
    #[inline(always)]
    fn put(&mut self, col: usize, row0: usize, vals: &[T]) {
        let (wp, ow) = (self.wp, self.ow);
        let end = (row0 + vals.len()).min(self.q);
        let y = &mut self.y[col * self.p..][..self.p];
        let mut i = row0 / wp;
        while i * wp < end {
            let (from, to) = (i * wp, i * wp + ow);
            if from >= row0 && to <= end {
                // A whole image row: a copy of constant length, no call to memcpy.
                y[i * ow..][..ow].copy_from_slice(&vals[from - row0..][..ow]);
            } else {
                let (a, b) = (from.max(row0), to.min(end));
                for q in a..b {
                    y[i * ow + q - from] = vals[q - row0];
                }
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::rng::{uniform_sym, SplitMix64};
    use crate::Flat;
    use std::vec;
    use std::vec::Vec;

    /// o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1, written out independently of the layer.
    const fn out(i: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
        (i + 2 * p - d * (k - 1) - 1) / s + 1
    }

    /// The `Conv2d` type for a geometry, deriving OH, OW, K, P, IN, OUT (`f64` unless given).
    macro_rules! conv {
        ($c:literal, $($rest:tt)*) => {
            conv!(f64; $c, $($rest)*)
        };
        ($t:ty; $c:literal, $h:literal, $w:literal => $oc:literal; k($kh:literal, $kw:literal)
         s($sh:literal, $sw:literal) p($ph:literal, $pw:literal) d($dh:literal, $dw:literal)
         $bias:literal) => {
            Conv2d<
                $t,
                $c,
                $h,
                $w,
                $oc,
                $kh,
                $kw,
                $sh,
                $sw,
                $ph,
                $pw,
                $dh,
                $dw,
                { out($h, $kh, $sh, $ph, $dh) },
                { out($w, $kw, $sw, $pw, $dw) },
                { $c * $kh * $kw },
                { out($h, $kh, $sh, $ph, $dh) * out($w, $kw, $sw, $pw, $dw) },
                { $c * $h * $w },
                { $oc * out($h, $kh, $sh, $ph, $dh) * out($w, $kw, $sw, $pw, $dw) },
                $bias,
            >
        };
    }

    /// A convolution's geometry for the reference implementation.
    #[derive(Clone, Copy, Debug)]
    struct Geometry {
        c: usize,
        h: usize,
        w: usize,
        oc: usize,
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
        d: (usize, usize),
    }

    /// The textbook convolution: copy x into an explicitly zero-padded image, then
    /// y[o, i, j] = b[o] + Σ_{c,u,v} w[o, c, u, v] · xp[c, i·sh + u·dh, j·sw + v·dw],
    /// with `w` in PyTorch's flat [OC, C, KH, KW] order.
    fn reference(g: Geometry, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
        let (hp, wp) = (g.h + 2 * g.p.0, g.w + 2 * g.p.1);
        let mut xp = vec![0.0; g.c * hp * wp];
        for c in 0..g.c {
            for r in 0..g.h {
                for q in 0..g.w {
                    xp[(c * hp + r + g.p.0) * wp + q + g.p.1] = x[(c * g.h + r) * g.w + q];
                }
            }
        }
        let oh = (hp - g.d.0 * (g.k.0 - 1) - 1) / g.s.0 + 1;
        let ow = (wp - g.d.1 * (g.k.1 - 1) - 1) / g.s.1 + 1;
        let mut y = vec![0.0; g.oc * oh * ow];
        for o in 0..g.oc {
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = b.map_or(0.0, |b| b[o]);
                    for c in 0..g.c {
                        for u in 0..g.k.0 {
                            for v in 0..g.k.1 {
                                let (r, q) = (i * g.s.0 + u * g.d.0, j * g.s.1 + v * g.d.1);
                                s += w[((o * g.c + c) * g.k.0 + u) * g.k.1 + v]
                                    * xp[(c * hp + r) * wp + q];
                            }
                        }
                    }
                    y[(o * oh + i) * ow + j] = s;
                }
            }
        }
        y
    }

    /// A layer with random parameters and a random input, at scalar type `T`.
    fn random_layer<T: Scalar, L: Layer<T> + Zeros>(rng: &mut SplitMix64) -> (L, L::Input) {
        let mut layer = L::zeros();
        for i in 0..L::TENSORS {
            layer
                .tensor_mut(i)
                .iter_mut()
                .for_each(|v| *v = T::of(uniform_sym(rng, 1.0)));
        }
        let mut x = L::Input::zeros();
        x.flat_mut()
            .iter_mut()
            .for_each(|v| *v = T::of(uniform_sym(rng, 1.0)));
        (layer, x)
    }

    fn to_f64<T: Scalar>(v: &[T]) -> Vec<f64> {
        v.iter().map(|v| v.to_f64()).collect()
    }

    /// Asserts `|found − expected| ≤ tol·(1 + |expected|)` entry by entry.
    fn assert_close<T: Scalar>(what: &str, g: Geometry, found: &[T], expected: &[f64], tol: f64) {
        assert_eq!(found.len(), expected.len(), "{what} {g:?}");
        for (n, (a, b)) in found.iter().zip(expected).enumerate() {
            let a = a.to_f64();
            assert!(
                (a - b).abs() <= tol * (1.0 + b.abs()),
                "{what} {g:?}: [{n}] = {a}, expected {b}"
            );
        }
    }

    /// The layer's forward against [`reference`], at random parameters and input.
    /// Both computation paths of a convolution's forward, whichever `forward` chooses:
    /// `direct` picks the im2col-free one, which reports `false` where it does not apply.
    trait Paths<T: Scalar>: Layer<T> + Zeros {
        fn forward_by(&self, direct: bool, x: &Self::Input, y: &mut Self::Output) -> bool;
        /// Adds the weight gradient into `grad` by dot products or through im2col.
        fn weight_grad_by(
            &self,
            dots: bool,
            x: &Self::Input,
            dy: &Self::Output,
            grad: &mut [T],
        ) -> bool;
    }

    impl<
            T: Scalar,
            const C: usize,
            const H: usize,
            const W: usize,
            const OC: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const PH: usize,
            const PW: usize,
            const DH: usize,
            const DW: usize,
            const OH: usize,
            const OW: usize,
            const K: usize,
            const P: usize,
            const IN: usize,
            const OUT: usize,
            const BIAS: bool,
        > Paths<T>
        for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, K, P, IN, OUT, BIAS>
    {
        fn forward_by(&self, direct: bool, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) -> bool {
            match direct {
                true if !Self::DIRECT => return false,
                true => self.forward_direct(x.as_slice(), y.as_mut_slice()),
                false => self.forward_im2col(x.as_slice(), y.as_mut_slice()),
            }
            true
        }
        fn weight_grad_by(
            &self,
            dots: bool,
            x: &SVector<T, IN>,
            dy: &SVector<T, OUT>,
            grad: &mut [T],
        ) -> bool {
            let (x, dy) = (x.as_slice(), dy.as_slice());
            match dots {
                true if !Self::DOT_WEIGHTS => return false,
                true => Self::weight_grad_dots(x, dy, grad),
                false => {
                    let mut buf = SMatrix::<T, K, P>::zeros();
                    Self::weight_grad_by_columns(x, dy, grad, buf.as_mut_slice());
                }
            }
            true
        }
    }

    /// The layer's forward, and each path's, against [`reference`], at random parameters and
    /// input.
    fn check_forward<T: Scalar, L: Paths<T>>(g: Geometry, rng: &mut SplitMix64, tol: f64) {
        let (layer, x) = random_layer::<T, L>(rng);
        let mut y = L::Output::zeros();
        layer.forward(&x, &mut y);
        let bias = (L::TENSORS == 2).then(|| to_f64(layer.tensor(1)));
        let want = reference(
            g,
            &to_f64(x.flat()),
            &to_f64(layer.tensor(0)),
            bias.as_deref(),
        );
        assert_close("y", g, y.flat(), &want, tol);
        for (direct, what) in [(false, "y by im2col"), (true, "y direct")] {
            let mut y = L::Output::zeros();
            y.flat_mut().fill(T::of(f64::NAN));
            if layer.forward_by(direct, &x, &mut y) {
                assert_close(what, g, y.flat(), &want, tol);
            }
        }
    }

    macro_rules! forward_case {
        ($rng:expr; $c:literal, $h:literal, $w:literal => $oc:literal;
         k($kh:literal, $kw:literal) s($sh:literal, $sw:literal) p($ph:literal, $pw:literal)
         d($dh:literal, $dw:literal) $bias:literal) => {
            check_forward::<
                f64,
                conv!($c, $h, $w => $oc; k($kh, $kw) s($sh, $sw) p($ph, $pw) d($dh, $dw) $bias),
            >(
                Geometry {
                    c: $c,
                    h: $h,
                    w: $w,
                    oc: $oc,
                    k: ($kh, $kw),
                    s: ($sh, $sw),
                    p: ($ph, $pw),
                    d: ($dh, $dw),
                },
                $rng,
                1e-12,
            )
        };
    }

    #[test]
    fn forward_matches_the_textbook_formula() {
        let rng = &mut SplitMix64::new(7);
        forward_case!(rng; 1, 5, 5 => 1; k(3, 3) s(1, 1) p(0, 0) d(1, 1) true);
        forward_case!(rng; 2, 6, 7 => 3; k(3, 2) s(2, 1) p(1, 0) d(1, 1) true);
        forward_case!(rng; 3, 7, 6 => 2; k(2, 3) s(1, 2) p(2, 1) d(2, 1) false);
        forward_case!(rng; 1, 8, 8 => 2; k(3, 3) s(2, 2) p(2, 2) d(2, 2) true);
        forward_case!(rng; 2, 5, 9 => 1; k(1, 4) s(1, 3) p(0, 2) d(1, 2) true);
        forward_case!(rng; 3, 9, 5 => 3; k(5, 1) s(2, 1) p(1, 0) d(1, 1) false);
        forward_case!(rng; 2, 4, 4 => 2; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
        forward_case!(rng; 2, 3, 3 => 2; k(3, 3) s(1, 1) p(2, 2) d(1, 1) true);
        forward_case!(rng; 2, 7, 7 => 2; k(2, 2) s(3, 3) p(1, 1) d(1, 1) true);
        forward_case!(rng; 3, 6, 5 => 3; k(2, 2) s(2, 2) p(1, 2) d(2, 1) true);
        // A tap that reads padding at every output column (W = 1, PW = 2, KW = 5).
        forward_case!(rng; 1, 3, 1 => 2; k(1, 5) s(1, 1) p(0, 2) d(1, 1) true);
        // More rows and columns than one register block, with ragged edges.
        forward_case!(rng; 2, 9, 11 => 11; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
        // LeNet-5's two convolutions.
        forward_case!(rng; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
        forward_case!(rng; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
    }

    /// The textbook backward on the explicitly padded image: for every output (o, i, j) and
    /// tap (c, u, v), δ[o, i, j] adds x·δ to the weight's gradient and w·δ to the padded
    /// input's, which is then cropped; the bias gradient sums δ over each channel.
    fn reference_backward(
        g: Geometry,
        x: &[f64],
        w: &[f64],
        dy: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (hp, wp) = (g.h + 2 * g.p.0, g.w + 2 * g.p.1);
        let mut xp = vec![0.0; g.c * hp * wp];
        for c in 0..g.c {
            for r in 0..g.h {
                for q in 0..g.w {
                    xp[(c * hp + r + g.p.0) * wp + q + g.p.1] = x[(c * g.h + r) * g.w + q];
                }
            }
        }
        let oh = (hp - g.d.0 * (g.k.0 - 1) - 1) / g.s.0 + 1;
        let ow = (wp - g.d.1 * (g.k.1 - 1) - 1) / g.s.1 + 1;
        let (mut dw, mut db, mut dxp) = (vec![0.0; w.len()], vec![0.0; g.oc], vec![0.0; xp.len()]);
        for o in 0..g.oc {
            for i in 0..oh {
                for j in 0..ow {
                    let d = dy[(o * oh + i) * ow + j];
                    db[o] += d;
                    for c in 0..g.c {
                        for u in 0..g.k.0 {
                            for v in 0..g.k.1 {
                                let (r, q) = (i * g.s.0 + u * g.d.0, j * g.s.1 + v * g.d.1);
                                let (wi, xi) = (
                                    ((o * g.c + c) * g.k.0 + u) * g.k.1 + v,
                                    (c * hp + r) * wp + q,
                                );
                                dw[wi] += d * xp[xi];
                                dxp[xi] += d * w[wi];
                            }
                        }
                    }
                }
            }
        }
        let mut dx = vec![0.0; x.len()];
        for c in 0..g.c {
            for r in 0..g.h {
                for q in 0..g.w {
                    dx[(c * g.h + r) * g.w + q] = dxp[(c * hp + r + g.p.0) * wp + q + g.p.1];
                }
            }
        }
        (dw, db, dx)
    }

    /// The layer's backward against [`reference_backward`], starting from parameter gradients
    /// of one (backward adds) and a garbage `dx` (backward writes).
    fn check_backward<T: Scalar, L: Paths<T>>(g: Geometry, rng: &mut SplitMix64, tol: f64) {
        let (layer, x) = random_layer::<T, L>(rng);
        let mut dy = L::Output::zeros();
        dy.flat_mut()
            .iter_mut()
            .for_each(|v| *v = T::of(uniform_sym(rng, 1.0)));
        let mut grad = L::Grad::zeros();
        for i in 0..L::TENSORS {
            grad.tensor_mut(i).fill(T::one());
        }
        let mut dx = L::Input::zeros();
        dx.flat_mut().fill(T::of(f64::NAN));
        layer.backward(
            &x,
            &L::Output::zeros(),
            &L::Record::zeros(),
            &dy,
            Some(&mut dx),
            &mut grad,
        );
        let (dw, db, dx_want) = reference_backward(
            g,
            &to_f64(x.flat()),
            &to_f64(layer.tensor(0)),
            &to_f64(dy.flat()),
        );
        let plus_one = |v: Vec<f64>| v.into_iter().map(|v| v + 1.0).collect::<Vec<_>>();
        assert_close("dW", g, grad.tensor(0), &plus_one(dw.clone()), tol);
        if L::TENSORS == 2 {
            assert_close("db", g, grad.tensor(1), &plus_one(db), tol);
        }
        assert_close("dx", g, dx.flat(), &dx_want, tol);
        for (dots, what) in [(false, "dW by im2col"), (true, "dW by dot products")] {
            let mut gw = std::vec![T::one(); layer.tensor(0).len()];
            if layer.weight_grad_by(dots, &x, &dy, &mut gw) {
                assert_close(what, g, &gw, &plus_one(dw.clone()), tol);
            }
        }
    }

    /// Forward and backward against the references at scalar `$t` with tolerance `$tol`.
    macro_rules! both_case {
        ($rng:expr, $t:ty, $tol:expr; $c:literal, $h:literal, $w:literal => $oc:literal;
         k($kh:literal, $kw:literal) s($sh:literal, $sw:literal) p($ph:literal, $pw:literal)
         d($dh:literal, $dw:literal) $bias:literal) => {{
            type L =
        conv!($t; $c, $h, $w => $oc; k($kh, $kw) s($sh, $sw) p($ph, $pw) d($dh, $dw) $bias);
            let g = Geometry {
                c: $c,
                h: $h,
                w: $w,
                oc: $oc,
                k: ($kh, $kw),
                s: ($sh, $sw),
                p: ($ph, $pw),
                d: ($dh, $dw),
            };
            check_forward::<$t, L>(g, $rng, $tol);
            check_backward::<$t, L>(g, $rng, $tol);
        }};
    }

    #[test]
    fn backward_matches_the_textbook_formula() {
        let rng = &mut SplitMix64::new(13);
        // f64 and f32 take different register-block sizes.
        for_both_scalars!(both_case, rng; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
        for_both_scalars!(both_case, rng; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
        for_both_scalars!(both_case, rng; 2, 9, 11 => 11; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
        for_both_scalars!(both_case, rng; 3, 7, 6 => 2; k(2, 3) s(1, 2) p(2, 1) d(2, 1) false);
        for_both_scalars!(both_case, rng; 2, 8, 9 => 3; k(3, 3) s(2, 2) p(1, 1) d(1, 1) true);
        for_both_scalars!(both_case, rng; 1, 3, 1 => 2; k(1, 5) s(1, 1) p(0, 2) d(1, 1) true);
        for_both_scalars!(both_case, rng; 3, 9, 5 => 3; k(5, 1) s(2, 1) p(1, 0) d(2, 1) true);
        // Long wide rows (the weight gradient by dot products), with dilation and padding.
        for_both_scalars!(both_case, rng; 2, 24, 24 => 3; k(3, 3) s(1, 1) p(1, 1) d(2, 2) true);
    }

    macro_rules! for_both_scalars {
        ($case:ident, $rng:expr; $($geometry:tt)*) => {
            $case!($rng, f64, 1e-12; $($geometry)*);
            $case!($rng, f32, 2e-5; $($geometry)*);
        };
    }
    use for_both_scalars;

    /// x = 1..9 as a 3×3 image, w = [[1, 2], [3, 4]].
    const X9: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    const W4: [f64; 4] = [1.0, 2.0, 3.0, 4.0];

    #[test]
    fn lenet_takes_the_direct_paths_where_they_pay() {
        type Conv1 = conv!(f32; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
        type Conv2 = conv!(f32; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
        type Strided = conv!(f32; 2, 8, 9 => 3; k(3, 3) s(2, 2) p(1, 1) d(1, 1) true);
        // 892 wide rows for 784 outputs; 136 for 100; no direct path at stride 2.
        // (The dot products need AVX-512; see `DOT_WEIGHTS`.)
        let wide = crate::kernels::VECTOR_BYTES == 64;
        assert_eq!(
            (Conv1::Q, Conv1::DIRECT, Conv1::DOT_WEIGHTS),
            (892, true, wide)
        );
        assert_eq!(
            (Conv2::Q, Conv2::DIRECT, Conv2::DOT_WEIGHTS),
            (136, false, false)
        );
        assert_eq!((Strided::DIRECT, Strided::DOT_WEIGHTS), (false, false));
        // The second convolution's 16 channels fill whole vectors instead.
        assert_eq!(
            (Conv2::CHANNELS_FORWARD, Conv2::CHANNELS_WEIGHTS),
            (true, true)
        );
    }

    #[test]
    fn forward_by_hand() {
        let x = SVector::from(X9);

        // Stride 1, no padding, bias 0.5: y00 = 1·1 + 2·2 + 3·4 + 4·5 + 0.5, and so on.
        let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(1, 1) p(0, 0) d(1, 1) true)>::zeros();
        conv.tensor_mut(0).copy_from_slice(&W4);
        conv.tensor_mut(1)[0] = 0.5;
        let mut y = SVector::zeros();
        conv.forward(&x, &mut y);
        assert_eq!(y.as_slice(), [37.5, 47.5, 67.5, 77.5]);

        // Stride 2, padding 1: the four windows see x00·4; x01·3 + x02·4; x10·2 + x20·4;
        // x11·1 + x12·2 + x21·3 + x22·4.
        let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(2, 2) p(1, 1) d(1, 1) false)>::zeros();
        conv.tensor_mut(0).copy_from_slice(&W4);
        let mut y = SVector::zeros();
        conv.forward(&x, &mut y);
        assert_eq!(y.as_slice(), [4.0, 18.0, 36.0, 77.0]);

        // Dilation 2: the 2×2 kernel reads the four corners, 1·1 + 3·2 + 7·3 + 9·4.
        let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(1, 1) p(0, 0) d(2, 2) false)>::zeros();
        conv.tensor_mut(0).copy_from_slice(&W4);
        let mut y = SVector::zeros();
        conv.forward(&x, &mut y);
        assert_eq!(y.as_slice(), [64.0]);
    }

    #[test]
    fn backward_by_hand() {
        let x = SVector::from(X9);
        let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(1, 1) p(0, 0) d(1, 1) true)>::zeros();
        conv.tensor_mut(0).copy_from_slice(&W4);
        let dy = SVector::from([1.0; 4]);
        let mut dx = SVector::repeat(f64::NAN);
        let mut g = Zeros::zeros();
        conv.backward(&x, &SVector::zeros(), &NoRecord, &dy, Some(&mut dx), &mut g);
        // dW[u, v] = Σ over the four windows of x[i + u, j + v]; db = 4.
        assert_eq!(g.tensor(0), [12.0, 16.0, 24.0, 28.0]);
        assert_eq!(g.tensor(1), [4.0]);
        // dx[r, q] = sum of the weights whose tap lands on (r, q) in some window.
        assert_eq!(
            dx.as_slice(),
            [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]
        );
        // Parameter gradients accumulate; dx is optional.
        conv.backward(&x, &SVector::zeros(), &NoRecord, &dy, None, &mut g);
        assert_eq!(g.tensor(0), [24.0, 32.0, 48.0, 56.0]);
        assert_eq!(g.tensor(1), [8.0]);
    }

    #[test]
    fn weight_is_in_pytorch_order() {
        // OC = 2, C = 3, KH = 2, KW = 3 over 3×4 images: one nonzero weight at
        // [oc = 1][c = 2][ky = 1][kx = 0], flat index ((1·3 + 2)·2 + 1)·3 + 0 = 33.
        type L = conv!(3, 3, 4 => 2; k(2, 3) s(1, 1) p(0, 0) d(1, 1) true);
        let mut conv = L::zeros();
        conv.tensor_mut(0)[33] = 1.0;
        assert_eq!(
            conv.weight[(15, 1)],
            1.0,
            "column oc, row (c·KH + ky)·KW + kx"
        );
        let x = SVector::<f64, 36>::from_fn(|i, _| i as f64);
        let mut y = SVector::zeros();
        conv.forward(&x, &mut y);
        // y[1, i, j] = x[2, i + 1, j]; channel 0 sees nothing.
        for i in 0..2 {
            for j in 0..2 {
                assert_eq!(y[(i * 2) + j], 0.0);
                assert_eq!(y[4 + i * 2 + j], x[2 * 12 + (i + 1) * 4 + j]);
            }
        }
        let info = <L as Params<f64>>::tensor_info(0);
        assert_eq!(
            (info.name, info.shape, info.kind),
            ("weight", Shape::rank4(2, 3, 2, 3), TensorKind::Weight)
        );
        assert_eq!((info.fan_in, info.fan_out), (18, 12));
        let info = <L as Params<f64>>::tensor_info(1);
        assert_eq!(
            (info.name, info.shape, info.kind),
            ("bias", Shape::vector(2), TensorKind::Bias)
        );
        assert_eq!(<L as Params<f64>>::LEN, 38);
        assert_eq!(<L as Layer<f64>>::MACS, 2 * 4 * 18);
        // The 4 × 18 im2col matrix of backward and an 8-column packed block of
        // max(K, P, OC) = 18 rows.
        assert_eq!(<L as Layer<f64>>::SCRATCH_BYTES, (4 * 18 + 8 * 18) * 8);
        type NoBias = conv!(3, 3, 4 => 2; k(2, 3) s(1, 1) p(0, 0) d(1, 1) false);
        assert_eq!(<NoBias as Params<f64>>::TENSORS, 1);
        assert_eq!(<NoBias as Params<f64>>::LEN, 36);
    }

    #[test]
    fn new_draws_weights_and_zeroes_the_bias() {
        type L = conv!(2, 5, 5 => 3; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
        let conv = L::new(Init::Constant(0.25), &mut SplitMix64::new(1));
        assert!(conv.tensor(0).iter().all(|&v| v == 0.25));
        assert!(conv.tensor(1).iter().all(|&v| v == 0.0));
        // He-uniform bound √(6 / fan_in) with fan_in = C·KH·KW = 18.
        let conv = L::new(Init::HeUniform, &mut SplitMix64::new(1));
        let bound = (6.0f64 / 18.0).sqrt();
        assert!(conv.tensor(0).iter().all(|v| v.abs() <= bound));
        assert!(conv.tensor(0).iter().any(|v| v.abs() > 0.8 * bound));
    }

    macro_rules! grad_case {
        ($rng:expr; $($geometry:tt)*) => {
            check_layer(&<conv!($($geometry)*)>::new(Init::Uniform(1.0), $rng), $rng);
            // Nonzero biases too: `new` leaves them at zero.
            let mut layer = <conv!($($geometry)*)>::new(Init::Uniform(1.0), $rng);
            if let Some(b) = layer.tensor_mut(1).first_mut() {
                *b = 0.5;
            }
            check_layer(&layer, $rng);
        };
    }

    #[test]
    fn gradients_match_finite_differences() {
        let rng = &mut SplitMix64::new(29);
        // `same` padding p = d(k − 1)/2 at dilations 1 and 2.
        grad_case!(rng; 2, 5, 5 => 3; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
        grad_case!(rng; 1, 6, 6 => 2; k(3, 3) s(1, 1) p(2, 2) d(2, 2) true);
        grad_case!(rng; 1, 5, 5 => 3; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
        grad_case!(rng; 2, 5, 7 => 2; k(3, 5) s(1, 1) p(1, 2) d(1, 1) true);
        // Strides, rectangular kernels, asymmetric padding, dilation, no bias.
        grad_case!(rng; 3, 7, 5 => 2; k(3, 2) s(2, 1) p(1, 0) d(1, 1) false);
        grad_case!(rng; 2, 6, 7 => 1; k(2, 3) s(2, 2) p(0, 1) d(2, 1) true);
        grad_case!(rng; 2, 8, 6 => 2; k(1, 3) s(3, 1) p(0, 2) d(1, 2) true);
        grad_case!(rng; 3, 4, 4 => 3; k(2, 2) s(1, 1) p(0, 0) d(1, 1) true);
        grad_case!(rng; 1, 3, 1 => 2; k(1, 5) s(1, 1) p(0, 2) d(1, 1) true);
        // Ragged register blocks in every product.
        grad_case!(rng; 2, 3, 7 => 11; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
    }
}
