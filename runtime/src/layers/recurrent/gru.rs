//! Gated recurrent unit (Cho et al. 2014), PyTorch's `nn.GRU` for one layer.
//!
//! With σ the logistic sigmoid and ⊙ the element-wise product, at each step t:
//!
//! ```text
//! r = σ(W_ir x_t + b_ir + W_hr h + b_hr)
//! z = σ(W_iz x_t + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! the gates stacked in that order (r, z, n) in `weight_ih [3H, IN]`, `weight_hh [3H, H]` and
//! the biases. The reset gate multiplies the hidden product *after* it is taken, with its
//! bias, as PyTorch (and cuDNN) define it; the original paper resets h before the product.
//! Backward, with δh = ∂L/∂h' and m = W_hn h + b_hn:
//!
//! ```text
//! δn = δh ⊙ (1 − z) ⊙ (1 − n²)    δz = δh ⊙ (h − n) ⊙ z(1 − z)    δr = δn ⊙ m ⊙ r(1 − r)
//! δm = δn ⊙ r                     ∂L/∂h = δh ⊙ z + W_hrᵀ δr + W_hzᵀ δz + W_hnᵀ δm
//! ```
//!
//! The input side's gate gradients are (δr, δz, δn), the hidden side's (δr, δz, δm).
//! See [the module docs](super) for shapes, directions and the state API.

use super::math::{gemv_bias, gemv_t_add, sigmoid, tanh};
use super::{
    add_dy, check_sizes, out_at, project, recurrent_params, recurrent_weight_grad, to_array,
    transposed, Deltas, Direction, HiddenState, Walk,
};
use crate::kernels::dense_forward;
use crate::simd::{self, Width};
use crate::{Layer, Scalar, Zeros};
use nalgebra::SVector;

/// A GRU layer over `STEPS` steps of `IN` features with `H` hidden units, in `DIRS`
/// directions; see the [module docs](self) for the equations.
///
/// Generic parameters, in order, as for [`Lstm`](super::Lstm):
/// - `T`: the scalar;
/// - `STEPS`: time steps of the input sequence;
/// - `IN`: features per step;
/// - `H`: hidden units (PyTorch's `hidden_size`);
/// - `DIRS`: 1, or 2 for bidirectional;
/// - `SEQ`: `true` to output every step's hidden state (`[STEPS, DIRS·H]`), `false` for the
///   final state of each direction only (`[DIRS·H]`);
/// - `XLEN = STEPS·IN` and `YLEN = STEPS·DIRS·H` (with `SEQ`) or `DIRS·H` (without), checked
///   by a `const` assertion.
///
/// ```
/// use stacknet_runtime::layers::Gru;
/// use stacknet_runtime::Params;
///
/// // Bidirectional, every step: T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN
/// type G = Gru<f64, 10, 3, 8, 2, true, 30, 160>;
/// assert_eq!(G::TENSORS, 8);
/// assert_eq!(G::tensor_info(4).name, "weight_ih_l0_reverse");
/// assert_eq!(G::tensor_info(4).shape.dims(), &[24, 3]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Gru<
    T: Scalar,
    const STEPS: usize,
    const IN: usize,
    const H: usize,
    const DIRS: usize,
    const SEQ: bool,
    const XLEN: usize,
    const YLEN: usize,
> {
    /// The forward direction's parameters, then the reverse direction's.
    pub dirs: [Direction<T, IN, H, 3>; DIRS],
}

/// What a GRU's training forward keeps: per direction and step (in time order) r, z, n,
/// m = W_hn h + b_hn and h; and the initial h of each direction. `DIRS·H·(5·STEPS + 1)`
/// values.
#[derive(Clone, Debug, PartialEq)]
pub struct GruRecord<T, const STEPS: usize, const H: usize, const DIRS: usize> {
    steps: [[[[T; H]; 5]; STEPS]; DIRS],
    init: [[T; H]; DIRS],
}

impl<T: Scalar, const STEPS: usize, const H: usize, const DIRS: usize> Zeros
    for GruRecord<T, STEPS, H, DIRS>
{
    fn zeros() -> Self {
        GruRecord {
            steps: [[[[T::zero(); H]; 5]; STEPS]; DIRS],
            init: [[T::zero(); H]; DIRS],
        }
    }
}

/// Slots of a step in the record after the gates r, z, n.
const M: usize = 3;
const HS: usize = 4;

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > Gru<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    const VALID: () = check_sizes(STEPS, IN, H, DIRS, SEQ, XLEN, YLEN);

    /// [`Layer::forward`] from the state `state` instead of zeros, writing the state after
    /// the last step of each direction into `final_state`.
    pub fn forward_from(
        &self,
        x: &SVector<T, XLEN>,
        state: &HiddenState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        final_state: &mut HiddenState<T, H, DIRS>,
    ) {
        simd::dispatch!(
            self.forward_from_at
                | forward_from_avx2
                | forward_from_avx512(x, state, y, final_state)
        );
    }

    #[inline(always)]
    fn forward_from_at<V: Width>(
        &self,
        x: &SVector<T, XLEN>,
        state: &HiddenState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        final_state: &mut HiddenState<T, H, DIRS>,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let xt = transposed::<T, STEPS, IN>(x.as_slice());
        for (d, dir) in self.dirs.iter().enumerate() {
            let mut proj = [[[T::zero(); H]; 3]; STEPS];
            let proj = proj.as_flattened_mut().as_flattened_mut();
            project::<V, T, STEPS, IN, H, 3>(&dir.weight_ih, &Self::bias(dir), &xt, proj, 3 * H);
            let mut h = to_array(&state.h[d]);
            Self::run::<V, false>(dir, d, proj, 3 * H, &mut h, y.as_mut_slice());
            final_state.h[d] = SVector::from(h);
        }
    }

    simd::target_copies! {
        /// [`forward_from_at`](Self::forward_from_at) compiled for AVX2 or AVX-512.
        fn forward_from_avx2, forward_from_avx512 = forward_from_at(&self, x: &SVector<T, XLEN>, state: &HiddenState<T, H, DIRS>, y: &mut SVector<T, YLEN>, final_state: &mut HiddenState<T, H, DIRS>);
    }

    /// [`Layer::forward_train`] from the state `state` instead of zeros; backward treats
    /// `state` as a constant (truncated backpropagation through time). The final state is
    /// [`final_state`](Self::final_state) of the record.
    pub fn forward_train_from(
        &mut self,
        x: &SVector<T, XLEN>,
        state: &HiddenState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        rec: &mut GruRecord<T, STEPS, H, DIRS>,
    ) {
        simd::dispatch!(
            self.forward_train_from_at
                | forward_train_from_avx2
                | forward_train_from_avx512(x, state, y, rec)
        );
    }

    #[inline(always)]
    fn forward_train_from_at<V: Width>(
        &self,
        x: &SVector<T, XLEN>,
        state: &HiddenState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        rec: &mut GruRecord<T, STEPS, H, DIRS>,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let xt = transposed::<T, STEPS, IN>(x.as_slice());
        for (d, dir) in self.dirs.iter().enumerate() {
            let mut h = to_array(&state.h[d]);
            rec.init[d] = h;
            let buf = rec.steps[d].as_flattened_mut().as_flattened_mut();
            project::<V, T, STEPS, IN, H, 3>(&dir.weight_ih, &Self::bias(dir), &xt, buf, 5 * H);
            Self::run::<V, true>(dir, d, buf, 5 * H, &mut h, y.as_mut_slice());
        }
    }

    simd::target_copies! {
        /// [`forward_train_from_at`](Self::forward_train_from_at) compiled for AVX2 or AVX-512.
        fn forward_train_from_avx2, forward_train_from_avx512 = forward_train_from_at(&self, x: &SVector<T, XLEN>, state: &HiddenState<T, H, DIRS>, y: &mut SVector<T, YLEN>, rec: &mut GruRecord<T, STEPS, H, DIRS>);
    }

    /// [`Layer::backward`] at a width `V`.
    #[inline(always)]
    fn backward_at<V: Width>(
        &self,
        x: &SVector<T, XLEN>,
        rec: &GruRecord<T, STEPS, H, DIRS>,
        dy: &SVector<T, YLEN>,
        mut dx: Option<&mut SVector<T, XLEN>>,
        grad: &mut Self,
    ) {
        if let Some(dx) = dx.as_deref_mut() {
            dx.fill(T::zero());
        }
        let dy = dy.as_slice();
        for (d, (dir, gd)) in self.dirs.iter().zip(grad.dirs.iter_mut()).enumerate() {
            let walk = Walk::<STEPS>::of(d);
            let steps = &rec.steps[d];
            let h0 = &rec.init[d];
            // Per step (time order): δr, δz, δn (the input side's), δm (the hidden side's n).
            let mut dg = [[[T::zero(); H]; 4]; STEPS];
            let mut dh = [T::zero(); H];
            for k in (0..STEPS).rev() {
                let t = walk.step(k);
                add_dy::<T, STEPS, H, DIRS, SEQ>(dy, t, d, &mut dh);
                let s = &steps[t];
                let h_prev = walk.prev(t).map_or(h0, |p| &steps[p][HS]);
                let [sr, sz, sn, sm] = [&s[0], &s[1], &s[2], &s[M]];
                let [dr, dz, dn, dm] = &mut dg[t];
                let one = T::one();
                for j in 0..H {
                    let (r, z, n) = (sr[j], sz[j], sn[j]);
                    let dnj = dh[j] * (one - z) * (one - n * n);
                    dn[j] = dnj;
                    dz[j] = dh[j] * (h_prev[j] - n) * z * (one - z);
                    dr[j] = dnj * sm[j] * r * (one - r);
                    dm[j] = dnj * r;
                    // The direct path through z ⊙ h; the products are added below.
                    dh[j] *= z;
                }
                if k > 0 {
                    let [dr, dz, _, dm] = &dg[t];
                    gemv_t_add::<T, H, H>(dir.w_hh(0), dr, &mut dh);
                    gemv_t_add::<T, H, H>(dir.w_hh(1), dz, &mut dh);
                    gemv_t_add::<T, H, H>(dir.w_hh(2), dm, &mut dh);
                }
            }
            let deltas = Deltas {
                dg: dg.as_flattened().as_flattened(),
                ld: 4 * H,
            };
            let gw_ih = gd.weight_ih.as_flattened_mut().as_flattened_mut();
            deltas.weight_grad::<V, STEPS, IN>(STEPS, 0, 0, 3 * H, x.as_slice(), |t| t * IN, gw_ih);
            let rec_flat = steps.as_flattened().as_flattened();
            let hcol = |s: usize| (s * 5 + HS) * H;
            let (gw_rz, gw_n) = gd.weight_hh.split_at_mut(2);
            let gw_rz = gw_rz.as_flattened_mut().as_flattened_mut();
            recurrent_weight_grad::<V, T, STEPS, H>(
                &deltas,
                walk,
                0,
                2 * H,
                rec_flat,
                hcol,
                h0,
                gw_rz,
            );
            let gw_n = gw_n.as_flattened_mut().as_flattened_mut();
            recurrent_weight_grad::<V, T, STEPS, H>(
                &deltas,
                walk,
                3 * H,
                H,
                rec_flat,
                hcol,
                h0,
                gw_n,
            );
            deltas.bias_grad::<STEPS>(0, gd.bias_ih.as_flattened_mut());
            deltas.bias_grad::<STEPS>(0, gd.bias_hh[..2].as_flattened_mut());
            deltas.bias_grad::<STEPS>(3 * H, &mut gd.bias_hh[2]);
            if let Some(dx) = dx.as_deref_mut() {
                for (g, w) in dir.weight_ih.iter().enumerate() {
                    deltas.input_grad::<V, STEPS, IN, H>(g * H, w, dx.as_mut_slice());
                }
            }
        }
    }

    simd::target_copies! {
        /// [`backward_at`](Self::backward_at) compiled for AVX2 or AVX-512.
        fn backward_avx2, backward_avx512 = backward_at(&self, x: &SVector<T, XLEN>, rec: &GruRecord<T, STEPS, H, DIRS>, dy: &SVector<T, YLEN>, dx: Option<&mut SVector<T, XLEN>>, grad: &mut Self);
    }

    /// The state a training forward ended in: each direction's h after its last step (the
    /// forward direction's at the last time step, the reverse one's at step 0).
    pub fn final_state(rec: &GruRecord<T, STEPS, H, DIRS>) -> HiddenState<T, H, DIRS> {
        let mut s = HiddenState::zeros();
        for d in 0..DIRS {
            s.h[d] = SVector::from(rec.steps[d][Walk::<STEPS>::of(d).last()][HS]);
        }
        s
    }

    /// The bias added to the input projections: `b_ih + b_hh` for r and z, `b_in` alone for
    /// n (`b_hn` is inside the reset product).
    fn bias(dir: &Direction<T, IN, H, 3>) -> [[T; H]; 3] {
        let mut b = dir.bias_ih;
        for (b, c) in b[..2].iter_mut().zip(&dir.bias_hh[..2]) {
            for (b, &c) in b.iter_mut().zip(c) {
                *b += c;
            }
        }
        b
    }

    /// Runs direction `d` through time from `h`, leaving the final state there. Step t's
    /// input projections are `buf[t·ld ..][.. 3H]`; with `RECORD`, each step's slot is then
    /// overwritten with r, z, n, m and h.
    #[inline(always)]
    fn run<V: Width, const RECORD: bool>(
        dir: &Direction<T, IN, H, 3>,
        d: usize,
        buf: &mut [T],
        ld: usize,
        h: &mut [T; H],
        y: &mut [T],
    ) {
        let walk = Walk::<STEPS>::of(d);
        let mut zero = h.iter().all(|&v| v == T::zero());
        for k in 0..STEPS {
            let t = walk.step(k);
            let slot = &mut buf[t * ld..][..ld];
            // r, z, and m = W_hn h + b_hn.
            let mut a = [[T::zero(); H]; 3];
            for (g, a) in a.iter_mut().enumerate() {
                let b = if g < 2 {
                    &slot[g * H..][..H]
                } else {
                    &dir.bias_hh[2][..]
                };
                if zero {
                    a.copy_from_slice(b);
                } else {
                    if H.is_multiple_of(8) {
                        gemv_bias::<V, T, H, H>(dir.w_hh(g), b, h, a);
                    } else {
                        dense_forward::<V, T, H, H>(dir.w_hh(g), Some(b), h, a);
                    }
                }
            }
            zero = false;
            sigmoid(&mut a.as_flattened_mut()[..2 * H]);
            let mut n = [T::zero(); H];
            let [r, z, m] = &a;
            for (j, n) in n.iter_mut().enumerate() {
                *n = slot[2 * H + j] + r[j] * m[j];
            }
            tanh(&mut n);
            for j in 0..H {
                h[j] = n[j] + z[j] * (h[j] - n[j]);
            }
            if let Some(at) = out_at::<STEPS, H, DIRS, SEQ>(t, d) {
                y[at..at + H].copy_from_slice(h);
            }
            if RECORD {
                slot[..2 * H].copy_from_slice(a[..2].as_flattened());
                slot[2 * H..][..H].copy_from_slice(&n);
                slot[M * H..][..H].copy_from_slice(m);
                slot[HS * H..][..H].copy_from_slice(h);
            }
        }
    }
}

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > Zeros for Gru<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Gru {
            dirs: core::array::from_fn(|_| Direction::zeros()),
        }
    }
}

recurrent_params!(3, Gru<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>);

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > Layer<T> for Gru<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    type Input = SVector<T, XLEN>;
    type Output = SVector<T, YLEN>;
    type Record = GruRecord<T, STEPS, H, DIRS>;
    type Grad = Self;
    const KIND: &'static str = "gru";
    const MACS: usize = DIRS * STEPS * 3 * H * (IN + H);
    /// Forward's input projections and transposed input, or backward's gate gradients.
    const SCRATCH_BYTES: usize = STEPS * (4 * H + IN) * T::BYTES;

    fn forward(&self, x: &SVector<T, XLEN>, y: &mut SVector<T, YLEN>) {
        self.forward_from(x, &HiddenState::zeros(), y, &mut HiddenState::zeros());
    }

    fn forward_train(
        &mut self,
        x: &SVector<T, XLEN>,
        y: &mut SVector<T, YLEN>,
        rec: &mut GruRecord<T, STEPS, H, DIRS>,
    ) {
        self.forward_train_from(x, &HiddenState::zeros(), y, rec);
    }

    fn backward(
        &self,
        x: &SVector<T, XLEN>,
        _y: &SVector<T, YLEN>,
        rec: &GruRecord<T, STEPS, H, DIRS>,
        dy: &SVector<T, YLEN>,
        dx: Option<&mut SVector<T, XLEN>>,
        grad: &mut Self,
    ) {
        simd::dispatch!(self.backward_at | backward_avx2 | backward_avx512(x, rec, dy, dx, grad));
    }
}

/// ONNX's `GRU` with `linear_before_reset` (PyTorch's reset, applied after the hidden
/// product), gates reordered from PyTorch's r, z, n to ONNX's z, r, h.
impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > crate::onnx::ToOnnx<T> for Gru<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let attrs = [crate::onnx::Attr::Int("linear_before_reset", 1)];
        super::onnx(&self.dirs, g, site, ("GRU", &[1, 0, 2], SEQ), &attrs);
    }
}
