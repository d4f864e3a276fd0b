//! The plain (Elman) recurrent layer, PyTorch's `nn.RNN` for one layer:
//!
//! ```text
//! h' = φ(W_ih x_t + b_ih + W_hh h + b_hh)        φ = tanh, or ReLU with `RELU = true`
//! ```
//!
//! Backward, with δh = ∂L/∂h': δ = δh ⊙ φ'(h') (1 − h'² for tanh, [h' > 0] for ReLU, both
//! read from the output), ∂L/∂h = W_hhᵀ δ. See [the module docs](super) for shapes,
//! directions and the state API.

use super::math::{gemv_bias, gemv_t_add, relu, tanh};
use super::{
    add_dy, check_sizes, out_at, project, recurrent_params, recurrent_weight_grad, to_array,
    transposed, Deltas, Direction, HiddenState, Walk,
};
use crate::kernels::dense_forward;
use crate::simd::{self, Width};
use crate::{Layer, Scalar, Zeros};
use nalgebra::SVector;

/// A plain recurrent layer over `STEPS` steps of `IN` features with `H` hidden units, in
/// `DIRS` directions; see the [module docs](self) for the equation.
///
/// Generic parameters, in order, as for [`Lstm`](super::Lstm) plus the nonlinearity:
/// - `T`: the scalar;
/// - `STEPS`: time steps of the input sequence;
/// - `IN`: features per step;
/// - `H`: hidden units (PyTorch's `hidden_size`);
/// - `DIRS`: 1, or 2 for bidirectional;
/// - `SEQ`: `true` to output every step's hidden state (`[STEPS, DIRS·H]`), `false` for the
///   final state of each direction only (`[DIRS·H]`);
/// - `XLEN = STEPS·IN` and `YLEN = STEPS·DIRS·H` (with `SEQ`) or `DIRS·H` (without), checked
///   by a `const` assertion;
/// - `RELU`: `false` (the default) for PyTorch's `nonlinearity='tanh'`, `true` for `'relu'`.
///
/// ```
/// use stacknet_runtime::layers::Rnn;
/// use stacknet_runtime::nalgebra::SVector;
/// use stacknet_runtime::{Layer, Params};
///
/// // T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU
/// type R = Rnn<f32, 5, 2, 4, 1, true, 10, 20, true>;
/// let mut rnn = <R as stacknet_runtime::Zeros>::zeros();
/// rnn.tensor_mut(2).fill(1.0); // bias_ih_l0
/// let mut y = SVector::<f32, 20>::zeros();
/// rnn.forward(&SVector::zeros(), &mut y);
/// // W = 0: every step is relu(b_ih + b_hh) = 1.
/// assert!(y.iter().all(|&v| v == 1.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Rnn<
    T: Scalar,
    const STEPS: usize,
    const IN: usize,
    const H: usize,
    const DIRS: usize,
    const SEQ: bool,
    const XLEN: usize,
    const YLEN: usize,
    const RELU: bool = false,
> {
    /// The forward direction's parameters, then the reverse direction's.
    pub dirs: [Direction<T, IN, H, 1>; DIRS],
}

/// What an RNN's training forward keeps: per direction the hidden state of every step (in
/// time order), and the initial one. `DIRS·H·(STEPS + 1)` values.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnRecord<T, const STEPS: usize, const H: usize, const DIRS: usize> {
    steps: [[[T; H]; STEPS]; DIRS],
    init: [[T; H]; DIRS],
}

impl<T: Scalar, const STEPS: usize, const H: usize, const DIRS: usize> Zeros
    for RnnRecord<T, STEPS, H, DIRS>
{
    fn zeros() -> Self {
        RnnRecord {
            steps: [[[T::zero(); H]; STEPS]; DIRS],
            init: [[T::zero(); H]; DIRS],
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
        const RELU: bool,
    > Rnn<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU>
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
            let mut proj = [[T::zero(); H]; STEPS];
            let proj = proj.as_flattened_mut();
            project::<V, T, STEPS, IN, H, 1>(&dir.weight_ih, &Self::bias(dir), &xt, proj, H);
            let mut h = to_array(&state.h[d]);
            Self::run::<V, false>(dir, d, proj, &mut h, y.as_mut_slice());
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
        rec: &mut RnnRecord<T, STEPS, H, DIRS>,
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
        rec: &mut RnnRecord<T, STEPS, H, DIRS>,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let xt = transposed::<T, STEPS, IN>(x.as_slice());
        for (d, dir) in self.dirs.iter().enumerate() {
            let mut h = to_array(&state.h[d]);
            rec.init[d] = h;
            let buf = rec.steps[d].as_flattened_mut();
            project::<V, T, STEPS, IN, H, 1>(&dir.weight_ih, &Self::bias(dir), &xt, buf, H);
            Self::run::<V, true>(dir, d, buf, &mut h, y.as_mut_slice());
        }
    }

    simd::target_copies! {
        /// [`forward_train_from_at`](Self::forward_train_from_at) compiled for AVX2 or AVX-512.
        fn forward_train_from_avx2, forward_train_from_avx512 = forward_train_from_at(&self, x: &SVector<T, XLEN>, state: &HiddenState<T, H, DIRS>, y: &mut SVector<T, YLEN>, rec: &mut RnnRecord<T, STEPS, H, DIRS>);
    }

    /// [`Layer::backward`] at a width `V`.
    #[inline(always)]
    fn backward_at<V: Width>(
        &self,
        x: &SVector<T, XLEN>,
        rec: &RnnRecord<T, STEPS, H, DIRS>,
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
            // Per step (time order): δ, the gradient of the pre-activation.
            let mut dg = [[T::zero(); H]; STEPS];
            let mut dh = [T::zero(); H];
            for k in (0..STEPS).rev() {
                let t = walk.step(k);
                add_dy::<T, STEPS, H, DIRS, SEQ>(dy, t, d, &mut dh);
                for ((g, &dh), &h) in dg[t].iter_mut().zip(&dh).zip(&steps[t]) {
                    *g = if RELU {
                        if h > T::zero() {
                            dh
                        } else {
                            T::zero()
                        }
                    } else {
                        dh * (T::one() - h * h)
                    };
                }
                if k > 0 {
                    dh = [T::zero(); H];
                    gemv_t_add::<T, H, H>(dir.w_hh(0), &dg[t], &mut dh);
                }
            }
            let deltas = Deltas {
                dg: dg.as_flattened(),
                ld: H,
            };
            let gw_ih = gd.weight_ih.as_flattened_mut().as_flattened_mut();
            deltas.weight_grad::<V, STEPS, IN>(STEPS, 0, 0, H, x.as_slice(), |t| t * IN, gw_ih);
            let gw_hh = gd.weight_hh.as_flattened_mut().as_flattened_mut();
            let rec_flat = steps.as_flattened();
            let h0 = &rec.init[d];
            recurrent_weight_grad::<V, T, STEPS, H>(
                &deltas,
                walk,
                0,
                H,
                rec_flat,
                |s| s * H,
                h0,
                gw_hh,
            );
            deltas.bias_grad::<STEPS>(0, gd.bias_ih.as_flattened_mut());
            deltas.bias_grad::<STEPS>(0, gd.bias_hh.as_flattened_mut());
            if let Some(dx) = dx.as_deref_mut() {
                deltas.input_grad::<V, STEPS, IN, H>(0, &dir.weight_ih[0], dx.as_mut_slice());
            }
        }
    }

    simd::target_copies! {
        /// [`backward_at`](Self::backward_at) compiled for AVX2 or AVX-512.
        fn backward_avx2, backward_avx512 = backward_at(&self, x: &SVector<T, XLEN>, rec: &RnnRecord<T, STEPS, H, DIRS>, dy: &SVector<T, YLEN>, dx: Option<&mut SVector<T, XLEN>>, grad: &mut Self);
    }

    /// The state a training forward ended in: each direction's h after its last step (the
    /// forward direction's at the last time step, the reverse one's at step 0).
    pub fn final_state(rec: &RnnRecord<T, STEPS, H, DIRS>) -> HiddenState<T, H, DIRS> {
        let mut s = HiddenState::zeros();
        for d in 0..DIRS {
            s.h[d] = SVector::from(rec.steps[d][Walk::<STEPS>::of(d).last()]);
        }
        s
    }

    /// `b_ih + b_hh`, added to the input projections.
    fn bias(dir: &Direction<T, IN, H, 1>) -> [[T; H]; 1] {
        let mut b = dir.bias_ih;
        for (b, &c) in b[0].iter_mut().zip(&dir.bias_hh[0]) {
            *b += c;
        }
        b
    }

    /// Runs direction `d` through time from `h`, leaving the final state there. Step t's
    /// input projection is `buf[t·H ..][.. H]`; with `RECORD` it is then overwritten with
    /// the step's h.
    #[inline(always)]
    fn run<V: Width, const RECORD: bool>(
        dir: &Direction<T, IN, H, 1>,
        d: usize,
        buf: &mut [T],
        h: &mut [T; H],
        y: &mut [T],
    ) {
        let walk = Walk::<STEPS>::of(d);
        let mut zero = h.iter().all(|&v| v == T::zero());
        for k in 0..STEPS {
            let t = walk.step(k);
            let slot = &mut buf[t * H..][..H];
            if zero {
                h.copy_from_slice(slot);
            } else {
                let prev = *h;
                if H.is_multiple_of(8) {
                    gemv_bias::<V, T, H, H>(dir.w_hh(0), slot, &prev, h);
                } else {
                    dense_forward::<V, T, H, H>(dir.w_hh(0), Some(&*slot), &prev, h);
                }
            }
            zero = false;
            if RELU {
                relu(h);
            } else {
                tanh(h);
            }
            if let Some(at) = out_at::<STEPS, H, DIRS, SEQ>(t, d) {
                y[at..at + H].copy_from_slice(h);
            }
            if RECORD {
                slot.copy_from_slice(h);
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
        const RELU: bool,
    > Zeros for Rnn<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Rnn {
            dirs: core::array::from_fn(|_| Direction::zeros()),
        }
    }
}

recurrent_params!(1, Rnn<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU>, const RELU: bool);

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
        const RELU: bool,
    > Layer<T> for Rnn<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU>
{
    type Input = SVector<T, XLEN>;
    type Output = SVector<T, YLEN>;
    type Record = RnnRecord<T, STEPS, H, DIRS>;
    type Grad = Self;
    const KIND: &'static str = "rnn";
    const MACS: usize = DIRS * STEPS * H * (IN + H);
    /// Forward's input projections and transposed input, or backward's gradients.
    const SCRATCH_BYTES: usize = STEPS * (H + IN) * T::BYTES;

    fn forward(&self, x: &SVector<T, XLEN>, y: &mut SVector<T, YLEN>) {
        self.forward_from(x, &HiddenState::zeros(), y, &mut HiddenState::zeros());
    }

    fn forward_train(
        &mut self,
        x: &SVector<T, XLEN>,
        y: &mut SVector<T, YLEN>,
        rec: &mut RnnRecord<T, STEPS, H, DIRS>,
    ) {
        self.forward_train_from(x, &HiddenState::zeros(), y, rec);
    }

    fn backward(
        &self,
        x: &SVector<T, XLEN>,
        _y: &SVector<T, YLEN>,
        rec: &RnnRecord<T, STEPS, H, DIRS>,
        dy: &SVector<T, YLEN>,
        dx: Option<&mut SVector<T, XLEN>>,
        grad: &mut Self,
    ) {
        simd::dispatch!(self.backward_at | backward_avx2 | backward_avx512(x, rec, dy, dx, grad));
    }
}

/// ONNX's `RNN` with tanh or ReLU in each direction.
impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
        const RELU: bool,
    > crate::onnx::ToOnnx<T> for Rnn<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let f = if RELU { "Relu" } else { "Tanh" };
        let activations = [crate::onnx::Attr::Strs("activations", &[f, f][..DIRS])];
        super::onnx(&self.dirs, g, site, ("RNN", &[0], SEQ), &activations);
    }
}
