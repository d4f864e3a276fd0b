//! 2-D convolution, PyTorch's cross-correlation with groups, as matrix products over the
//! im2col matrix, which is built only when no faster path applies.
//!
//! Shapes: x ∈ ℝ^(C×H×W), weight w ∈ ℝ^(OC×C/G×KH×KW), bias b ∈ ℝ^OC, y ∈ ℝ^(OC×OH×OW), all
//! flat in PyTorch's row-major order, with
//!
//! ```text
//! y[o, i, j] = b[o] + Σ_{c ∈ group(o), u, v} w[o, c − g·C/G, u, v] · x[c, i·SH + u·DH − PT, j·SW + v·DW − PL]
//! OH = ⌊(H + PT + PB − DH·(KH − 1) − 1) / SH⌋ + 1        (OW likewise, with PL + PR)
//! ```
//!
//! where x reads as zero outside the image (zero padding: PT rows above, PB below, PL columns
//! left, PR right; PyTorch's `padding = (ph, pw)` is PT = PB = ph, PL = PR = pw, TensorFlow's
//! `'SAME'` pads one more at the bottom and right when the total is odd), and output channel
//! o belongs to group g = o / (OC/G), which sees input channels `g·C/G .. (g + 1)·C/G` only
//! (PyTorch's `groups`; G = 1 is the plain convolution, G = C the depthwise one).
//!
//! **Groups.** The image is channel-major, so a group's input channels, its output channels
//! and its weights (columns `g·OC/G ..` of `Wmat`, below) are contiguous: a grouped
//! convolution is G plain ones of `C/G → OC/G` channels sharing one geometry, and every path
//! below runs its products group by group on those slices. `K = (C/G)·KH·KW` is the number of
//! taps of one group (of one output channel). With G = 1 each path makes exactly the
//! products it made before groups existed, with the sizes as generic arguments; with G > 1
//! the per-group products take the run-time sizes of
//! [`gemm_nn_part`](crate::kernels::gemm_nn_part) (`OC/G` cannot be a generic argument on
//! stable Rust), whose one-column blocks serve depthwise layers.
//!
//! **The products.** For one group, the im2col matrix `col: P × K` (P = OH·OW output
//! positions) holds in column k = (c, u, v), for every output position in (i, j) order, the
//! input value tap k sees there, or zero in the padding. With `Wmat: K × OC` the weight as
//! stored (column o is PyTorch's `w[o]`, so the memory is exactly `[OC, C/G, KH, KW]`) and
//! δ = ∂L/∂y seen as `D: P × OC`, restricted to the group's columns:
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
//! only one survives). Every path handles groups and asymmetric padding; the choice between
//! them counts the channels of one group (`OC/G`), where the work and the vector lanes are:
//!
//! - forward *direct* (`DIRECT`, stride 1): column k of `col` is a contiguous run
//!   of the zero-padded image if outputs are numbered in padded-width rows, so the product
//!   reads the image in place; taken when the unused positions that numbering adds cost less
//!   than building `col` (LeNet's first convolution, and depthwise layers at stride 1);
//! - forward *by channels* (`channels_forward`): `Yᵀ = Wmatᵀ · colᵀ` one output row at a time,
//!   the output channels in the vector lanes and each tap's row of `colᵀ` read in place from
//!   the image (LeNet's second convolution, 16 channels);
//! - otherwise `col` is built and `Y = col · Wmat` computed along P;
//! - ∂L/∂Wmat by *dot products* along the padded-width rows (`dot_weights`, long rows), *by
//!   channels* (`channels_weights`), or through the transposed `colᵀ: K × P` (each position's
//!   K taps contiguous), so that the product runs along K rather than ending every entry in a
//!   horizontal sum over P;
//! - ∂L/∂x: `D · Wmatᵀ` along P into a `P × K` matrix, then col2im a whole output row at a
//!   time.
//!
//! **Memory.** Backward recomputes what it needs from the input instead of keeping `col` in
//! the training record: the record stays [`NoRecord`] and a model keeps one convolution's
//! scratch live at a time instead of one per convolution per sample, which is what a
//! microcontroller can afford. The scratch buffers (at most one `P × K` matrix, reused by
//! every group, or the padded image and a few rows) live on the stack;
//! [`SCRATCH_BYTES`](Layer::SCRATCH_BYTES) is the largest of forward and backward.
//!
//! Every buffer is written in place, never passed or returned by value; forward overwrites
//! all of `y` and backward all of `dx`.

use crate::init::Init;
use crate::kernels::{
    gemm_nb_at, gemm_nn_at, gemm_nn_part_at, gemm_tn_at, gemm_tn_rows, transpose, AddAcross, AddAt,
    Sink, Start, Store, StoreAcross,
};
use crate::simd::{self, Width, WIDTHS};
use crate::{Layer, NoRecord, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::{SMatrix, SVector};
use rand_core::RngCore;

mod im2col;
/// `Conv` with PyTorch's weight `[out, in / groups, kh, kw]` and ONNX's pads (top, left,
/// bottom, right).
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > crate::onnx::ToOnnx<T>
    for Conv2d<
        T,
        C,
        H,
        W,
        OC,
        KH,
        KW,
        SH,
        SW,
        PT,
        PB,
        PL,
        PR,
        DH,
        DW,
        G,
        OH,
        OW,
        K,
        P,
        IN,
        OUT,
        BIAS,
    >
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        use crate::onnx::Attr;
        let i = |v: usize| v as i64;
        let attrs = [
            Attr::Ints("kernel_shape", &[i(KH), i(KW)]),
            Attr::Ints("strides", &[i(SH), i(SW)]),
            Attr::Ints("pads", &[i(PT), i(PL), i(PB), i(PR)]),
            Attr::Ints("dilations", &[i(DH), i(DW)]),
            Attr::Int("group", i(G)),
        ];
        let bias = BIAS.then(|| self.bias.as_slice());
        let dims = [OC, Self::CG, KH, KW];
        let io = (site.input, site.output);
        crate::onnx::conv(g, site, io, self.weight.as_slice(), &dims, bias, &attrs);
    }
}

#[cfg(test)]
mod tests;

/// A 2-D convolution from `C × H × W` to `OC × OH × OW` in `G` groups; see the module docs
/// for the formula.
///
/// Parameters, in order: the scalar; input channels, height and width; output channels;
/// kernel height and width; strides; padding top, bottom, left, right; dilations; groups;
/// then the derived dimensions, generic parameters too (stable Rust cannot compute array
/// sizes from generics), which a `const` assertion checks when the layer is built or run:
/// `OH`, `OW` by the formula above, `K = (C/G)·KH·KW`, `P = OH·OW`, `IN = C·H·W`,
/// `OUT = OC·OH·OW`; `C` and `OC` must be multiples of `G`.
///
/// ```
/// use stacknet_runtime::init::Init;
/// use stacknet_runtime::layers::Conv2d;
/// use stacknet_runtime::rng::SplitMix64;
/// use stacknet_runtime::Layer;
/// use stacknet_runtime::nalgebra::SVector;
///
/// // LeNet's first layer: 1×28×28 → 6×28×28, kernel 5, padding 2.
/// // T, C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT
/// type Conv1 = Conv2d<f32, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 28, 28, 25, 784, 784, 4704>;
/// let conv = Conv1::new(Init::HeUniform, &mut SplitMix64::new(0));
/// let x = SVector::<f32, 784>::zeros();
/// let mut y = SVector::<f32, 4704>::zeros();
/// conv.forward(&x, &mut y);
/// assert!(y.iter().all(|&v| v == 0.0)); // zero input, zero bias
///
/// // Depthwise 3×3 over 8 channels (G = C, K = 1·3·3), stride 2, TensorFlow's 'SAME' for
/// // 16×16: one row of padding at the bottom and one column at the right, 8×8 out.
/// type Depthwise = Conv2d<f32, 8, 16, 16, 8, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 8, 8, 8, 9, 64, 2048, 512>;
/// let dw = Depthwise::new(Init::HeUniform, &mut SplitMix64::new(0));
/// assert_eq!(dw.weight.shape(), (9, 8));
/// ```
///
/// Dimensions that disagree with the formula do not compile (here `OH = OW = 28` without the
/// padding that makes them so):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::Conv2d;
/// # use stacknet_runtime::Zeros;
/// type Bad = Conv2d<f32, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 28, 28, 25, 784, 784, 4704>;
/// let conv = Bad::zeros();
/// ```
///
/// Nor do groups that do not divide the channels (3 input channels in 2 groups):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::Conv2d;
/// # use stacknet_runtime::Zeros;
/// type Bad = Conv2d<f32, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 8, 8, 9, 64, 192, 256>;
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
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const DH: usize,
    const DW: usize,
    const G: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const P: usize,
    const IN: usize,
    const OUT: usize,
    const BIAS: bool = true,
> {
    /// `K × OC`, column o = PyTorch's `weight[o]` flattened over (c, ky, kx), c counted
    /// within o's group: the memory is PyTorch's `[OC, C/G, KH, KW]`.
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    >
    Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT, BIAS>
{
    const VALID: () = {
        assert!(
            C > 0 && H > 0 && W > 0 && OC > 0,
            "conv2d: channels and sizes must be positive"
        );
        assert!(KH > 0 && KW > 0, "conv2d: kernel sizes must be positive");
        assert!(SH > 0 && SW > 0, "conv2d: strides must be positive");
        assert!(DH > 0 && DW > 0, "conv2d: dilations must be positive");
        assert!(G > 0, "conv2d: the groups `G` must be positive");
        assert!(
            C.is_multiple_of(G),
            "conv2d: the input channels `C` must be a multiple of the groups `G`"
        );
        assert!(
            OC.is_multiple_of(G),
            "conv2d: the output channels `OC` must be a multiple of the groups `G`"
        );
        assert!(
            DH * (KH - 1) < H + PT + PB,
            "conv2d: effective kernel height `DH·(KH − 1) + 1` exceeds the padded input height \
             `H + PT + PB`"
        );
        assert!(
            DW * (KW - 1) < W + PL + PR,
            "conv2d: effective kernel width `DW·(KW − 1) + 1` exceeds the padded input width \
             `W + PL + PR`"
        );
        assert!(
            OH == (H + PT + PB - DH * (KH - 1) - 1) / SH + 1,
            "conv2d: `OH` must be `(H + PT + PB − DH·(KH − 1) − 1) / SH + 1`"
        );
        assert!(
            OW == (W + PL + PR - DW * (KW - 1) - 1) / SW + 1,
            "conv2d: `OW` must be `(W + PL + PR − DW·(KW − 1) − 1) / SW + 1`"
        );
        assert!(K == C / G * KH * KW, "conv2d: `K` must be `(C/G)·KH·KW`");
        assert!(P == OH * OW, "conv2d: `P` must be `OH·OW`");
        assert!(IN == C * H * W, "conv2d: `IN` must be `C·H·W`");
        assert!(OUT == OC * OH * OW, "conv2d: `OUT` must be `OC·OH·OW`");
    };

    /// Weights drawn from `init` with PyTorch's fans (`torch.nn.init`'s
    /// `_calculate_fan_in_and_fan_out` on the `[OC, C/G, KH, KW]` weight): fan-in
    /// `(C/G)·KH·KW`, fan-out `OC·KH·KW` (the weight's first dimension times the receptive
    /// field, not divided by the groups); bias zero.
    pub fn new(init: Init, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut layer = Self::zeros();
        init.fill(layer.weight.as_mut_slice(), K, OC * KH * KW, rng);
        layer
    }

    /// Input channels of one group (guarded against `G = 0`, which [`Self::VALID`] reports).
    const CG: usize = C / max(G, 1);
    /// Output channels of one group.
    const OG: usize = OC / max(G, 1);
    /// Input values of one group: where group g's channels start in `x` and `dx`.
    const GROUP_IN: usize = Self::CG * H * W;
    /// Padded input height and width.
    const HP: usize = H + PT + PB;
    const WP: usize = W + PL + PR;
    /// Whether there is any padding (else the padded image is the input itself).
    const PADDED: bool = PT > 0 || PB > 0 || PL > 0 || PR > 0;
    /// Values of the zero-padded input image.
    const XP: usize = C * Self::HP * Self::WP;
    /// Values of one group's channels in the padded image.
    const GROUP_XP: usize = Self::CG * Self::HP * Self::WP;
    /// Rows of the wide output (see [`Self::DIRECT`]): output (i, j) is row i·WP + j.
    const Q: usize = (OH - 1) * Self::WP + OW;

    /// Whether the direct path applies at all: stride 1, and the padded image fits in an
    /// array of twice the input (sizes computed from the generics cannot be array lengths on
    /// stable Rust).
    const DIRECT_FITS: bool = SH == 1 && SW == 1 && Self::XP <= 2 * IN;

    /// Whether forward takes the direct path, which never builds an im2col matrix.
    ///
    /// At stride 1, output (i, j) reads tap (c, u, v) at `xp[off(c, u, v) + i·WP + j]` of the
    /// zero-padded image `xp` (`C × HP × WP`), with `off(c, u, v) = c·HP·WP + u·DH·WP + v·DW`
    /// (c counted from the group's first channel). Numbering the outputs `q = i·WP + j`
    /// ("wide" rows, of which the last `WP − OW` of each image row are never used), column k
    /// of the im2col matrix is the contiguous run `xp[off(k) ..][.. Q]`: the product reads
    /// the padded image in place. The price is the unused rows, `Q / P − 1` more work: taken
    /// only when that costs less than building the im2col matrix (about four multiply-adds
    /// per copied value, measured; a group builds `P·K` values for `P·K·OC/G` multiply-adds).
    /// LeNet's first convolution (28-wide rows, 32 padded: 14 % more) takes it, its second
    /// (10 of 14) does not.
    const DIRECT: bool = Self::DIRECT_FITS && (Self::Q - P) * Self::OG <= 4 * P;

    /// Whether the buffers of [`weight_grad_dots`](Self::weight_grad_dots) fit at a vector
    /// width of `vb` bytes: the padded image and one channel's wide output gradient, both
    /// rounded up to whole vectors, in arrays of twice the input and twice `P`.
    const fn dots_fit(vb: usize) -> bool {
        Self::DIRECT_FITS
            && Self::XP + (gemm_tn_rows::<T>(vb, Self::Q) - Self::Q) <= 2 * IN
            && gemm_tn_rows::<T>(vb, Self::Q) <= 2 * P
    }

    /// Whether backward takes the weight gradient as dot products along the wide rows
    /// ([`gemm_tn`]), reading the padded image in place like the direct forward, instead of
    /// through a transposed im2col matrix: for layers on the direct path whose sums are long
    /// (at least 512 positions: the final sums across the lanes then cost little) on AVX-512
    /// (with narrower vectors LLVM vectorises these dot products across taps instead, with
    /// shuffles, and the transposed im2col path is faster: measured on AVX2), when the
    /// buffers fit ([`dots_fit`](Self::dots_fit)). LeNet's first convolution (896 positions)
    /// takes it. `vb` is the vector width in bytes, as for the other choices that count lanes.
    const fn dot_weights(vb: usize) -> bool {
        Self::DIRECT && vb == 64 && Self::Q >= 512 && Self::dots_fit(vb)
    }

    /// Whether the padded image is at hand: no padding (the input itself), or it fits in an
    /// array of twice the input.
    const PADDED_FITS: bool = !Self::PADDED || Self::XP <= 2 * IN;

    /// Whether the forward by channels applies: stride 1 along the rows (each tap's row of
    /// the transposed im2col matrix a contiguous run of the image) and the image at hand.
    const CHANNELS_FORWARD_FITS: bool = SW == 1 && Self::PADDED_FITS;

    /// Whether forward, off the direct path, takes the path vectorised over output channels:
    /// `Yᵀ = Wmat` transposed times the im2col matrix transposed, one output row at a time,
    /// each tap's row of that matrix read in place from the (padded) image (a run of `OW`
    /// inputs at stride 1). No im2col matrix and no unused rows; one group's channels fill
    /// whole vectors. LeNet's second convolution (16 channels, 10-wide rows) takes it.
    const fn channels_forward(vb: usize) -> bool {
        !Self::DIRECT && OW <= 16 && Self::OG >= vb / T::BYTES && Self::CHANNELS_FORWARD_FITS
    }

    /// Whether the weight gradient by channels applies: dilation 1 along the rows (a row of
    /// `KW` taps a contiguous run of the image) and the image at hand.
    const CHANNELS_WEIGHTS_FITS: bool = DW == 1 && Self::PADDED_FITS;

    /// Whether backward's weight gradient, off [`dot_weights`](Self::dot_weights), is
    /// vectorised over output channels as well: `∂L/∂Wmatᵀ = Dᵀ · col`, one row of taps
    /// (fixed channel and kernel row, `KW` taps a contiguous run of the image at dilation
    /// 1) at a time.
    const fn channels_weights(vb: usize) -> bool {
        !Self::dot_weights(vb) && Self::OG >= vb / T::BYTES && Self::CHANNELS_WEIGHTS_FITS
    }

    /// Calls `f` with the zero-padded image of `x` (`x` itself without padding).
    #[inline(always)]
    fn with_padded<R>(x: &[T], f: impl FnOnce(&[T]) -> R) -> R {
        if !Self::PADDED {
            f(&x[..IN])
        } else {
            let mut buf = [[T::zero(); IN]; 2];
            let xp = buf.as_flattened_mut();
            Self::pad_into(x, xp);
            f(xp)
        }
    }

    /// The bias of output channels `o0 ..` as per-column starts of a product.
    #[inline(always)]
    fn bias_columns(&self, o0: usize) -> Start<'_, T> {
        if BIAS {
            Start::Columns(&self.bias.as_slice()[o0..][..Self::OG])
        } else {
            Start::Zero
        }
    }

    /// The bias of output channels `o0 ..` as per-row starts of a transposed product.
    #[inline(always)]
    fn bias_rows(&self, o0: usize) -> Start<'_, T> {
        if BIAS {
            Start::Rows(&self.bias.as_slice()[o0..][..Self::OG])
        } else {
            Start::Zero
        }
    }

    /// Forward vectorised over output channels ([`channels_forward`](Self::channels_forward)).
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn forward_channels<V: Width>(&self, x: &[T], y: &mut [T]) {
        // Column k of `wt` holds the OC weights of tap k (of its group).
        let mut wt = SMatrix::<T, OC, K>::zeros();
        transpose::<T, OC, K>(self.weight.as_slice(), wt.as_mut_slice());
        let (wt, offs) = (wt.as_slice(), Self::offsets());
        Self::with_padded(x, |xp| {
            for g in 0..G {
                let (o0, base) = (g * Self::OG, g * Self::GROUP_XP);
                let start = self.bias_rows(o0);
                let y = &mut y[o0 * P..][..Self::OG * P];
                for i in 0..OH {
                    let top = base + i * SH * Self::WP;
                    let mut sink = StoreAcross {
                        out: &mut *y,
                        ld: P,
                        at: i * OW,
                    };
                    gemm_nb_at::<V, T, OW>(
                        Self::OG,
                        K,
                        wt,
                        |k| k * OC + o0,
                        xp,
                        |k| offs[k] + top,
                        0,
                        start,
                        &mut sink,
                    );
                }
            }
        });
    }

    /// ∂L/∂Wmat += colᵀ · D vectorised over output channels
    /// ([`channels_weights`](Self::channels_weights)).
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn weight_grad_channels<V: Width>(x: &[T], dy: &[T], grad: &mut [T]) {
        // Column p of `dt` holds the OC output gradients at position p.
        let mut dt = SMatrix::<T, OC, P>::zeros();
        transpose::<T, OC, P>(dy, dt.as_mut_slice());
        let dt = dt.as_slice();
        Self::with_padded(x, |xp| {
            for g in 0..G {
                let o0 = g * Self::OG;
                let grad = &mut grad[o0 * K..][..Self::OG * K];
                for c in 0..Self::CG {
                    for u in 0..KH {
                        let off = ((g * Self::CG + c) * Self::HP + u * DH) * Self::WP;
                        // Position p = (i, j) sees this row of taps from here on.
                        let brow = |p: usize| (p / OW) * SH * Self::WP + (p % OW) * SW + off;
                        let mut sink = AddAcross {
                            out: &mut *grad,
                            ld: K,
                        };
                        let k0 = (c * KH + u) * KW;
                        gemm_nb_at::<V, T, KW>(
                            Self::OG,
                            P,
                            dt,
                            |p| p * OC + o0,
                            xp,
                            brow,
                            k0,
                            Start::Zero,
                            &mut sink,
                        );
                    }
                }
            }
        });
    }

    /// `off(k)` of every tap k = (c, u, v) of a group: where column k of its im2col matrix
    /// starts in the padded image, counted from the group's first channel.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn offsets() -> [usize; K] {
        core::array::from_fn(|k| {
            let (c, u, v) = (k / (KH * KW), k / KW % KH, k % KW);
            c * Self::HP * Self::WP + u * DH * Self::WP + v * DW
        })
    }

    /// Forward on the direct path: `Y = col · Wmat` with the columns of `col` read in place
    /// from the padded image, the wide rows of `Y` written compactly into `y`.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn forward_direct<V: Width>(&self, x: &[T], y: &mut [T]) {
        if Self::PADDED {
            let mut buf = [[T::zero(); IN]; 2];
            let xp = buf.as_flattened_mut();
            Self::pad_into(x, xp);
            self.direct_products::<V>(xp, y);
        } else {
            self.direct_products::<V>(&x[..IN], y);
        }
    }

    /// The products of [`forward_direct`](Self::forward_direct) on the padded image `xp`.
    #[inline(always)]
    fn direct_products<V: Width>(&self, xp: &[T], y: &mut [T]) {
        let (offs, w) = (Self::offsets(), self.weight.as_slice());
        for g in 0..G {
            let (o0, base) = (g * Self::OG, g * Self::GROUP_XP);
            let start = self.bias_columns(o0);
            let mut sink = WideRows {
                y: &mut y[o0 * P..][..Self::OG * P],
                wp: Self::WP,
                ow: OW,
                q: Self::Q,
                p: P,
            };
            if const { G == 1 } {
                gemm_nn_at::<V, T, K, OC>(Self::Q, xp, |k| offs[k], w, 1, K, start, &mut sink);
            } else {
                let w = &w[o0 * K..];
                let acol = |k: usize| offs[k] + base;
                gemm_nn_part_at::<V, T, K>(
                    Self::Q,
                    K,
                    Self::OG,
                    xp,
                    acol,
                    w,
                    1,
                    K,
                    start,
                    &mut sink,
                );
            }
        }
    }

    /// Forward through an im2col matrix (any stride), one group at a time.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn forward_im2col<V: Width>(&self, x: &[T], y: &mut [T]) {
        let mut col = SMatrix::<T, P, K>::zeros();
        let w = self.weight.as_slice();
        for g in 0..G {
            let o0 = g * Self::OG;
            Self::im2col(&x[g * Self::GROUP_IN..], col.as_mut_slice());
            let start = self.bias_columns(o0);
            // Y (P × OC/G) = col · Wmat, starting from the bias; Wmat(k, o) = weight[k + o·K].
            let col = col.as_slice();
            let mut sink = Store {
                out: &mut y[o0 * P..][..Self::OG * P],
                ld: P,
            };
            if const { G == 1 } {
                gemm_nn_at::<V, T, K, OC>(P, col, |k| k * P, w, 1, K, start, &mut sink);
            } else {
                let w = &w[o0 * K..];
                gemm_nn_part_at::<V, T, K>(
                    P,
                    K,
                    Self::OG,
                    col,
                    |k| k * P,
                    w,
                    1,
                    K,
                    start,
                    &mut sink,
                );
            }
        }
    }

    /// ∂L/∂Wmat += colᵀ · D, for [`dot_weights`](Self::dot_weights): with D in wide rows
    /// (`Dw`, zero in the unused rows and up to a whole number of vectors), each entry is
    /// the dot product of a run of the padded image and a row of `Dw`.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn weight_grad_dots<V: Width>(x: &[T], dy: &[T], grad: &mut [T]) {
        let (offs, qb) = (Self::offsets(), gemm_tn_rows::<T>(V::BYTES, Self::Q));
        let mut xbuf = [[T::zero(); IN]; 2];
        let xp = xbuf.as_flattened_mut();
        Self::pad_into(x, xp);
        // One channel's gradient in wide rows at a time: each channel overwrites the same
        // entries, so the unused ones stay zero.
        let mut dbuf = [[T::zero(); P]; 2];
        let dw = &mut dbuf.as_flattened_mut()[..qb];
        let rows = dy[..OUT].chunks_exact(P).zip(grad.chunks_exact_mut(K));
        for (o, (d, grad)) in rows.enumerate() {
            for (i, row) in d.chunks_exact(OW).enumerate() {
                dw[i * Self::WP..][..OW].copy_from_slice(row);
            }
            // Output channel o reads its group's input channels.
            let base = if const { G == 1 } {
                0
            } else {
                o / Self::OG * Self::GROUP_XP
            };
            gemm_tn_at::<V, T, K, 1>(qb, xp, |k| offs[k] + base, dw, qb, grad);
        }
    }

    /// ∂L/∂Wmat += colᵀ · D through the transposed im2col matrix `colᵀ` (K × P, each
    /// position's K taps contiguous), so that the product runs along K, contiguous in the
    /// weight gradient, rather than along P with horizontal sums; one group at a time.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn weight_grad_by_columns<V: Width>(x: &[T], dy: &[T], grad: &mut [T], colt: &mut [T]) {
        for g in 0..G {
            let o0 = g * Self::OG;
            Self::im2col_t(&x[g * Self::GROUP_IN..], colt);
            // A = colᵀ (column p at p·K), B(p, o) = D[p + o·P].
            let mut sink = AddAt {
                out: &mut grad[o0 * K..][..Self::OG * K],
                offs: |o: usize| o * K,
            };
            if const { G == 1 } {
                gemm_nn_at::<V, T, P, OC>(K, colt, |p| p * K, dy, 1, P, Start::Zero, &mut sink);
            } else {
                let d = &dy[o0 * P..];
                let n = Self::OG;
                gemm_nn_part_at::<V, T, P>(
                    K,
                    P,
                    n,
                    colt,
                    |p| p * K,
                    d,
                    1,
                    P,
                    Start::Zero,
                    &mut sink,
                );
            }
        }
    }

    /// ∂L/∂x = col2im(G) for `G = D · Wmatᵀ` (P × K, the gradient of one group's im2col
    /// matrix, a product along that group's output channels), added back onto the group's
    /// input channels a whole output row at a time. `G` is computed [`TAPS`] columns at a
    /// time, each block added back while it is still in L1; the last block ends at tap K and
    /// adds only its new columns. The groups' input channels partition `dx`, which is zeroed
    /// first: every entry is written.
    #[cfg_attr(stacknet_dispatch, inline(always))]
    fn input_grad<V: Width>(&self, dy: &[T], dx: &mut [T]) {
        let dx = &mut dx[..IN];
        dx.fill(T::zero());
        let mut buf = [[T::zero(); P]; TAPS];
        let gm = buf.as_flattened_mut();
        let w = self.weight.as_slice();
        for g in 0..G {
            let o0 = g * Self::OG;
            let (dy, w) = (&dy[o0 * P..], &w[o0 * K..]);
            let dx = &mut dx[g * Self::GROUP_IN..][..Self::GROUP_IN];
            if const { K < TAPS } {
                let mut sink = Store {
                    out: &mut *gm,
                    ld: P,
                };
                Self::input_product::<V, K>(dy, w, &mut sink);
                Self::col2im(gm, 0, 0..K, dx);
                continue;
            }
            let mut k0 = 0;
            while k0 < K {
                let from = k0.min(K - TAPS);
                let mut sink = Store {
                    out: &mut *gm,
                    ld: P,
                };
                Self::input_product::<V, TAPS>(dy, &w[from..], &mut sink);
                Self::col2im(gm, from, k0 - from..TAPS, dx);
                k0 = from + TAPS;
            }
        }
    }

    /// `N` columns of `G = D · Wmatᵀ` for one group: A = D (column o at o·P), B(o, k) =
    /// `w[o·K + k]`.
    #[inline(always)]
    fn input_product<V: Width, const N: usize>(dy: &[T], w: &[T], sink: &mut Store<'_, T>) {
        if const { G == 1 } {
            gemm_nn_at::<V, T, OC, N>(P, dy, |o| o * P, w, K, 1, Start::Zero, sink);
        } else {
            let r = Self::OG;
            gemm_nn_part_at::<V, T, OC>(P, r, N, dy, |o| o * P, w, K, 1, Start::Zero, sink);
        }
    }

    /// Forward on the path the geometry and the width `V` choose (constant conditions: only
    /// that path is compiled).
    ///
    /// The paths below it are `inline(always)` in dispatching builds only, where they must
    /// inline into the `#[target_feature]` copies; elsewhere LLVM decides, as it did before
    /// dispatch existed.
    #[inline(always)]
    fn forward_at<V: Width>(&self, x: &[T], y: &mut [T]) {
        if const { Self::DIRECT } {
            self.forward_direct::<V>(x, y);
        } else if const { Self::channels_forward(V::BYTES) } {
            self.forward_channels::<V>(x, y);
        } else {
            self.forward_im2col::<V>(x, y);
        }
    }

    /// Backward's weight gradient and, when `dx` is given, input gradient, at width `V`.
    #[inline(always)]
    fn backward_at<V: Width>(&self, x: &[T], dy: &[T], gw: &mut [T], dx: Option<&mut [T]>) {
        Self::weight_grad_at::<V>(x, dy, gw);
        if let Some(dx) = dx {
            self.input_grad::<V>(dy, dx);
        }
    }

    simd::target_copies! {
        /// [`forward_at`](Self::forward_at) compiled for AVX2 or AVX-512.
        fn forward_avx2, forward_avx512 = forward_at(&self, x: &[T], y: &mut [T]);
    }

    simd::target_copies! {
        /// [`backward_at`](Self::backward_at) compiled for AVX2 or AVX-512.
        fn backward_avx2, backward_avx512 = backward_at(
            &self,
            x: &[T],
            dy: &[T],
            gw: &mut [T],
            dx: Option<&mut [T]>,
        );
    }

    /// ∂L/∂Wmat += colᵀ · D on the path the geometry and the width `V` choose.
    #[inline(always)]
    fn weight_grad_at<V: Width>(x: &[T], dy: &[T], gw: &mut [T]) {
        if const { Self::dot_weights(V::BYTES) } {
            Self::weight_grad_dots::<V>(x, dy, gw);
        } else if const { Self::channels_weights(V::BYTES) } {
            Self::weight_grad_channels::<V>(x, dy, gw);
        } else {
            let mut buf = SMatrix::<T, K, P>::zeros();
            Self::weight_grad_by_columns::<V>(x, dy, gw, buf.as_mut_slice());
        }
    }

    /// The values of scratch the paths taken at a vector width of `vb` bytes keep live at
    /// once, without the packed block ([`SCRATCH_BYTES`](Layer::SCRATCH_BYTES)).
    const fn scratch_values(vb: usize) -> usize {
        let padded = if Self::PADDED { 2 * IN } else { 0 };
        let mut most = P * TAPS;
        if !Self::DIRECT && !Self::channels_forward(vb) {
            most = max(most, P * K);
        }
        if Self::DIRECT {
            most = max(most, padded);
        }
        if Self::channels_forward(vb) {
            most = max(most, padded + OC * K);
        }
        if Self::dot_weights(vb) {
            most = max(most, 2 * IN + 2 * P);
        } else if Self::channels_weights(vb) {
            most = max(most, padded + OC * P);
        } else {
            most = max(most, P * K);
        }
        most
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Zeros
    for Conv2d<
        T,
        C,
        H,
        W,
        OC,
        KH,
        KW,
        SH,
        SW,
        PT,
        PB,
        PL,
        PR,
        DH,
        DW,
        G,
        OH,
        OW,
        K,
        P,
        IN,
        OUT,
        BIAS,
    >
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Params<T>
    for Conv2d<
        T,
        C,
        H,
        W,
        OC,
        KH,
        KW,
        SH,
        SW,
        PT,
        PB,
        PL,
        PR,
        DH,
        DW,
        G,
        OH,
        OW,
        K,
        P,
        IN,
        OUT,
        BIAS,
    >
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

    /// `weight` `[OC, C/G, KH, KW]` and `bias` `[OC]`, both with PyTorch's fans of the weight
    /// (see [`Conv2d::new`]): fan-in `(C/G)·KH·KW`, fan-out `OC·KH·KW`.
    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = match i {
            0 => (
                "weight",
                Shape::rank4(OC, Self::CG, KH, KW),
                TensorKind::Weight,
            ),
            _ => ("bias", Shape::vector(OC), TensorKind::Bias),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: Self::CG * KH * KW,
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
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Layer<T>
    for Conv2d<
        T,
        C,
        H,
        W,
        OC,
        KH,
        KW,
        SH,
        SW,
        PT,
        PB,
        PL,
        PR,
        DH,
        DW,
        G,
        OH,
        OW,
        K,
        P,
        IN,
        OUT,
        BIAS,
    >
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    type Record = NoRecord;
    type Grad = Self;
    const KIND: &'static str = "conv2d";
    const MACS: usize = OC * P * K;
    /// The largest scratch of forward and backward: the `P × K` im2col matrix where it is
    /// built (forward on the im2col path, backward's weight gradient through `colᵀ`; one
    /// group's, reused by the next); the padded image (an array of twice the input) with, on
    /// the paths vectorised over channels, the transposed weights (forward) or output
    /// gradient (backward); the padded image and one channel's wide output gradient of
    /// `dot_weights` (twice the input and twice `P`); eight columns of ∂L/∂col; plus one
    /// packed block of a product's right factor, at most 8 columns of `K`, `P` or `OC` rows.
    /// The paths depend on the vector width: the largest over the widths this build may run.
    const SCRATCH_BYTES: usize = {
        let (mut i, mut most) = (0, 0);
        while i < WIDTHS.len() {
            most = max(most, Self::scratch_values(WIDTHS[i]));
            i += 1;
        }
        (most + 8 * max(max(K, P), OC)) * T::BYTES
    };

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, y) = (x.as_slice(), y.as_mut_slice());
        simd::dispatch!(self.forward_at | forward_avx2 | forward_avx512(x, y))
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
        simd::dispatch!(self.backward_at | backward_avx2 | backward_avx512(x, dy, gw, dx));
        if BIAS {
            for (db, d) in grad.bias.as_mut_slice().iter_mut().zip(dy.chunks_exact(P)) {
                *db += crate::kernels::sum(d);
            }
        }
    }
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
