//! Gradient checking: backward's gradients against central finite differences,
//! ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε, in `f64`.
//!
//! The error of one entry is |analytic − numeric| / max(|analytic|, |numeric|, 10⁻³): relative
//! where the gradient is large, absolute below 10⁻³, where finite differences themselves are
//! only accurate to about ε² plus rounding.

use crate::loss::Loss;
use crate::rng::uniform_sym;
use crate::{Flat, Layer, Network, Params, TensorInfo, Zeros};
use nalgebra::SVector;
use rand_core::RngCore;

/// Step of the central differences.
pub const EPS: f64 = 1e-6;
/// Largest error [`check_layer`] and [`check_loss`] accept.
pub const TOLERANCE: f64 = 1e-6;

/// Error of one gradient entry (see the module docs).
pub fn relative_error(analytic: f64, numeric: f64) -> f64 {
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(1e-3)
}

/// Σ r ⊙ f(x): a scalar objective whose gradient with respect to the output is r.
fn probe<L: Layer<f64> + Clone>(layer: &L, x: &L::Input, r: &L::Output) -> f64 {
    // A fresh clone each time, so stateful layers (a dropout RNG) repeat the same forward.
    let mut l = layer.clone();
    let mut y = L::Output::zeros();
    let mut rec = L::Record::zeros();
    l.forward_train(x, &mut y, &mut rec);
    y.flat().iter().zip(r.flat()).map(|(y, r)| y * r).sum()
}

/// Checks one layer's input and parameter gradients at a random input in [−1, 1] against
/// finite differences; panics naming the first entry whose error exceeds [`TOLERANCE`].
pub fn check_layer<L>(layer: &L, rng: &mut impl RngCore)
where
    L: Layer<f64> + Clone,
    L::Input: Flat<f64>,
{
    let mut x = L::Input::zeros();
    x.flat_mut()
        .iter_mut()
        .for_each(|v| *v = uniform_sym(rng, 1.0));
    let mut r = L::Output::zeros();
    r.flat_mut()
        .iter_mut()
        .for_each(|v| *v = uniform_sym(rng, 1.0));
    check_layer_at(layer, &x, &r);
}

/// [`check_layer`] at a given input `x` and output weighting `r`.
pub fn check_layer_at<L>(layer: &L, x: &L::Input, r: &L::Output)
where
    L: Layer<f64> + Clone,
    L::Input: Flat<f64>,
{
    let mut trained = layer.clone();
    let mut y = L::Output::zeros();
    let mut rec = L::Record::zeros();
    trained.forward_train(x, &mut y, &mut rec);
    let mut dx = L::Input::zeros();
    trained.backward(x, &y, &rec, r, Some(&mut dx), &mut L::Grad::zeros());

    for j in 0..x.flat().len() {
        let (mut hi, mut lo) = (x.clone(), x.clone());
        hi.flat_mut()[j] += EPS;
        lo.flat_mut()[j] -= EPS;
        let numeric = (probe(layer, &hi, r) - probe(layer, &lo, r)) / (2.0 * EPS);
        let err = relative_error(dx.flat()[j], numeric);
        assert!(
            err < TOLERANCE,
            "{}: input gradient [{j}]: backward {} vs finite differences {numeric} (error {err:e})",
            L::KIND,
            dx.flat()[j]
        );
    }
    check_layer_params_at(layer, x, r);
}

/// The parameter half of [`check_layer_at`], for layers whose input is not a vector of
/// numbers (an embedding's token ids): backward runs without `dx`.
pub fn check_layer_params_at<L: Layer<f64> + Clone>(layer: &L, x: &L::Input, r: &L::Output) {
    let mut trained = layer.clone();
    let mut y = L::Output::zeros();
    let mut rec = L::Record::zeros();
    trained.forward_train(x, &mut y, &mut rec);
    let mut grad = L::Grad::zeros();
    trained.backward(x, &y, &rec, r, None, &mut grad);
    for i in 0..L::TENSORS {
        for k in 0..layer.tensor(i).len() {
            let (mut hi, mut lo) = (layer.clone(), layer.clone());
            hi.tensor_mut(i)[k] += EPS;
            lo.tensor_mut(i)[k] -= EPS;
            let numeric = (probe(&hi, x, r) - probe(&lo, x, r)) / (2.0 * EPS);
            let analytic = grad.tensor(i)[k];
            let err = relative_error(analytic, numeric);
            assert!(
                err < TOLERANCE,
                "{}: {} [{k}]: backward {analytic} vs finite differences {numeric} (error {err:e})",
                L::KIND,
                L::tensor_info(i).name
            );
        }
    }
}

/// Checks a loss's gradient at `y` against finite differences; panics on a mismatch.
pub fn check_loss<L, const N: usize>(loss: &L, y: &SVector<f64, N>, target: &L::Target)
where
    L: Loss<f64, SVector<f64, N>>,
{
    let mut dy = SVector::zeros();
    let value = loss.value_and_grad(y, target, &mut dy);
    assert!(
        (value - loss.value(y, target)).abs() < 1e-12,
        "value_and_grad disagrees with value"
    );
    for j in 0..N {
        let (mut hi, mut lo) = (*y, *y);
        hi[j] += EPS;
        lo[j] -= EPS;
        let numeric = (loss.value(&hi, target) - loss.value(&lo, target)) / (2.0 * EPS);
        let err = relative_error(dy[j], numeric);
        assert!(
            err < TOLERANCE,
            "loss gradient [{j}]: {} vs {numeric} (error {err:e})",
            dy[j]
        );
    }
}

/// The outcome of [`check_network`]: the worst error found and where.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheck {
    /// Worst error over all checked parameter entries.
    pub worst: f64,
    /// The tensor and element where it occurred.
    pub worst_at: Option<(TensorInfo, usize)>,
    /// Worst error over the checked input-gradient entries.
    pub input_worst: f64,
}

impl GradCheck {
    /// Whether every checked entry is within `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.worst < tolerance && self.input_worst < tolerance
    }
}

/// One parameter tensor's outcome in [`check_network_tensors`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorCheck {
    /// Which tensor (`fc1.weight`), its shape and kind.
    pub info: TensorInfo,
    /// The worst error over the checked entries of this tensor.
    pub worst: f64,
    /// Flat index (PyTorch order) of the worst entry.
    pub index: usize,
    /// Backward's gradient at that entry.
    pub analytic: f64,
    /// The central difference at that entry.
    pub numeric: f64,
    /// How many entries were checked.
    pub checked: usize,
}

impl TensorCheck {
    /// Whether the worst entry is within `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.worst < tolerance
    }
}

impl core::fmt::Display for TensorCheck {
    /// `fc1.weight [4, 3]: worst error 2.1e-10 at [1, 2] (backward 0.5, finite differences
    /// 0.5), 12 entries checked`, the index unravelled in the tensor's PyTorch shape.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} {}: worst error {:.1e} at [",
            self.info, self.info.shape, self.worst
        )?;
        let dims = self.info.shape.dims();
        let mut rest = self.index;
        for (d, _) in dims.iter().enumerate() {
            let inner: usize = dims[d + 1..].iter().product();
            if d > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", rest / inner.max(1))?;
            rest %= inner.max(1);
        }
        write!(
            f,
            "] (backward {}, finite differences {}), {} entries checked",
            self.analytic, self.numeric, self.checked
        )
    }
}

/// Compares a whole network's backward with central differences of `loss` at one sample.
///
/// Checks up to `per_tensor` entries of every parameter tensor (evenly spread) and of the
/// input gradient, calls `report` with each tensor's worst error, and returns the overall
/// worst. Only one copy of the network is alive at a time besides `net`.
/// [`check_network_tensors`] reports where each tensor's worst entry is, too.
pub fn check_network<N, L>(
    net: &N,
    x: &N::Input,
    target: &L::Target,
    loss: &L,
    per_tensor: usize,
    mut report: impl FnMut(TensorInfo, f64),
) -> GradCheck
where
    N: Network<f64> + Clone,
    N::Input: Flat<f64>,
    L: Loss<f64, N::Output>,
{
    check_network_tensors(net, x, target, loss, per_tensor, |t| {
        report(t.info, t.worst)
    })
}

/// [`check_network`], reporting for every parameter tensor its worst relative error, where
/// it occurs and the two gradients there (print a [`TensorCheck`] for a one-line summary).
pub fn check_network_tensors<N, L>(
    net: &N,
    x: &N::Input,
    target: &L::Target,
    loss: &L,
    per_tensor: usize,
    report: impl FnMut(&TensorCheck),
) -> GradCheck
where
    N: Network<f64> + Clone,
    N::Input: Flat<f64>,
    L: Loss<f64, N::Output>,
{
    let mut dx = N::Input::zeros();
    let mut out = check_params(net, x, target, loss, per_tensor, report, Some(&mut dx));
    let len = x.flat().len();
    for j in (0..len).step_by(stride(len, per_tensor)) {
        let (mut hi, mut lo) = (x.clone(), x.clone());
        hi.flat_mut()[j] += EPS;
        lo.flat_mut()[j] -= EPS;
        let numeric = (network_loss(net, &hi, target, loss) - network_loss(net, &lo, target, loss))
            / (2.0 * EPS);
        out.input_worst = out.input_worst.max(relative_error(dx.flat()[j], numeric));
    }
    out
}

/// [`check_network_tensors`] without the input gradient, for networks whose input is not a
/// vector of numbers (token ids into an embedding): backward runs without `dx`, and
/// [`GradCheck::input_worst`] is zero.
pub fn check_network_params<N, L>(
    net: &N,
    x: &N::Input,
    target: &L::Target,
    loss: &L,
    per_tensor: usize,
    report: impl FnMut(&TensorCheck),
) -> GradCheck
where
    N: Network<f64> + Clone,
    L: Loss<f64, N::Output>,
{
    check_params(net, x, target, loss, per_tensor, report, None)
}

/// Every `stride`-th entry of a tensor of `len` is checked, about `per_tensor` in all.
fn stride(len: usize, per_tensor: usize) -> usize {
    (len / per_tensor.max(1)).max(1)
}

/// The loss of one training forward of a clone of `net`.
fn network_loss<N, L>(net: &N, x: &N::Input, target: &L::Target, loss: &L) -> f64
where
    N: Network<f64> + Clone,
    L: Loss<f64, N::Output>,
{
    let mut n = net.clone();
    let mut rec = N::Record::zeros();
    n.forward_train(x, &mut rec);
    loss.value(N::output(&rec), target)
}

/// The parameter checks of [`check_network_tensors`]; backward writes the input gradient
/// into `dx` when given.
fn check_params<N, L>(
    net: &N,
    x: &N::Input,
    target: &L::Target,
    loss: &L,
    per_tensor: usize,
    mut report: impl FnMut(&TensorCheck),
    dx: Option<&mut N::Input>,
) -> GradCheck
where
    N: Network<f64> + Clone,
    L: Loss<f64, N::Output>,
{
    let mut grad = N::Grad::zeros();
    {
        let mut trained = net.clone();
        let mut rec = N::Record::zeros();
        trained.forward_train(x, &mut rec);
        let mut dy = N::Output::zeros();
        loss.value_and_grad(N::output(&rec), target, &mut dy);
        trained.backward(&rec, &dy, &mut grad, dx);
    }

    let mut out = GradCheck {
        worst: 0.0,
        worst_at: None,
        input_worst: 0.0,
    };
    for i in 0..N::TENSORS {
        let len = net.tensor(i).len();
        let mut t = TensorCheck {
            info: N::tensor_info(i),
            worst: 0.0,
            index: 0,
            analytic: 0.0,
            numeric: 0.0,
            checked: 0,
        };
        for k in (0..len).step_by(stride(len, per_tensor)) {
            let mut probe = net.clone();
            probe.tensor_mut(i)[k] += EPS;
            let hi = network_loss(&probe, x, target, loss);
            probe.tensor_mut(i)[k] -= 2.0 * EPS;
            let lo = network_loss(&probe, x, target, loss);
            let (analytic, numeric) = (grad.tensor(i)[k], (hi - lo) / (2.0 * EPS));
            let err = relative_error(analytic, numeric);
            if err > t.worst || t.checked == 0 {
                t = TensorCheck {
                    worst: err,
                    index: k,
                    analytic,
                    numeric,
                    ..t
                };
            }
            t.checked += 1;
            if err > out.worst || out.worst_at.is_none() {
                out.worst = err;
                out.worst_at = Some((t.info, k));
            }
        }
        report(&t);
    }
    out
}
