//! Long short-term memory (Hochreiter and Schmidhuber 1997), PyTorch's `nn.LSTM` for one layer.
//!
//! With σ the logistic sigmoid and ⊙ the element-wise product, at each step t:
//!
//! ```text
//! i = σ(W_ii x_t + b_ii + W_hi h + b_hi)      f = σ(W_if x_t + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x_t + b_ig + W_hg h + b_hg)   o = σ(W_io x_t + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                           h' = o ⊙ tanh(c')
//! ```
//!
//! the four gates stacked in that order (i, f, g, o) in `weight_ih [4H, IN]`, `weight_hh
//! [4H, H]` and the biases. Backward, from δh = ∂L/∂h' and δc = ∂L/∂c' (the later step's
//! share plus this step's):
//!
//! ```text
//! δc ← δc + δh ⊙ o ⊙ (1 − tanh²c')
//! δo = δh ⊙ tanh c' ⊙ o(1 − o)     δi = δc ⊙ g ⊙ i(1 − i)     δf = δc ⊙ c ⊙ f(1 − f)
//! δg = δc ⊙ i ⊙ (1 − g²)            ∂L/∂c = δc ⊙ f             ∂L/∂h = W_hhᵀ [δi δf δg δo]
//! ```
//!
//! See [the module docs](super) for shapes, directions, the state API and how the work is
//! arranged into matrix products.

use super::math::{gemv_bias, gemv_t_add, sigmoid, tanh};
use super::{
    add_dy, check_sizes, out_at, project, recurrent_params, recurrent_weight_grad, to_array,
    transposed, Deltas, Direction, Walk,
};
use crate::kernels::dense_forward;
use crate::simd::{self, Width};
use crate::{Layer, Scalar, Zeros};
use nalgebra::SVector;

/// An LSTM layer over `STEPS` steps of `IN` features with `H` hidden units, in `DIRS`
/// directions; see the [module docs](self) for the equations.
///
/// Generic parameters, in order:
/// - `T`: the scalar;
/// - `STEPS`: time steps of the input sequence;
/// - `IN`: features per step;
/// - `H`: hidden units (PyTorch's `hidden_size`);
/// - `DIRS`: 1, or 2 for bidirectional;
/// - `SEQ`: `true` to output every step's hidden state (`[STEPS, DIRS·H]`), `false` for the
///   final state of each direction only (`[DIRS·H]`);
/// - `XLEN = STEPS·IN`, the input length, and `YLEN`, the output length (`STEPS·DIRS·H` or
///   `DIRS·H`): derived sizes, generic parameters because stable Rust cannot compute array
///   lengths from generics; a `const` assertion checks them when the layer is built.
///
/// ```
/// use stacknet_runtime::layers::Lstm;
/// use stacknet_runtime::nalgebra::SVector;
/// use stacknet_runtime::{Layer, Params, Zeros};
///
/// // MNIST rows: 28 steps of 28 pixels into 128 units, the last state out.
/// // T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN
/// type Rows = Lstm<f32, 28, 28, 128, 1, false, 784, 128>;
/// let lstm = Rows::zeros();
/// assert_eq!(Rows::tensor_info(1).name, "weight_hh_l0");
/// assert_eq!(Rows::tensor_info(1).shape.dims(), &[512, 128]);
/// let mut y = SVector::<f32, 128>::zeros();
/// lstm.forward(&SVector::zeros(), &mut y);
/// ```
///
/// Sizes that disagree do not compile (`YLEN` here is `STEPS·H`, but `SEQ` is false):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::Lstm;
/// # use stacknet_runtime::Zeros;
/// let lstm = Lstm::<f32, 4, 3, 5, 1, false, 12, 20>::zeros();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Lstm<
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
    pub dirs: [Direction<T, IN, H, 4>; DIRS],
}

/// An LSTM's state: hidden state `h` and cell state `c` of each direction (PyTorch's
/// `(h_0, c_0)` and `(h_n, c_n)`, direction-major).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmState<T: Scalar, const H: usize, const DIRS: usize> {
    /// The hidden state (the layer's output at the last step) per direction.
    pub h: [SVector<T, H>; DIRS],
    /// The cell state per direction.
    pub c: [SVector<T, H>; DIRS],
}

impl<T: Scalar, const H: usize, const DIRS: usize> Zeros for LstmState<T, H, DIRS> {
    fn zeros() -> Self {
        LstmState {
            h: [SVector::zeros(); DIRS],
            c: [SVector::zeros(); DIRS],
        }
    }
}

/// What an LSTM's training forward keeps: per direction and step (in time order), the gates
/// i, f, g, o after their nonlinearities, then c and h; and the initial `h`, `c` of each
/// direction. `DIRS·H·(6·STEPS + 2)` values.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmRecord<T, const STEPS: usize, const H: usize, const DIRS: usize> {
    steps: [[[[T; H]; 6]; STEPS]; DIRS],
    init: [[[T; H]; 2]; DIRS],
}

impl<T: Scalar, const STEPS: usize, const H: usize, const DIRS: usize> Zeros
    for LstmRecord<T, STEPS, H, DIRS>
{
    fn zeros() -> Self {
        LstmRecord {
            steps: [[[[T::zero(); H]; 6]; STEPS]; DIRS],
            init: [[[T::zero(); H]; 2]; DIRS],
        }
    }
}

/// Slots of a step in the record.
const C: usize = 4;
const HS: usize = 5;

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > Lstm<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    const VALID: () = check_sizes(STEPS, IN, H, DIRS, SEQ, XLEN, YLEN);

    /// [`Layer::forward`] from the state `state` instead of zeros, writing the state after
    /// the last step of each direction into `final_state`.
    pub fn forward_from(
        &self,
        x: &SVector<T, XLEN>,
        state: &LstmState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        final_state: &mut LstmState<T, H, DIRS>,
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
        state: &LstmState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        final_state: &mut LstmState<T, H, DIRS>,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let xt = transposed::<T, STEPS, IN>(x.as_slice());
        for (d, dir) in self.dirs.iter().enumerate() {
            let mut proj = [[[T::zero(); H]; 4]; STEPS];
            let proj = proj.as_flattened_mut().as_flattened_mut();
            project::<V, T, STEPS, IN, H, 4>(&dir.weight_ih, &Self::bias(dir), &xt, proj, 4 * H);
            let (mut h, mut c) = (to_array(&state.h[d]), to_array(&state.c[d]));
            Self::run::<V, false>(dir, d, proj, 4 * H, &mut h, &mut c, y.as_mut_slice());
            final_state.h[d] = SVector::from(h);
            final_state.c[d] = SVector::from(c);
        }
    }

    simd::target_copies! {
        /// [`forward_from_at`](Self::forward_from_at) compiled for AVX2 or AVX-512.
        fn forward_from_avx2, forward_from_avx512 = forward_from_at(&self, x: &SVector<T, XLEN>, state: &LstmState<T, H, DIRS>, y: &mut SVector<T, YLEN>, final_state: &mut LstmState<T, H, DIRS>);
    }

    /// [`Layer::forward_train`] from the state `state` instead of zeros; backward treats
    /// `state` as a constant (truncated backpropagation through time). The final state is
    /// [`final_state`](Self::final_state) of the record.
    pub fn forward_train_from(
        &mut self,
        x: &SVector<T, XLEN>,
        state: &LstmState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        rec: &mut LstmRecord<T, STEPS, H, DIRS>,
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
        state: &LstmState<T, H, DIRS>,
        y: &mut SVector<T, YLEN>,
        rec: &mut LstmRecord<T, STEPS, H, DIRS>,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let xt = transposed::<T, STEPS, IN>(x.as_slice());
        for (d, dir) in self.dirs.iter().enumerate() {
            let (mut h, mut c) = (to_array(&state.h[d]), to_array(&state.c[d]));
            rec.init[d] = [h, c];
            let buf = rec.steps[d].as_flattened_mut().as_flattened_mut();
            project::<V, T, STEPS, IN, H, 4>(&dir.weight_ih, &Self::bias(dir), &xt, buf, 6 * H);
            Self::run::<V, true>(dir, d, buf, 6 * H, &mut h, &mut c, y.as_mut_slice());
        }
    }

    simd::target_copies! {
        /// [`forward_train_from_at`](Self::forward_train_from_at) compiled for AVX2 or AVX-512.
        fn forward_train_from_avx2, forward_train_from_avx512 = forward_train_from_at(&self, x: &SVector<T, XLEN>, state: &LstmState<T, H, DIRS>, y: &mut SVector<T, YLEN>, rec: &mut LstmRecord<T, STEPS, H, DIRS>);
    }

    /// [`Layer::backward`] at a width `V`.
    #[inline(always)]
    fn backward_at<V: Width>(
        &self,
        x: &SVector<T, XLEN>,
        rec: &LstmRecord<T, STEPS, H, DIRS>,
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
            let [h0, c0] = &rec.init[d];
            // Δ: per step (time order) the gradients of the gates' pre-activations.
            let mut dg = [[[T::zero(); H]; 4]; STEPS];
            let (mut dh, mut dc) = ([T::zero(); H], [T::zero(); H]);
            for k in (0..STEPS).rev() {
                let t = walk.step(k);
                add_dy::<T, STEPS, H, DIRS, SEQ>(dy, t, d, &mut dh);
                let s = &steps[t];
                let c_prev = walk.prev(t).map_or(c0, |p| &steps[p][C]);
                let mut tc = s[C];
                tanh(&mut tc);
                let [si, sf, sg, so] = [&s[0], &s[1], &s[2], &s[3]];
                let [di, df, dgg, dout] = &mut dg[t];
                for j in 0..H {
                    let (i, f, g, o) = (si[j], sf[j], sg[j], so[j]);
                    let one = T::one();
                    let dcj = dc[j] + dh[j] * o * (one - tc[j] * tc[j]);
                    di[j] = dcj * g * i * (one - i);
                    df[j] = dcj * c_prev[j] * f * (one - f);
                    dgg[j] = dcj * i * (one - g * g);
                    dout[j] = dh[j] * tc[j] * o * (one - o);
                    dc[j] = dcj * f;
                }
                if k > 0 {
                    dh = [T::zero(); H];
                    for (g, delta) in dg[t].iter().enumerate() {
                        gemv_t_add::<T, H, H>(dir.w_hh(g), delta, &mut dh);
                    }
                }
            }
            let deltas = Deltas {
                dg: dg.as_flattened().as_flattened(),
                ld: 4 * H,
            };
            let gw_ih = gd.weight_ih.as_flattened_mut().as_flattened_mut();
            deltas.weight_grad::<V, STEPS, IN>(STEPS, 0, 0, 4 * H, x.as_slice(), |t| t * IN, gw_ih);
            let rec_flat = steps.as_flattened().as_flattened();
            let gw_hh = gd.weight_hh.as_flattened_mut().as_flattened_mut();
            let hcol = |s: usize| (s * 6 + HS) * H;
            recurrent_weight_grad::<V, T, STEPS, H>(
                &deltas,
                walk,
                0,
                4 * H,
                rec_flat,
                hcol,
                h0,
                gw_hh,
            );
            deltas.bias_grad::<STEPS>(0, gd.bias_ih.as_flattened_mut());
            deltas.bias_grad::<STEPS>(0, gd.bias_hh.as_flattened_mut());
            if let Some(dx) = dx.as_deref_mut() {
                for (g, w) in dir.weight_ih.iter().enumerate() {
                    deltas.input_grad::<V, STEPS, IN, H>(g * H, w, dx.as_mut_slice());
                }
            }
        }
    }

    simd::target_copies! {
        /// [`backward_at`](Self::backward_at) compiled for AVX2 or AVX-512.
        fn backward_avx2, backward_avx512 = backward_at(&self, x: &SVector<T, XLEN>, rec: &LstmRecord<T, STEPS, H, DIRS>, dy: &SVector<T, YLEN>, dx: Option<&mut SVector<T, XLEN>>, grad: &mut Self);
    }

    /// The state a training forward ended in: each direction's `h` and `c` after its last
    /// step (the forward direction's at the last time step, the reverse one's at step 0).
    pub fn final_state(rec: &LstmRecord<T, STEPS, H, DIRS>) -> LstmState<T, H, DIRS> {
        let mut s = LstmState::zeros();
        for d in 0..DIRS {
            let last = &rec.steps[d][Walk::<STEPS>::of(d).last()];
            s.h[d] = SVector::from(last[HS]);
            s.c[d] = SVector::from(last[C]);
        }
        s
    }

    /// The bias added to the input projections: `b_ih + b_hh` for every gate.
    fn bias(dir: &Direction<T, IN, H, 4>) -> [[T; H]; 4] {
        let mut b = dir.bias_ih;
        for (b, c) in b
            .as_flattened_mut()
            .iter_mut()
            .zip(dir.bias_hh.as_flattened())
        {
            *b += *c;
        }
        b
    }

    /// Runs direction `d` through time from `(h, c)`, leaving the final state there. Step
    /// t's input projections are `buf[t·ld ..][.. 4H]`; with `RECORD`, each step's slot is
    /// then overwritten with its gates, c and h.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn run<V: Width, const RECORD: bool>(
        dir: &Direction<T, IN, H, 4>,
        d: usize,
        buf: &mut [T],
        ld: usize,
        h: &mut [T; H],
        c: &mut [T; H],
        y: &mut [T],
    ) {
        let walk = Walk::<STEPS>::of(d);
        // W_hh · 0 is zero: from a zero state the first step's gates are its projections.
        let mut zero = h.iter().all(|&v| v == T::zero());
        for k in 0..STEPS {
            let t = walk.step(k);
            let slot = &mut buf[t * ld..][..ld];
            let mut a = [[T::zero(); H]; 4];
            for (g, a) in a.iter_mut().enumerate() {
                let p = &slot[g * H..][..H];
                if zero {
                    a.copy_from_slice(p);
                } else {
                    if H.is_multiple_of(8) {
                        gemv_bias::<V, T, H, H>(dir.w_hh(g), p, h, a);
                    } else {
                        dense_forward::<V, T, H, H>(dir.w_hh(g), Some(p), h, a);
                    }
                }
            }
            zero = false;
            // i and f are contiguous.
            sigmoid(&mut a.as_flattened_mut()[..2 * H]);
            tanh(&mut a[2]);
            sigmoid(&mut a[3]);
            let [ai, af, ag, ao] = &a;
            for j in 0..H {
                c[j] = af[j] * c[j] + ai[j] * ag[j];
            }
            let mut tc = *c;
            tanh(&mut tc);
            for j in 0..H {
                h[j] = ao[j] * tc[j];
            }
            if let Some(at) = out_at::<STEPS, H, DIRS, SEQ>(t, d) {
                y[at..at + H].copy_from_slice(h);
            }
            if RECORD {
                slot[..4 * H].copy_from_slice(a.as_flattened());
                slot[C * H..][..H].copy_from_slice(c);
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
    > Zeros for Lstm<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Lstm {
            dirs: core::array::from_fn(|_| Direction::zeros()),
        }
    }
}

recurrent_params!(4, Lstm<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>);

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > Layer<T> for Lstm<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    type Input = SVector<T, XLEN>;
    type Output = SVector<T, YLEN>;
    type Record = LstmRecord<T, STEPS, H, DIRS>;
    type Grad = Self;
    const KIND: &'static str = "lstm";
    const MACS: usize = DIRS * STEPS * 4 * H * (IN + H);
    /// Forward's input projections and transposed input, or backward's gate gradients.
    const SCRATCH_BYTES: usize = STEPS * (4 * H + IN) * T::BYTES;

    fn forward(&self, x: &SVector<T, XLEN>, y: &mut SVector<T, YLEN>) {
        self.forward_from(x, &LstmState::zeros(), y, &mut LstmState::zeros());
    }

    fn forward_train(
        &mut self,
        x: &SVector<T, XLEN>,
        y: &mut SVector<T, YLEN>,
        rec: &mut LstmRecord<T, STEPS, H, DIRS>,
    ) {
        self.forward_train_from(x, &LstmState::zeros(), y, rec);
    }

    fn backward(
        &self,
        x: &SVector<T, XLEN>,
        _y: &SVector<T, YLEN>,
        rec: &LstmRecord<T, STEPS, H, DIRS>,
        dy: &SVector<T, YLEN>,
        dx: Option<&mut SVector<T, XLEN>>,
        grad: &mut Self,
    ) {
        simd::dispatch!(self.backward_at | backward_avx2 | backward_avx512(x, rec, dy, dx, grad));
    }
}

/// ONNX's `LSTM`, gates reordered from PyTorch's i, f, g, o to ONNX's i, o, f, c.
impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > crate::onnx::ToOnnx<T> for Lstm<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        super::onnx(&self.dirs, g, site, ("LSTM", &[0, 3, 1, 2], SEQ), &[]);
    }
}
