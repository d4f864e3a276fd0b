//! Recurrent layers over a fixed number of steps, with PyTorch's equations, parameter names
//! and layouts: [`Rnn`] (tanh or ReLU), [`Gru`] and [`Lstm`], one or two directions.
//!
//! **Shapes.** The input is a `[STEPS, IN]` sequence, flat and step-major (`x[t·IN + i]` is
//! feature i of step t: PyTorch's `batch_first` layout for one sample). With `SEQ = true` the
//! output is every step's hidden state, `[STEPS, DIRS·H]` step-major, each step holding the
//! forward direction's h_t then the backward direction's (PyTorch's `output`); with
//! `SEQ = false` it is the final state of each direction, `[DIRS·H]`: the forward direction's
//! h after the last step, then the backward direction's h after it has read step 0 (what
//! PyTorch's `h_n` holds, and what Keras's `Bidirectional` returns).
//!
//! **Parameters.** Per direction, in PyTorch's `state_dict` order: `weight_ih_l0 [G·H, IN]`,
//! `weight_hh_l0 [G·H, H]`, `bias_ih_l0 [G·H]`, `bias_hh_l0 [G·H]`, then the same with
//! `_reverse` for the backward direction; G = 1, 3, 4 gates for RNN, GRU, LSTM, in PyTorch's
//! gate order. [`Direction`] stores them gate by gate as nested arrays whose memory is
//! PyTorch's row-major layout, so every tensor is one contiguous slice.
//!
//! **Computation.** Forward first computes the input projections of all steps as one matrix
//! product, `P = X · W_ihᵀ + b` (`STEPS × G·H`, with `b_hh` folded in wherever PyTorch adds
//! it outside a gate product), then runs the recurrence, one `W_hh · h` product per step.
//! Training forward writes the projections straight into the record, where each step's slot
//! is then overwritten with that step's gates and states. Backward runs through time in the
//! opposite order, keeping per step only what the recurrence needs (`∂L/∂h` and, for LSTM,
//! `∂L/∂c`, and `W_hhᵀ δ`), and stores every step's gate gradient δ; the weight gradients are
//! then matrix products over all steps at once: `∂L/∂W_ih += Δᵀ X`,
//! `∂L/∂W_hh += Δᵀ H_prev`, the biases the column sums of Δ, and `∂L/∂X = Δ · W_ih`.
//!
//! **State.** The [`Layer`](crate::Layer) methods start every direction from zeros. For
//! truncated backpropagation through time over a long series (adjacent sampling), each type
//! has `forward_from` and `forward_train_from`, which start from a given state (one per
//! direction, as PyTorch's `h_0` holds both) and end in the final one, read back with
//! `final_state`. Backward treats the initial state as a constant: the graph is cut there
//! (PyTorch's `h.detach()`).

mod carry;
pub mod gru;
pub mod lstm;
mod math;
pub mod rnn;
/// ONNX's `RNN`, `GRU` or `LSTM` node (`op`) for directions `dirs`, time-major (`layout`
/// 0 between `Transpose`s): `W [dirs, G·H, IN]`, `R [dirs, G·H, H]` and `B [dirs, 2·G·H]` with the gates
/// taken in ONNX's order (`order[k]` is PyTorch's index of ONNX's gate k: LSTM iofc from
/// ifgo, GRU zrh from rzn), then `Y` (every step) or `Y_h` (the final states), batch first,
/// reshaped to the layer's output.
pub(crate) fn onnx<
    T: Scalar,
    const IN: usize,
    const H: usize,
    const G: usize,
    const DIRS: usize,
>(
    dirs: &[Direction<T, IN, H, G>; DIRS],
    g: &mut dyn crate::onnx::Graph<T>,
    site: &crate::onnx::Site<'_>,
    (op, order, sequences): (&str, &[usize; G], bool),
    attrs: &[crate::onnx::Attr<'_>],
) {
    use crate::onnx::{Attr, Name};
    let (w, r, b) = (site.of("W"), site.of("R"), site.of("B"));
    let (parts, n) = gates(dirs, order, 1, |d, k| d.weight_ih[k].as_flattened());
    g.tensor(w, &[DIRS, G * H, IN], &parts[..n]);
    let (parts, n) = gates(dirs, order, 1, |d, k| d.weight_hh[k].as_flattened());
    g.tensor(r, &[DIRS, G * H, H], &parts[..n]);
    // Per direction: the input biases, then the hidden ones (k ≥ G picks bias_hh).
    let (parts, n) = gates(dirs, order, 2, |d, k| {
        if k < G {
            &d.bias_ih[k][..]
        } else {
            &d.bias_hh[k - G][..]
        }
    });
    g.tensor(b, &[DIRS, 2 * G * H], &parts[..n]);
    let direction = if DIRS == 2 {
        "bidirectional"
    } else {
        "forward"
    };
    let mut all = [Attr::Int("hidden_size", H as i64); 5];
    all[1] = Attr::Str("direction", direction);
    all[2..2 + attrs.len()].copy_from_slice(attrs);
    // Time-major, as onnxruntime runs these nodes (it refuses `layout` 1): the sequence
    // `[N, steps, in]` goes in as `[steps, N, in]`.
    let (x, y, y_h, batch_first) = (
        site.of("X"),
        site.of("Y"),
        site.of("Y_h"),
        site.of("batch_first"),
    );
    g.node(
        "Transpose",
        &[site.input],
        &[x],
        &[Attr::Ints("perm", &[1, 0, 2])],
    );
    // `Y [steps, dirs, N, H]` or `Y_h [dirs, N, H]`, batch first again, then flattened.
    let (outputs, perm): ([Name<'_>; 2], &[i64]) = if sequences {
        ([y, Name::Absent], &[2, 0, 1, 3])
    } else {
        ([Name::Absent, y_h], &[1, 0, 2])
    };
    g.node(op, &[x, w, r, b], &outputs, &all[..2 + attrs.len()]);
    let kept = if sequences { y } else { y_h };
    g.node(
        "Transpose",
        &[kept],
        &[batch_first],
        &[Attr::Ints("perm", perm)],
    );
    crate::onnx::reshape(
        g,
        &crate::onnx::Site {
            input: batch_first,
            ..*site
        },
    );
}

/// Per direction, `halves` runs over ONNX's gate order of `take(direction, k)`, where `k` is
/// `half·G + PyTorch's gate index`: up to 2 directions × 2 halves × 4 gates slices.
fn gates<'a, T, const IN: usize, const H: usize, const G: usize, const DIRS: usize>(
    dirs: &'a [Direction<T, IN, H, G>; DIRS],
    order: &[usize; G],
    halves: usize,
    take: impl Fn(&'a Direction<T, IN, H, G>, usize) -> &'a [T],
) -> ([&'a [T]; 16], usize) {
    let mut parts: [&[T]; 16] = [&[]; 16];
    let mut n = 0;
    for d in dirs {
        for half in 0..halves {
            for &gate in order {
                parts[n] = take(d, half * G + gate);
                n += 1;
            }
        }
    }
    (parts, n)
}

#[cfg(test)]
mod tests;

pub use gru::{Gru, GruRecord};
pub use lstm::{Lstm, LstmRecord, LstmState};
pub use rnn::{Rnn, RnnRecord};

use crate::kernels::{gemm_nn, gemm_nn_part, transpose, AddAt, Start, StoreAcross};
use crate::simd::Width;
use crate::{Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::SVector;

/// The state of an [`Rnn`] or a [`Gru`]: the hidden state `h` of each direction (PyTorch's
/// `h_0` and `h_n`, direction-major).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HiddenState<T: Scalar, const H: usize, const DIRS: usize> {
    /// The hidden state per direction: forward first, then reverse if bidirectional.
    pub h: [SVector<T, H>; DIRS],
}

impl<T: Scalar, const H: usize, const DIRS: usize> Zeros for HiddenState<T, H, DIRS> {
    fn zeros() -> Self {
        HiddenState {
            h: [SVector::zeros(); DIRS],
        }
    }
}

/// A state vector as an array.
#[inline(always)]
fn to_array<T: Scalar, const H: usize>(v: &SVector<T, H>) -> [T; H] {
    let mut a = [T::zero(); H];
    a.copy_from_slice(v.as_slice());
    a
}

/// The parameters of one direction of a recurrent layer with `G` gates of `H` units.
///
/// Each field is PyTorch's tensor split by gate: `weight_ih[g][j]` is row `g·H + j` of
/// `weight_ih_l0 [G·H, IN]`, and the nested arrays lie in memory exactly as PyTorch's
/// row-major tensors do.
#[derive(Clone, Debug, PartialEq)]
pub struct Direction<T, const IN: usize, const H: usize, const G: usize> {
    /// `weight_ih_l0`, `[G·H, IN]`.
    pub weight_ih: [[[T; IN]; H]; G],
    /// `weight_hh_l0`, `[G·H, H]`.
    pub weight_hh: [[[T; H]; H]; G],
    /// `bias_ih_l0`, `[G·H]`.
    pub bias_ih: [[T; H]; G],
    /// `bias_hh_l0`, `[G·H]`.
    pub bias_hh: [[T; H]; G],
}

impl<T: Scalar, const IN: usize, const H: usize, const G: usize> Zeros for Direction<T, IN, H, G> {
    fn zeros() -> Self {
        Direction {
            weight_ih: [[[T::zero(); IN]; H]; G],
            weight_hh: [[[T::zero(); H]; H]; G],
            bias_ih: [[T::zero(); H]; G],
            bias_hh: [[T::zero(); H]; G],
        }
    }
}

impl<T: Scalar, const IN: usize, const H: usize, const G: usize> Direction<T, IN, H, G> {
    /// Tensor `k < 4` as one slice, in PyTorch's layout.
    fn tensor(&self, k: usize) -> &[T] {
        match k {
            0 => self.weight_ih.as_flattened().as_flattened(),
            1 => self.weight_hh.as_flattened().as_flattened(),
            2 => self.bias_ih.as_flattened(),
            _ => self.bias_hh.as_flattened(),
        }
    }

    fn tensor_mut(&mut self, k: usize) -> &mut [T] {
        match k {
            0 => self.weight_ih.as_flattened_mut().as_flattened_mut(),
            1 => self.weight_hh.as_flattened_mut().as_flattened_mut(),
            2 => self.bias_ih.as_flattened_mut(),
            _ => self.bias_hh.as_flattened_mut(),
        }
    }

    /// Gate `g`'s rows of `weight_hh`, flat.
    #[inline(always)]
    fn w_hh(&self, g: usize) -> &[T] {
        self.weight_hh[g].as_flattened()
    }
}

/// Tensor `i` of a layer's directions: `i / 4` is the direction, `i % 4` the tensor.
fn dirs_tensor<T: Scalar, const IN: usize, const H: usize, const G: usize>(
    dirs: &[Direction<T, IN, H, G>],
    i: usize,
) -> &[T] {
    dirs.get(i / 4).map_or(&[], |d| d.tensor(i % 4))
}

fn dirs_tensor_mut<T: Scalar, const IN: usize, const H: usize, const G: usize>(
    dirs: &mut [Direction<T, IN, H, G>],
    i: usize,
) -> &mut [T] {
    match dirs.get_mut(i / 4) {
        Some(d) => d.tensor_mut(i % 4),
        None => &mut [],
    }
}

/// PyTorch's names of the eight tensors of a bidirectional layer, in `state_dict` order.
const NAMES: [&str; 8] = [
    "weight_ih_l0",
    "weight_hh_l0",
    "bias_ih_l0",
    "bias_hh_l0",
    "weight_ih_l0_reverse",
    "weight_hh_l0_reverse",
    "bias_ih_l0_reverse",
    "bias_hh_l0_reverse",
];

/// Name, shape and kind of tensor `i` of a layer with `G` gates. The fans are PyTorch's for
/// the weights (`[G·H, IN]`: fan-in IN, fan-out G·H) and the matching weight's for each bias.
fn info(i: usize, inputs: usize, hidden: usize, gates: usize) -> TensorInfo {
    let rows = gates * hidden;
    let cols = if i.is_multiple_of(2) { inputs } else { hidden };
    let (shape, kind) = if i % 4 < 2 {
        (Shape::matrix(rows, cols), TensorKind::Weight)
    } else {
        (Shape::vector(rows), TensorKind::Bias)
    };
    TensorInfo {
        layer: "",
        name: NAMES[i % 8],
        shape,
        kind,
        fan_in: cols,
        fan_out: rows,
    }
}

/// Implements [`Params`](crate::Params) for a recurrent layer type over its `dirs` field.
macro_rules! recurrent_params {
    ($gates:literal, $ty:ident < $($p:ident),* > $(, const $extra:ident: $et:ty)*) => {
        impl<
                T: Scalar,
                const STEPS: usize,
                const IN: usize,
                const H: usize,
                const DIRS: usize,
                const SEQ: bool,
                const XLEN: usize,
                const YLEN: usize
                $(, const $extra: $et)*
            > crate::Params<T> for $ty<$($p),*>
        {
            const TENSORS: usize = 4 * DIRS;
            const LEN: usize = DIRS * $gates * H * (IN + H + 2);
            fn tensor(&self, i: usize) -> &[T] {
                super::dirs_tensor(&self.dirs, i)
            }
            fn tensor_mut(&mut self, i: usize) -> &mut [T] {
                super::dirs_tensor_mut(&mut self.dirs, i)
            }
            fn tensor_info(i: usize) -> crate::TensorInfo {
                super::info(i, IN, H, $gates)
            }
        }
    };
}
use recurrent_params;

/// The relations between a recurrent layer's sizes, checked at compile time.
const fn check_sizes(
    steps: usize,
    inputs: usize,
    hidden: usize,
    dirs: usize,
    seq: bool,
    xlen: usize,
    ylen: usize,
) {
    assert!(steps > 0, "recurrent layer: `STEPS` must be positive");
    assert!(inputs > 0, "recurrent layer: `IN` must be positive");
    assert!(
        hidden > 0,
        "recurrent layer: the hidden size `H` must be positive"
    );
    assert!(
        dirs == 1 || dirs == 2,
        "recurrent layer: `DIRS` must be 1 (forward) or 2 (bidirectional)"
    );
    assert!(
        xlen == steps * inputs,
        "recurrent layer: `XLEN` must be `STEPS·IN`"
    );
    if seq {
        assert!(
            ylen == steps * dirs * hidden,
            "recurrent layer: with `SEQ = true`, `YLEN` must be `STEPS·DIRS·H`"
        );
    } else {
        assert!(
            ylen == dirs * hidden,
            "recurrent layer: with `SEQ = false`, `YLEN` must be `DIRS·H`"
        );
    }
}

/// How one direction walks through time: the forward direction from step 0, the reverse
/// one from the last step.
#[derive(Clone, Copy)]
struct Walk<const STEPS: usize> {
    reverse: bool,
}

impl<const STEPS: usize> Walk<STEPS> {
    fn of(d: usize) -> Self {
        Walk { reverse: d == 1 }
    }
    /// The time step processed `k`-th.
    #[inline(always)]
    fn step(self, k: usize) -> usize {
        if self.reverse {
            STEPS - 1 - k
        } else {
            k
        }
    }
    /// The step processed before step `t` (`None` for the first one, which reads the
    /// initial state).
    #[inline(always)]
    fn prev(self, t: usize) -> Option<usize> {
        if self.reverse {
            (t + 1 < STEPS).then_some(t + 1)
        } else {
            t.checked_sub(1)
        }
    }
    /// The step processed last, whose state is the direction's final state.
    #[inline(always)]
    fn last(self) -> usize {
        self.step(STEPS - 1)
    }
}

/// Where step `t` of direction `d` goes in the output, if it goes anywhere: every step with
/// `SEQ`, else only the direction's last.
#[inline(always)]
fn out_at<const STEPS: usize, const H: usize, const DIRS: usize, const SEQ: bool>(
    t: usize,
    d: usize,
) -> Option<usize> {
    if SEQ {
        Some((t * DIRS + d) * H)
    } else {
        (t == Walk::<STEPS>::of(d).last()).then_some(d * H)
    }
}

/// `xt = xᵀ`: the `[STEPS, IN]` input as `IN × STEPS`, each feature's steps contiguous (the
/// columns of the projection product's left factor).
#[inline]
fn transposed<T: Scalar, const STEPS: usize, const IN: usize>(x: &[T]) -> [[T; STEPS]; IN] {
    let mut xt = [[T::zero(); STEPS]; IN];
    transpose::<T, STEPS, IN>(x, xt.as_flattened_mut());
    xt
}

/// The input projections of every step: `out[t·ld + r] = bias[r] + Σ_i W_ih[r, i] x[t, i]`
/// for the `G·H` gate rows `r`, one matrix product `X · W_ihᵀ` over all steps.
#[inline]
fn project<
    V: Width,
    T: Scalar,
    const STEPS: usize,
    const IN: usize,
    const H: usize,
    const G: usize,
>(
    w_ih: &[[[T; IN]; H]; G],
    bias: &[[T; H]; G],
    xt: &[[T; STEPS]; IN],
    out: &mut [T],
    ld: usize,
) {
    // A = X (STEPS × IN, column i = feature i over the steps), B(i, r) = W_ih[r, i].
    gemm_nn_part::<V, T, IN>(
        STEPS,
        IN,
        G * H,
        xt.as_flattened(),
        |i| i * STEPS,
        w_ih.as_flattened().as_flattened(),
        1,
        IN,
        Start::Columns(bias.as_flattened()),
        &mut StoreAcross { out, ld, at: 0 },
    );
}

/// Backward's products over all steps of one direction, for the gate gradients
/// `Δ[t] = dg[t·ld ..]` of one weight matrix's rows.
struct Deltas<'a, T> {
    dg: &'a [T],
    ld: usize,
}

impl<T: Scalar> Deltas<'_, T> {
    /// `gw[r·K + k] += Σ_q Δ[q + from][col0 + r] · a[acol(q) + k]` for `r < rows`, `k < K`,
    /// `q < n`: a weight gradient `Δᵀ A` over `n ≤ STEPS` steps, `A`'s row for step q the
    /// contiguous run at `acol(q)`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn weight_grad<V: Width, const STEPS: usize, const K: usize>(
        &self,
        n: usize,
        from: usize,
        col0: usize,
        rows: usize,
        a: &[T],
        acol: impl Fn(usize) -> usize,
        gw: &mut [T],
    ) {
        if n == 0 {
            return;
        }
        // C = Aᵀ · Δ (K × rows, column-major = gw's row-major [rows, K]).
        gemm_nn_part::<V, T, STEPS>(
            K,
            n,
            rows,
            a,
            acol,
            &self.dg[from * self.ld + col0..],
            self.ld,
            1,
            Start::Zero,
            &mut AddAt {
                out: gw,
                offs: |r: usize| r * K,
            },
        );
    }

    /// `gb[r] += Σ_t Δ[t][col0 + r]` for `r < gb.len()`.
    #[inline]
    fn bias_grad<const STEPS: usize>(&self, col0: usize, gb: &mut [T]) {
        for t in 0..STEPS {
            let d = &self.dg[t * self.ld + col0..][..gb.len()];
            for (g, &d) in gb.iter_mut().zip(d) {
                *g += d;
            }
        }
    }

    /// `dx[t·IN + i] += Σ_r W[r, i] Δ[t][col0 + r]`: the input gradient through one gate's
    /// `H` rows of `weight_ih`.
    #[inline]
    fn input_grad<V: Width, const STEPS: usize, const IN: usize, const H: usize>(
        &self,
        col0: usize,
        w: &[[T; IN]; H],
        dx: &mut [T],
    ) {
        // Dxᵀ (IN × STEPS) = W_gᵀ (IN × H, column r = row r of W) · Δ_gᵀ.
        gemm_nn::<V, T, H, STEPS>(
            IN,
            w.as_flattened(),
            |r| r * IN,
            &self.dg[col0..],
            1,
            self.ld,
            Start::Zero,
            &mut AddAt {
                out: dx,
                offs: |t: usize| t * IN,
            },
        );
    }
}

/// The recurrent weight gradient of one direction: `∂L/∂W_hh[r, j] += Σ_t Δ[t][col0 + r] ·
/// h_prev(t)[j]` over the `rows` rows, where `h_prev(t)` is the state the step before `t`
/// left (read from the record at `hcol(s)` for the state of step `s`) or `h0` for the first
/// step.
#[allow(clippy::too_many_arguments)]
#[inline]
fn recurrent_weight_grad<V: Width, T: Scalar, const STEPS: usize, const H: usize>(
    deltas: &Deltas<'_, T>,
    walk: Walk<STEPS>,
    col0: usize,
    rows: usize,
    rec: &[T],
    hcol: impl Fn(usize) -> usize,
    h0: &[T; H],
    gw: &mut [T],
) {
    // Pairs q < STEPS − 1: forward, Δ[q + 1] with h[q]; reverse, Δ[q] with h[q + 1].
    let (from, shift) = if walk.reverse { (0, 1) } else { (1, 0) };
    deltas.weight_grad::<V, STEPS, H>(STEPS - 1, from, col0, rows, rec, |q| hcol(q + shift), gw);
    // The first step's pair with the initial state, zero unless a state was carried in.
    if h0.iter().any(|&v| v != T::zero()) {
        let t0 = walk.step(0);
        let d = &deltas.dg[t0 * deltas.ld + col0..][..rows];
        for (gr, &d) in gw.chunks_exact_mut(H).zip(d) {
            for (g, &h) in gr.iter_mut().zip(h0) {
                *g += d * h;
            }
        }
    }
}

/// The dy of direction `d`'s hidden state at step `t`, if the output holds that state.
#[inline(always)]
fn add_dy<T: Scalar, const STEPS: usize, const H: usize, const DIRS: usize, const SEQ: bool>(
    dy: &[T],
    t: usize,
    d: usize,
    dh: &mut [T; H],
) {
    if let Some(at) = out_at::<STEPS, H, DIRS, SEQ>(t, d) {
        for (a, &b) in dh.iter_mut().zip(&dy[at..at + H]) {
            *a += b;
        }
    }
}
