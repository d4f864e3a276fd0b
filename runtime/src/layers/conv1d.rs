//! 1-D convolution over a step-major sequence, PyTorch's `nn.Conv1d` cross-correlation with
//! groups, as matrix products over the input read in place.
//!
//! Shapes: x ∈ ℝ^(L×IC) step-major (element `[t·IC + c]` is channel c of step t: the
//! transpose of PyTorch's `[channels, length]` activation), weight w ∈ ℝ^(OC×IC/G×K) and
//! bias b ∈ ℝ^OC in PyTorch's layout, y ∈ ℝ^(OL×OC) step-major, with
//!
//! ```text
//! y[t, o] = b[o] + Σ_{c < IC/G, k < K} w[o, c, k] · x[t·S + k·D − PL, g·IC/G + c]
//! OL = ⌊(L + PL + PR − D·(K − 1) − 1) / S⌋ + 1
//! ```
//!
//! where x reads as zero outside `0..L` (PL steps of zero padding before, PR after; PyTorch's
//! `padding = p` is PL = PR = p, and `'same'` with an odd total pads one more after), and
//! output channel o belongs to group g = o / (OC/G), which sees input channels
//! `g·IC/G .. (g + 1)·IC/G` only.
//!
//! **The products.** Output steps whose window lies inside the input (all but a few at the
//! edges) are computed as matrix products that read `x` in place: with `CG = IC/G`, the
//! window of output step t at tap k and group g is the contiguous run of `CG` values at
//! `(t·S − PL + k·D)·IC + g·CG`, and successive output steps are `S·IC` apart. When
//! `D = 1` and `G = 1` the whole window of a step, all K taps, is one contiguous run of
//! `K·IC` values in (k, c) order, so the layer is one product with an inner dimension of
//! `K·IC`; otherwise it is one product per group and tap with inner dimension `CG`. In the
//! notation of [`gemm_nn_part`] (output channels in the vector lanes):
//!
//! ```text
//! Y (OC × steps)       = Wt · Xwin          Wt(o, (k, c)) = w[o, c, k], transposed into scratch
//! ∂L/∂W ((k, c) × OC) += Xwin · Dᵀ          (scattered back into PyTorch's (c, k) order)
//! ∂L/∂Xwin             = Wr · D             Wr((k, c), o) = w[o, c, k], reordered into scratch
//! ```
//!
//! and ∂L/∂x adds the columns of ∂L/∂Xwin back onto the overlapping windows. The edge steps
//! run the formula directly, skipping taps that fall in the padding.
//!
//! The record is [`NoRecord`]: backward reads the input again. Forward overwrites all of `y`,
//! backward all of `dx`.

use crate::init::Init;
use crate::kernels::{gemm_nn_part, AddAt, Sink, Start, Store};
use crate::simd::{self, Width};
use crate::{Layer, NoRecord, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::{SMatrix, SVector};
use rand_core::RngCore;

/// A 1-D convolution from `[L, IC]` to `[OL, OC]` (step-major) in `G` groups; see the module
/// docs for the formula.
///
/// Parameters, in order: the scalar; input steps `L`; input channels `IC`; output channels
/// `OC`; kernel `K`; stride `S`; padding before `PL` and after `PR`; dilation `D`; groups `G`;
/// then the derived sizes (stable Rust cannot compute array sizes from generics), checked in
/// a `const` assertion: `OL` by the formula, `KC = (IC/G)·K` (the taps of one output
/// channel), `IN = L·IC`, `OUT = OL·OC`; last the bias flag.
///
/// ```
/// use stacknet_runtime::layers::Conv1d;
/// use stacknet_runtime::{Layer, Zeros};
/// use stacknet_runtime::nalgebra::SVector;
///
/// // A moving sum of 3 steps, 'same' padding: 1 channel, 5 steps.
/// // T, L, IC, OC, K, S, PL, PR, D, G, OL, KC, IN, OUT
/// let mut conv = Conv1d::<f64, 5, 1, 1, 3, 1, 1, 1, 1, 1, 5, 3, 5, 5>::zeros();
/// conv.weight.fill(1.0);
/// let mut y = SVector::zeros();
/// conv.forward(&SVector::from([1.0, 2.0, 3.0, 4.0, 5.0]), &mut y);
/// assert_eq!(y.as_slice(), &[3.0, 6.0, 9.0, 12.0, 9.0]);
/// ```
///
/// Sizes that disagree with the formula do not compile (`OL` is 3 here, not 5):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::Conv1d;
/// # use stacknet_runtime::Zeros;
/// let conv = Conv1d::<f64, 5, 1, 1, 3, 1, 0, 0, 1, 1, 5, 3, 5, 5>::zeros();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv1d<
    T: Scalar,
    const L: usize,
    const IC: usize,
    const OC: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const G: usize,
    const OL: usize,
    const KC: usize,
    const IN: usize,
    const OUT: usize,
    const BIAS: bool = true,
> {
    /// `KC × OC`, column o = PyTorch's `weight[o]` flattened over (c, k): the memory is
    /// PyTorch's `[OC, IC/G, K]`.
    pub weight: SMatrix<T, KC, OC>,
    /// b; stays zero when `BIAS` is false.
    pub bias: SVector<T, OC>,
}

/// Accumulation of a weight-gradient product `C(j, o)` whose rows j are taps in (k, c)
/// order into PyTorch's `[OC, CG, K]` layout: `gw[(o0 + o)·KC + (j % span)·K + k0 + j / span]`.
struct Taps<'a, T> {
    gw: &'a mut [T],
    kc: usize,
    k: usize,
    span: usize,
    k0: usize,
    o0: usize,
}

impl<T: Scalar> Sink<T> for Taps<'_, T> {
    #[inline(always)]
    fn put(&mut self, col: usize, row0: usize, vals: &[T]) {
        let base = (self.o0 + col) * self.kc;
        let out = &mut self.gw[base..][..self.kc];
        for (l, &v) in vals.iter().enumerate() {
            let j = row0 + l;
            out[(j % self.span) * self.k + self.k0 + j / self.span] += v;
        }
    }
}

macro_rules! conv1d_impl {
    ($($item:item)*) => {
        impl<
                T: Scalar,
                const L: usize,
                const IC: usize,
                const OC: usize,
                const K: usize,
                const S: usize,
                const PL: usize,
                const PR: usize,
                const D: usize,
                const G: usize,
                const OL: usize,
                const KC: usize,
                const IN: usize,
                const OUT: usize,
                const BIAS: bool,
            > Conv1d<T, L, IC, OC, K, S, PL, PR, D, G, OL, KC, IN, OUT, BIAS>
        {
            $($item)*
        }
    };
}

conv1d_impl! {
    const VALID: () = {
        assert!(
            L > 0 && IC > 0 && OC > 0,
            "conv1d: steps and channels must be positive"
        );
        assert!(K > 0, "conv1d: the kernel size must be positive");
        assert!(S > 0, "conv1d: the stride must be positive");
        assert!(D > 0, "conv1d: the dilation must be positive");
        assert!(G > 0, "conv1d: the groups `G` must be positive");
        assert!(
            IC.is_multiple_of(G),
            "conv1d: the input channels `IC` must be a multiple of the groups `G`"
        );
        assert!(
            OC.is_multiple_of(G),
            "conv1d: the output channels `OC` must be a multiple of the groups `G`"
        );
        assert!(
            D * (K - 1) < L + PL + PR,
            "conv1d: effective kernel `D·(K − 1) + 1` exceeds the padded input `L + PL + PR`"
        );
        assert!(
            OL == (L + PL + PR - D * (K - 1) - 1) / S + 1,
            "conv1d: `OL` must be `(L + PL + PR − D·(K − 1) − 1) / S + 1`"
        );
        assert!(KC == IC / G * K, "conv1d: `KC` must be `(IC/G)·K`");
        assert!(IN == L * IC, "conv1d: `IN` must be `L·IC`");
        assert!(OUT == OL * OC, "conv1d: `OUT` must be `OL·OC`");
    };

    /// Weights drawn from `init` with PyTorch's fans of the `[OC, IC/G, K]` weight: fan-in
    /// `(IC/G)·K`, fan-out `OC·K`; bias zero.
    pub fn new(init: Init, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut layer = Self::zeros();
        init.fill(layer.weight.as_mut_slice(), KC, OC * K, rng);
        layer
    }

    /// Input channels of one group (guarded against `G = 0`, which [`Self::VALID`] reports).
    const CG: usize = IC / max(G, 1);
    /// Output channels of one group.
    const OG: usize = OC / max(G, 1);
    /// Whether a step's whole window, all taps of all channels, is one contiguous run.
    const ONE: bool = D == 1 && G == 1;
    /// The output steps `LO..HI` whose windows lie inside the input (`LO = HI` when none do).
    const LO: usize = min(PL.div_ceil(max(S, 1)), OL);
    const HI: usize = {
        let reach = D * (max(K, 1) - 1);
        let hi = if L + PL > reach {
            min((L - 1 + PL - reach) / max(S, 1) + 1, OL)
        } else {
            0
        };
        max(hi, Self::LO)
    };

    /// Where the window of output step t at tap k starts in `x`, in steps (may be outside
    /// `0..L` at the edges).
    #[inline(always)]
    fn pos(t: usize, k: usize) -> isize {
        (t * S + k * D) as isize - PL as isize
    }

    /// The edge output steps, run from the formula.
    #[inline(always)]
    fn edges() -> impl Iterator<Item = usize> {
        (0..Self::LO).chain(Self::HI..OL)
    }

    /// `y[t, ·]` of one output step from the formula, skipping taps in the padding.
    fn forward_step(&self, x: &[T], t: usize, y: &mut [T]) {
        let w = self.weight.as_slice();
        let y = &mut y[t * OC..][..OC];
        for (o, y) in y.iter_mut().enumerate() {
            let (g, w) = (o / Self::OG, &w[o * KC..][..KC]);
            let mut s = if BIAS { self.bias[o] } else { T::zero() };
            for k in 0..K {
                let p = Self::pos(t, k);
                if p < 0 || p >= L as isize {
                    continue;
                }
                let xs = &x[p as usize * IC + g * Self::CG..][..Self::CG];
                for (c, &xv) in xs.iter().enumerate() {
                    s += w[c * K + k] * xv;
                }
            }
            *y = s;
        }
    }

    /// The parameter and input gradients of one output step from the formula: adds to
    /// `gw`, `dx`.
    fn backward_step(&self, x: &[T], dy: &[T], t: usize, gw: &mut [T], mut dx: Option<&mut [T]>) {
        let w = self.weight.as_slice();
        let dy = &dy[t * OC..][..OC];
        for (o, &d) in dy.iter().enumerate() {
            let g = o / Self::OG;
            let (w, gw) = (&w[o * KC..][..KC], &mut gw[o * KC..][..KC]);
            for k in 0..K {
                let p = Self::pos(t, k);
                if p < 0 || p >= L as isize {
                    continue;
                }
                let at = p as usize * IC + g * Self::CG;
                for (c, &xv) in x[at..][..Self::CG].iter().enumerate() {
                    gw[c * K + k] += d * xv;
                }
                if let Some(dx) = dx.as_deref_mut() {
                    for (c, dv) in dx[at..][..Self::CG].iter_mut().enumerate() {
                        *dv += d * w[c * K + k];
                    }
                }
            }
        }
    }

    /// The interior steps of forward as products (see the module docs).
    fn forward_interior<V: Width>(&self, x: &[T], y: &mut [T]) {
        let (lo, n) = (Self::LO, Self::HI - Self::LO);
        if n == 0 {
            return;
        }
        // wt[(k·CG + c)·OC + o] = w[o, c, k]: the output channels contiguous, taps in (k, c)
        // order so that a step's window is one run when `ONE`.
        let mut wt = SMatrix::<T, OC, KC>::zeros();
        let (w, wt) = (self.weight.as_slice(), wt.as_mut_slice());
        for o in 0..OC {
            for c in 0..Self::CG {
                for k in 0..K {
                    wt[(k * Self::CG + c) * OC + o] = w[o * KC + c * K + k];
                }
            }
        }
        let bias = |g: usize| {
            if BIAS {
                Start::Rows(&self.bias.as_slice()[g * Self::OG..])
            } else {
                Start::Zero
            }
        };
        let y = &mut y[lo * OC..];
        let base = lo * S * IC - PL * IC;
        if Self::ONE {
            let mut sink = Store { out: y, ld: OC };
            gemm_nn_part::<V, T, KC>(
                OC, KC, n, wt, |j| j * OC, &x[base..], 1, S * IC, bias(0), &mut sink,
            );
            return;
        }
        for g in 0..G {
            let (o0, c0) = (g * Self::OG, g * Self::CG);
            for k in 0..K {
                let a = &wt[k * Self::CG * OC + o0..];
                let b = &x[base + k * D * IC + c0..];
                let (m, r) = (Self::OG, Self::CG);
                if k == 0 {
                    let mut sink = Store { out: &mut y[o0..], ld: OC };
                    gemm_nn_part::<V, T, KC>(m, r, n, a, |c| c * OC, b, 1, S * IC, bias(g), &mut sink);
                } else {
                    let mut sink = AddAt { out: &mut y[o0..], offs: |t| t * OC };
                    gemm_nn_part::<V, T, KC>(m, r, n, a, |c| c * OC, b, 1, S * IC, Start::Zero, &mut sink);
                }
            }
        }
    }

    /// The interior steps' weight gradient as products: adds to `gw`.
    fn weight_grad_interior<V: Width>(x: &[T], dy: &[T], gw: &mut [T]) {
        let (lo, n) = (Self::LO, Self::HI - Self::LO);
        if n == 0 {
            return;
        }
        let base = lo * S * IC - PL * IC;
        let dy = &dy[lo * OC..];
        if Self::ONE {
            let mut sink = Taps { gw, kc: KC, k: K, span: IC, k0: 0, o0: 0 };
            gemm_nn_part::<V, T, OL>(
                KC, n, OC, x, |t| base + t * S * IC, dy, OC, 1, Start::Zero, &mut sink,
            );
            return;
        }
        for g in 0..G {
            let (o0, c0) = (g * Self::OG, g * Self::CG);
            for k in 0..K {
                let at = base + k * D * IC + c0;
                let mut sink = Taps { gw: &mut *gw, kc: KC, k: K, span: Self::CG, k0: k, o0 };
                gemm_nn_part::<V, T, OL>(
                    Self::CG,
                    n,
                    Self::OG,
                    x,
                    |t| at + t * S * IC,
                    &dy[o0..],
                    OC,
                    1,
                    Start::Zero,
                    &mut sink,
                );
            }
        }
    }

    /// The interior steps' input gradient as products: adds to `dx`.
    fn input_grad_interior<V: Width>(&self, dy: &[T], dx: &mut [T]) {
        let (lo, n) = (Self::LO, Self::HI - Self::LO);
        if n == 0 {
            return;
        }
        // wr[o·KC + k·CG + c] = w[o, c, k]: each output channel's taps in (k, c) order.
        let mut wr = SMatrix::<T, KC, OC>::zeros();
        let (w, wr) = (self.weight.as_slice(), wr.as_mut_slice());
        for o in 0..OC {
            for c in 0..Self::CG {
                for k in 0..K {
                    wr[o * KC + k * Self::CG + c] = w[o * KC + c * K + k];
                }
            }
        }
        let base = lo * S * IC - PL * IC;
        let dy = &dy[lo * OC..];
        if Self::ONE {
            let mut sink = AddAt { out: dx, offs: |t| base + t * S * IC };
            gemm_nn_part::<V, T, OC>(KC, OC, n, wr, |o| o * KC, dy, 1, OC, Start::Zero, &mut sink);
            return;
        }
        for g in 0..G {
            let (o0, c0) = (g * Self::OG, g * Self::CG);
            for k in 0..K {
                let at = base + k * D * IC + c0;
                let mut sink = AddAt { out: &mut *dx, offs: |t| at + t * S * IC };
                gemm_nn_part::<V, T, OC>(
                    Self::CG,
                    Self::OG,
                    n,
                    wr,
                    |o| (o0 + o) * KC + k * Self::CG,
                    &dy[o0..],
                    1,
                    OC,
                    Start::Zero,
                    &mut sink,
                );
            }
        }
    }

    /// Forward at a width `V`: the interior as products, the edges from the formula.
    #[inline(always)]
    fn forward_at<V: Width>(&self, x: &[T], y: &mut [T]) {
        self.forward_interior::<V>(x, y);
        for t in Self::edges() {
            self.forward_step(x, t, y);
        }
    }

    /// Backward's weight and input gradients at a width `V` (`dx` is overwritten).
    #[inline(always)]
    fn backward_at<V: Width>(&self, x: &[T], dy: &[T], gw: &mut [T], mut dx: Option<&mut [T]>) {
        if let Some(dx) = dx.as_deref_mut() {
            dx.fill(T::zero());
        }
        Self::weight_grad_interior::<V>(x, dy, gw);
        if let Some(dx) = dx.as_deref_mut() {
            self.input_grad_interior::<V>(dy, dx);
        }
        for t in Self::edges() {
            self.backward_step(x, dy, t, gw, dx.as_deref_mut());
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
}

impl<
        T: Scalar,
        const L: usize,
        const IC: usize,
        const OC: usize,
        const K: usize,
        const S: usize,
        const PL: usize,
        const PR: usize,
        const D: usize,
        const G: usize,
        const OL: usize,
        const KC: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Zeros for Conv1d<T, L, IC, OC, K, S, PL, PR, D, G, OL, KC, IN, OUT, BIAS>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Conv1d {
            weight: SMatrix::zeros(),
            bias: SVector::zeros(),
        }
    }
}

impl<
        T: Scalar,
        const L: usize,
        const IC: usize,
        const OC: usize,
        const K: usize,
        const S: usize,
        const PL: usize,
        const PR: usize,
        const D: usize,
        const G: usize,
        const OL: usize,
        const KC: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Params<T> for Conv1d<T, L, IC, OC, K, S, PL, PR, D, G, OL, KC, IN, OUT, BIAS>
{
    const TENSORS: usize = 1 + BIAS as usize;
    const LEN: usize = KC * OC + if BIAS { OC } else { 0 };

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

    /// `weight` `[OC, IC/G, K]` and `bias` `[OC]`, both with the weight's fans (see
    /// [`Conv1d::new`]).
    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = match i {
            0 => ("weight", Shape::image(OC, Self::CG, K), TensorKind::Weight),
            _ => ("bias", Shape::vector(OC), TensorKind::Bias),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: KC,
            fan_out: OC * K,
        }
    }
}

impl<
        T: Scalar,
        const L: usize,
        const IC: usize,
        const OC: usize,
        const K: usize,
        const S: usize,
        const PL: usize,
        const PR: usize,
        const D: usize,
        const G: usize,
        const OL: usize,
        const KC: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Layer<T> for Conv1d<T, L, IC, OC, K, S, PL, PR, D, G, OL, KC, IN, OUT, BIAS>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    type Record = NoRecord;
    type Grad = Self;
    const KIND: &'static str = "conv1d";
    const MACS: usize = OL * OC * KC;
    /// The reordered weight (`KC·OC` values, forward and backward alike) plus one packed
    /// block of a product's right factor: 8 columns of at most `max(KC, OL, OC)` rows.
    const SCRATCH_BYTES: usize = (KC * OC + 8 * max(max(KC, OL), OC)) * T::BYTES;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, y) = (x.as_slice(), y.as_mut_slice());
        simd::dispatch!(self.forward_at | forward_avx2 | forward_avx512(x, y));
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
            for d in dy.chunks_exact(OC) {
                for (b, &d) in grad.bias.as_mut_slice().iter_mut().zip(d) {
                    *b += d;
                }
            }
        }
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

const fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

/// `Conv` in one dimension between two `Transpose`s (a sequence is `[steps, channels]`, ONNX's
/// 1-D convolution reads `[channels, steps]`).
impl<
        T: Scalar,
        const L: usize,
        const IC: usize,
        const OC: usize,
        const K: usize,
        const S: usize,
        const PL: usize,
        const PR: usize,
        const D: usize,
        const G: usize,
        const OL: usize,
        const KC: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > crate::onnx::ToOnnx<T> for Conv1d<T, L, IC, OC, K, S, PL, PR, D, G, OL, KC, IN, OUT, BIAS>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        use crate::onnx::Attr;
        let i = |v: usize| v as i64;
        let attrs = [
            Attr::Ints("kernel_shape", &[i(K)]),
            Attr::Ints("strides", &[i(S)]),
            Attr::Ints("pads", &[i(PL), i(PR)]),
            Attr::Ints("dilations", &[i(D)]),
            Attr::Int("group", i(G)),
        ];
        let bias = BIAS.then(|| self.bias.as_slice());
        let dims = [OC, Self::CG, K];
        crate::onnx::over_channels(g, site, |g, x, y| {
            crate::onnx::conv(g, site, (x, y), self.weight.as_slice(), &dims, bias, &attrs)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::layer::contract::{check_overwrites, check_overwrites_at, random};
    use crate::layers::sequence_fixtures as fx;
    use crate::rng::SplitMix64;
    use std::vec;
    use std::vec::Vec;

    /// o = ⌊(l + pad − d(k − 1) − 1) / s⌋ + 1, written out independently of the layer.
    const fn out(l: usize, k: usize, s: usize, pad: usize, d: usize) -> usize {
        (l + pad - d * (k - 1) - 1) / s + 1
    }

    /// The `Conv1d` type of a geometry, deriving `OL`, `KC`, `IN`, `OUT`:
    /// `l, ic => oc; k s (pl, pr) d g bias`.
    macro_rules! conv {
        ($l:expr, $($rest:tt)*) => {
            conv!(f64; $l, $($rest)*)
        };
        ($t:ty; $l:expr, $ic:expr => $oc:expr; $k:expr, $s:expr, ($pl:expr, $pr:expr), $d:expr, $g:expr, $bias:expr) => {
            Conv1d<
                $t,
                { $l },
                { $ic },
                { $oc },
                { $k },
                { $s },
                { $pl },
                { $pr },
                { $d },
                { $g },
                { out($l, $k, $s, $pl + $pr, $d) },
                { $ic / $g * $k },
                { $l * $ic },
                { out($l, $k, $s, $pl + $pr, $d) * $oc },
                $bias,
            >
        };
    }

    /// Asserts `|found − expected| ≤ 1e-12·(1 + |expected|)` entry by entry.
    fn assert_close(what: &str, found: &[f64], expected: &[f64]) {
        assert_eq!(found.len(), expected.len(), "{what}");
        for (i, (a, b)) in found.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{what}[{i}]: {a} vs PyTorch {b}"
            );
        }
    }

    /// Forward, input and parameter gradients of one fixture case against PyTorch.
    fn against<Lr: Layer<f64, Input: crate::Flat<f64>> + Zeros>(name: &str, case: &fx::Conv1dCase)
    where
        Lr::Grad: Params<f64>,
    {
        let mut layer = Lr::zeros();
        layer.tensor_mut(0).copy_from_slice(case.weight);
        if Lr::TENSORS == 2 {
            layer.tensor_mut(1).copy_from_slice(case.bias);
        }
        let mut x = Lr::Input::zeros();
        crate::Flat::flat_mut(&mut x).copy_from_slice(case.x);
        let mut dy = Lr::Output::zeros();
        crate::Flat::flat_mut(&mut dy).copy_from_slice(case.dy);
        let mut y = Lr::Output::zeros();
        layer.forward(&x, &mut y);
        assert_close(&std::format!("{name} y"), crate::Flat::flat(&y), case.y);
        let (mut dx, mut g) = (Lr::Input::zeros(), Lr::Grad::zeros());
        layer.backward(&x, &y, &Lr::Record::zeros(), &dy, Some(&mut dx), &mut g);
        assert_close(&std::format!("{name} dx"), crate::Flat::flat(&dx), case.dx);
        assert_close(&std::format!("{name} dweight"), g.tensor(0), case.dweight);
        if Lr::TENSORS == 2 {
            assert_close(&std::format!("{name} dbias"), g.tensor(1), case.dbias);
        }
    }

    #[test]
    fn forward_and_backward_against_pytorch() {
        // The geometries of `bench/fixtures/sequence.py`, in its order.
        against::<conv!(9, 3 => 4; 3, 1, (0, 0), 1, 1, true)>("plain", &fx::CONV1D[0]);
        against::<conv!(10, 2 => 3; 3, 2, (1, 1), 1, 1, true)>("stride", &fx::CONV1D[1]);
        against::<conv!(12, 2 => 4; 3, 1, (2, 2), 2, 1, true)>("dilation", &fx::CONV1D[2]);
        against::<conv!(8, 4 => 6; 3, 1, (1, 1), 1, 2, true)>("groups", &fx::CONV1D[3]);
        against::<conv!(7, 3 => 2; 4, 1, (1, 2), 1, 1, true)>("same", &fx::CONV1D[4]);
        against::<conv!(11, 4 => 4; 3, 2, (2, 1), 2, 4, false)>("depthwise", &fx::CONV1D[5]);
        against::<conv!(3, 2 => 3; 5, 1, (2, 2), 1, 1, true)>("all edges", &fx::CONV1D[6]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(61);
        check_layer(
            &<conv!(9, 3 => 4; 3, 1, (0, 0), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(10, 2 => 3; 3, 2, (1, 1), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(12, 2 => 4; 3, 1, (2, 2), 2, 1, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(8, 4 => 6; 3, 1, (1, 1), 1, 2, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(7, 3 => 2; 4, 1, (1, 2), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(11, 4 => 4; 3, 2, (2, 1), 2, 4, false)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(3, 2 => 3; 5, 1, (2, 2), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(20, 1 => 9; 1, 3, (0, 0), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
        check_layer(
            &<conv!(16, 6 => 6; 5, 3, (3, 0), 1, 3, true)>::new(Init::HeUniform, &mut rng),
            &mut rng,
        );
    }

    /// The formula of the module docs, written out directly: `(y, dx, dweight, dbias)` at
    /// upstream gradient `dy`, for geometry `(l, ic, oc, k, s, pl, d, g)`.
    #[allow(clippy::type_complexity)]
    fn reference(
        (l, ic, oc, k, s, pl, d, g): (usize, usize, usize, usize, usize, usize, usize, usize),
        ol: usize,
        w: &[f64],
        b: &[f64],
        x: &[f64],
        dy: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (cg, og) = (ic / g, oc / g);
        let (mut y, mut dx) = (vec![0.0; ol * oc], vec![0.0; l * ic]);
        let (mut dw, mut db) = (vec![0.0; w.len()], vec![0.0; oc]);
        for t in 0..ol {
            for o in 0..oc {
                y[t * oc + o] = b[o];
                db[o] += dy[t * oc + o];
                for c in 0..cg {
                    for kk in 0..k {
                        let p = (t * s + kk * d) as isize - pl as isize;
                        if p < 0 || p >= l as isize {
                            continue;
                        }
                        let xi = p as usize * ic + (o / og) * cg + c;
                        let wi = (o * cg + c) * k + kk;
                        y[t * oc + o] += w[wi] * x[xi];
                        dw[wi] += dy[t * oc + o] * x[xi];
                        dx[xi] += dy[t * oc + o] * w[wi];
                    }
                }
            }
        }
        (y, dx, dw, db)
    }

    /// The layer at scalar `T`, with random parameters, input and upstream gradient, against
    /// [`reference`] in `f64`: every value within `tol·(1 + |expected|)`.
    fn against_reference<T: Scalar, Lr: Layer<T, Input: crate::Flat<T>> + Zeros>(
        geometry: (usize, usize, usize, usize, usize, usize, usize, usize),
        tol: f64,
        seed: u64,
    ) {
        use crate::Flat;
        let mut rng = SplitMix64::new(seed);
        let mut draw = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| T::of(crate::rng::uniform_sym(&mut rng, 1.0)).to_f64())
                .collect()
        };
        let mut layer = Lr::zeros();
        let w = draw(layer.tensor(0).len());
        let b = if Lr::TENSORS == 2 {
            draw(layer.tensor(1).len())
        } else {
            vec![0.0; geometry.2]
        };
        layer
            .tensor_mut(0)
            .iter_mut()
            .zip(&w)
            .for_each(|(p, &v)| *p = T::of(v));
        if Lr::TENSORS == 2 {
            layer
                .tensor_mut(1)
                .iter_mut()
                .zip(&b)
                .for_each(|(p, &v)| *p = T::of(v));
        }
        let (mut x, mut dy) = (Lr::Input::zeros(), Lr::Output::zeros());
        let xs = draw(x.flat().len());
        let dys = draw(dy.flat().len());
        x.flat_mut()
            .iter_mut()
            .zip(&xs)
            .for_each(|(p, &v)| *p = T::of(v));
        dy.flat_mut()
            .iter_mut()
            .zip(&dys)
            .for_each(|(p, &v)| *p = T::of(v));
        let ol = dys.len() / geometry.2;
        let (y_want, dx_want, dw_want, db_want) = reference(geometry, ol, &w, &b, &xs, &dys);

        let close = |what: &str, found: &[T], want: &[f64]| {
            assert_eq!(found.len(), want.len());
            for (i, (a, b)) in found.iter().zip(want).enumerate() {
                let a = a.to_f64();
                assert!(
                    (a - b).abs() <= tol * (1.0 + b.abs()),
                    "{geometry:?} {what}[{i}]: {a} vs reference {b}"
                );
            }
        };
        let mut y = Lr::Output::zeros();
        layer.forward(&x, &mut y);
        close("y", y.flat(), &y_want);
        let (mut dx, mut g) = (Lr::Input::zeros(), Lr::Grad::zeros());
        layer.backward(&x, &y, &Lr::Record::zeros(), &dy, Some(&mut dx), &mut g);
        close("dx", dx.flat(), &dx_want);
        close("dweight", g.tensor(0), &dw_want);
        if Lr::TENSORS == 2 {
            close("dbias", g.tensor(1), &db_want);
        }
    }

    #[test]
    fn larger_geometries_against_the_formula() {
        // Channel counts that leave every remainder of the register blocks, long sequences,
        // and both product shapes (one product when D = 1 and G = 1, else per group and tap).
        macro_rules! case {
            ($t:ty, $tol:expr, $seed:expr; $l:expr, $ic:expr => $oc:expr; $k:expr, $s:expr, ($pl:expr, $pr:expr), $d:expr, $g:expr, $bias:expr) => {
                against_reference::<$t, conv!($t; $l, $ic => $oc; $k, $s, ($pl, $pr), $d, $g, $bias)>(
                    ($l, $ic, $oc, $k, $s, $pl, $d, $g),
                    $tol,
                    $seed,
                )
            };
        }
        case!(f64, 1e-12, 1; 40, 5 => 19; 5, 1, (2, 2), 1, 1, true);
        case!(f64, 1e-12, 2; 64, 16 => 33; 3, 2, (1, 0), 1, 1, false);
        case!(f64, 1e-12, 3; 50, 6 => 12; 3, 1, (4, 4), 4, 3, true);
        case!(f64, 1e-12, 4; 31, 24 => 24; 7, 1, (3, 3), 1, 24, true);
        case!(f32, 1e-5, 5; 40, 5 => 19; 5, 1, (2, 2), 1, 1, true);
        case!(f32, 1e-5, 6; 64, 16 => 33; 3, 2, (1, 0), 1, 1, false);
        case!(f32, 1e-5, 7; 50, 6 => 12; 3, 1, (4, 4), 4, 3, true);
        case!(f32, 1e-5, 8; 33, 1 => 3; 9, 1, (4, 4), 1, 1, true);
    }

    #[test]
    fn interior_and_edge_steps() {
        // Steps LO..HI read no padding: padding (2, 2) and kernel 5 at stride 1 over 40
        // steps, outputs 2..38; strided, the first window starts in the padding; the last
        // geometry has no interior at all.
        type A = conv!(40, 5 => 19; 5, 1, (2, 2), 1, 1, true);
        assert_eq!((A::LO, A::HI), (2, 38));
        type B = conv!(10, 2 => 3; 3, 2, (1, 1), 1, 1, true);
        assert_eq!((B::LO, B::HI, <B as Layer<f64>>::MACS), (1, 5, 5 * 3 * 6));
        type Dl = conv!(12, 2 => 4; 3, 1, (2, 2), 2, 1, true);
        assert_eq!((Dl::LO, Dl::HI), (2, 10));
        type C = conv!(3, 2 => 3; 5, 1, (2, 2), 1, 1, true);
        assert_eq!(C::LO, C::HI);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        let mut rng = SplitMix64::new(62);
        check_overwrites(
            &<conv!(9, 3 => 4; 3, 1, (0, 0), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            1,
        );
        check_overwrites(
            &<conv!(12, 2 => 4; 3, 1, (2, 2), 2, 1, true)>::new(Init::HeUniform, &mut rng),
            2,
        );
        check_overwrites(
            &<conv!(11, 4 => 4; 3, 2, (2, 1), 2, 4, false)>::new(Init::HeUniform, &mut rng),
            3,
        );
        check_overwrites(
            &<conv!(3, 2 => 3; 5, 1, (2, 2), 1, 1, true)>::new(Init::HeUniform, &mut rng),
            4,
        );
        // A stride larger than the kernel leaves inputs no window reads: their gradient is 0.
        let layer = <conv!(10, 2 => 3; 2, 4, (0, 0), 1, 1, true)>::new(Init::HeUniform, &mut rng);
        let x = random(&mut rng);
        check_overwrites_at(&layer, &x, &random(&mut rng));
        check_overwrites_at(&layer, &x, &SVector::zeros());
    }
}
