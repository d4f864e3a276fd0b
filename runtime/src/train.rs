//! Minibatch training and evaluation over any [`Network`].
//!
//! A [`Trainer`] owns the buffers one step needs (the gradient sum, one sample's record and
//! the output gradient), so a step allocates nothing: samples go through forward and backward
//! one at a time, in the memory of one sample, and the update uses the mean gradient.
//!
//! Divergence is never silent: a step whose loss or gradient is not finite returns
//! [`Diverged`] *before* the update, so the network keeps its last finite parameters.

use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::samples::{AsInput, AsTarget, Label, PerSample};
use crate::{BatchNetwork, Flat, Model, Network, Params, Scalar, Zeros};
use core::fmt;

/// A training step whose loss or gradient was not finite (inf or NaN): the optimiser was not
/// applied. Usually a learning rate too high for the problem, or a NaN in the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Diverged {
    /// The batch's mean loss (with any penalty the hook added).
    Loss(f64),
    /// A gradient value, of the tensor `layer.name`, while the loss was finite.
    Gradient {
        /// The layer's path (`"fc1"`, `"layer1.conv1"`; empty for a network-level tensor).
        layer: &'static str,
        /// The tensor's name in the layer (`"weight"`).
        name: &'static str,
        /// The first non-finite value found.
        value: f64,
    },
}

impl fmt::Display for Diverged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = "lower the learning rate, or look for inf and NaN in the data";
        match self {
            Diverged::Loss(l) => write!(f, "training diverged: the loss is {l}; {hint}"),
            Diverged::Gradient { layer, name, value } => {
                let dot = if layer.is_empty() { "" } else { "." };
                write!(
                    f,
                    "training diverged: the gradient of `{layer}{dot}{name}` holds {value}; {hint}"
                )
            }
        }
    }
}

impl core::error::Error for Diverged {}

/// `Ok(loss)` if the loss and every gradient value are finite; the check every trainer runs
/// before an update.
pub fn finite<T: Scalar, G: Params<T>>(loss: T, grad: &G) -> Result<T, Diverged> {
    if !loss.is_finite() {
        return Err(Diverged::Loss(loss.to_f64()));
    }
    for i in 0..G::TENSORS {
        // Read whole and vectorised (`optim::Update`); the search for the value runs only
        // once one failed.
        if crate::optim::Update::all_finite(grad.tensor(i)) {
            continue;
        }
        if let Some(&v) = grad.tensor(i).iter().find(|v| !v.is_finite()) {
            let info = G::tensor_info(i);
            let (layer, name) = (info.layer, info.name);
            let value = v.to_f64();
            return Err(Diverged::Gradient { layer, name, value });
        }
    }
    Ok(loss)
}

/// The working memory of training: gradients, one sample's record and ∂L/∂output.
pub struct Trainer<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// The gradient of the last step: the batch mean, after the hook of
    /// [`step_with`](Trainer::step_with).
    pub grad: N::Grad,
    /// The last sample's training record.
    pub record: N::Record,
    /// ∂L/∂output of the last sample.
    pub dy: N::Output,
}

impl<N: PerSample<T>, T: Scalar> Default for Trainer<N, T> {
    fn default() -> Self {
        Self::new()
    }
}

// The bound sits on each method, not on the impl, so that a network with `batch_norm` gets
// `PerSample`'s message (E0277) rather than "method exists but its bounds are not satisfied".
impl<N: Network<T>, T: Scalar> Trainer<N, T> {
    /// A network with batch layers is refused by the [`PerSample`] bound (use
    /// [`BatchTrainer`]): training such a layer one sample at a time would silently normalise
    /// by the wrong statistics.
    pub fn new() -> Self
    where
        N: PerSample<T>,
    {
        crate::hint::unoptimized_build();
        Trainer {
            grad: N::Grad::zeros(),
            record: N::Record::zeros(),
            dy: N::Output::zeros(),
        }
    }

    /// Adds one sample's gradient to `self.grad` and returns its loss.
    pub fn accumulate<L: Loss<T, N::Output>>(
        &mut self,
        net: &mut N,
        loss: &L,
        x: &N::Input,
        target: &L::Target,
    ) -> T
    where
        N: PerSample<T>,
    {
        net.forward_train(x, &mut self.record);
        let l = loss.value_and_grad(N::output(&self.record), target, &mut self.dy);
        net.backward(&self.record, &self.dy, &mut self.grad, None);
        l
    }

    /// One minibatch step: the mean of the per-sample gradients, then one optimiser update.
    /// Returns the mean loss over the batch (zero for an empty batch, which changes nothing),
    /// or [`Diverged`] without updating if the loss or a gradient value is not finite.
    ///
    /// A sample is a pair of an input and a target, each by reference or by value; class
    /// labels can be any unsigned integer type ([`AsInput`], [`AsTarget`]).
    pub fn step<L, O, X, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        batch: impl IntoIterator<Item = (X, Y)>,
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output>,
        O: Optimizer<N, T> + ?Sized,
        X: AsInput<N::Input>,
        Y: AsTarget<L::Target>,
        N: PerSample<T>,
    {
        self.step_with(net, opt, loss, batch, |_, _| T::zero())
    }

    /// [`step`](Trainer::step) with a hook between the mean gradient and the update, for
    /// regularisers and clipping: `before_update(net, grad)` may change the gradient and
    /// returns a penalty added to the reported loss. The finiteness check runs after the hook.
    ///
    /// ```
    /// # use stacknet_runtime::{Network, loss::Loss, optim::Optimizer, train::Trainer};
    /// use stacknet_runtime::regularize::{clip_grad_norm, Regularizer, L2};
    /// # fn demo<N: stacknet_runtime::PerSample<f32>, O: Optimizer<N>, L: Loss<f32, N::Output, Target = usize>>(
    /// #     net: &mut N, opt: &mut O, loss: &L, xs: &[N::Input], ts: &[usize]) {
    /// let mut trainer = Trainer::new();
    /// let l2 = L2::new(1e-4);
    /// let loss = trainer.step_with(net, opt, loss, xs.iter().zip(ts), |net, grad| {
    ///     let penalty = l2.add_grad(net, grad);
    ///     clip_grad_norm(grad, 1.0);
    ///     penalty
    /// });
    /// if let Err(e) = loss {
    ///     panic!("{e}"); // the network still holds the parameters from before this step
    /// }
    /// # }
    /// ```
    pub fn step_with<L, O, X, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        batch: impl IntoIterator<Item = (X, Y)>,
        before_update: impl FnOnce(&N, &mut N::Grad) -> T,
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output>,
        O: Optimizer<N, T> + ?Sized,
        X: AsInput<N::Input>,
        Y: AsTarget<L::Target>,
        N: PerSample<T>,
    {
        self.step_observed(net, opt, loss, batch, before_update, |_, _| {})
    }

    /// [`step_with`](Trainer::step_with) that also shows `observe` each sample's training
    /// output and target as it is computed (training metrics see the outputs this way, at no
    /// extra forward pass).
    pub fn step_observed<L, O, X, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        batch: impl IntoIterator<Item = (X, Y)>,
        before_update: impl FnOnce(&N, &mut N::Grad) -> T,
        mut observe: impl FnMut(&N::Output, &L::Target),
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output>,
        O: Optimizer<N, T> + ?Sized,
        X: AsInput<N::Input>,
        Y: AsTarget<L::Target>,
        N: PerSample<T>,
    {
        clear(&mut self.grad);
        let (mut sum, mut n) = (T::zero(), 0usize);
        for (x, t) in batch {
            sum += t.with_target(|t| {
                let l = self.accumulate(net, loss, x.as_input(), t);
                observe(N::output(&self.record), t);
                l
            });
            n += 1;
        }
        if n == 0 {
            return Ok(T::zero());
        }
        let inv = T::one() / T::of(n as f64);
        // A pass over every gradient: worth skipping for single-sample steps.
        if n > 1 {
            scale(&mut self.grad, inv);
        }
        let penalty = before_update(net, &mut self.grad);
        let l = finite(sum * inv + penalty, &self.grad)?;
        opt.step(net, &self.grad);
        Ok(l)
    }
}

/// The working memory of minibatch training through [`BatchNetwork`]: gradients, the
/// activations of `B` samples and their output gradients. Needed for networks with batch
/// norm; works for any network. Large for big `B`: keep it in a `static` or a `Box`.
// `T` comes last because only it has a default (defaults trail), so `BatchTrainer<Net, 32>`
// is a whole type.
pub struct BatchTrainer<N: BatchNetwork<T>, const B: usize, T: Scalar = <N as Model>::Scalar> {
    /// The gradient of the last step: the batch mean, after the hook.
    pub grad: N::Grad,
    /// The last batch's activations, layer by layer.
    pub record: N::BatchRecord<B>,
    /// ∂L/∂output of each sample of the last batch.
    pub dys: [N::Output; B],
}

impl<N: BatchNetwork<T>, const B: usize, T: Scalar> Default for BatchTrainer<N, B, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: BatchNetwork<T>, const B: usize, T: Scalar> BatchTrainer<N, B, T> {
    /// Zeroed buffers for batches of `B` samples.
    pub fn new() -> Self {
        crate::hint::unoptimized_build();
        BatchTrainer {
            grad: N::Grad::zeros(),
            record: Zeros::zeros(),
            dys: Zeros::zeros(),
        }
    }

    /// One step on a minibatch of exactly `B` samples: forward layer by layer, the mean of
    /// the per-sample gradients, one optimiser update. Returns the mean loss, or [`Diverged`]
    /// without updating the parameters (batch norm's running statistics have moved, as in
    /// any training forward) if the loss or a gradient value is not finite.
    ///
    /// Targets are the loss's, or class labels of any unsigned integer type ([`AsTarget`]).
    pub fn step<L, O, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        xs: &[N::Input; B],
        targets: &[Y; B],
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output>,
        O: Optimizer<N, T> + ?Sized,
        Y: AsTarget<L::Target>,
    {
        self.step_with(net, opt, loss, xs, targets, |_, _| T::zero())
    }

    /// [`step`](BatchTrainer::step) with a hook between the mean gradient and the update
    /// (see [`Trainer::step_with`]).
    pub fn step_with<L, O, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        xs: &[N::Input; B],
        targets: &[Y; B],
        before_update: impl FnOnce(&N, &mut N::Grad) -> T,
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output>,
        O: Optimizer<N, T> + ?Sized,
        Y: AsTarget<L::Target>,
    {
        clear(&mut self.grad);
        net.forward_train_batch(xs, &mut self.record);
        let mut sum = T::zero();
        let ys = N::batch_outputs(&self.record);
        for ((y, t), dy) in ys.iter().zip(targets).zip(self.dys.iter_mut()) {
            sum += t.with_target(|t| loss.value_and_grad(y, t, dy));
        }
        net.backward_batch(&self.record, &self.dys, &mut self.grad);
        let inv = T::one() / T::of(B.max(1) as f64);
        scale(&mut self.grad, inv);
        let penalty = before_update(net, &mut self.grad);
        let l = finite(sum * inv + penalty, &self.grad)?;
        opt.step(net, &self.grad);
        Ok(l)
    }
}

/// Sets every tensor of `p` to zero.
pub fn clear<T: Scalar, P: Params<T>>(p: &mut P) {
    for i in 0..P::TENSORS {
        p.tensor_mut(i).fill(T::zero());
    }
}

/// Multiplies every tensor of `p` by `k`.
pub fn scale<T: Scalar, P: Params<T>>(p: &mut P, k: T) {
    for i in 0..P::TENSORS {
        for v in p.tensor_mut(i) {
            *v *= k;
        }
    }
}

/// Index of the largest value (the first on ties); 0 for an empty slice.
///
/// A NaN counts as larger than everything, as in `torch.argmax` and `numpy.argmax`: the
/// first NaN's index is returned, so a NaN output never passes for a finite class. Use
/// [`checked_argmax`] to have the NaN reported instead.
pub fn argmax<T: Scalar>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        #[allow(clippy::eq_op)] // `x != x` only for NaN (`RealField` has no `is_nan`)
        if x != x {
            return i;
        }
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// The index of the largest value (the first on ties), or `None` for an empty slice or one
/// holding a NaN, where no class is the answer.
pub fn checked_argmax<T: Scalar>(v: &[T]) -> Option<usize> {
    #[allow(clippy::eq_op)]
    let nan = v.iter().any(|&x| x != x);
    (!v.is_empty() && !nan).then(|| argmax(v))
}

/// The predicted class: the argmax of the network's output.
pub fn predict<T: Scalar, N: Network<T>>(net: &N, x: &N::Input) -> usize {
    argmax(net.forward(x).flat())
}

/// Fraction of samples whose predicted class equals the label (0 for no samples); an output
/// holding a NaN counts as wrong whatever the label. Samples are `(input, label)` pairs, each
/// by reference or by value, with labels of any unsigned integer type.
///
/// # Panics
/// If a label is not a class of the output (`label 12 is out of range for 10 classes`).
pub fn accuracy<T, N, X, Y>(net: &N, samples: impl IntoIterator<Item = (X, Y)>) -> f64
where
    T: Scalar,
    N: Network<T>,
    X: AsInput<N::Input>,
    Y: Label,
{
    let (mut right, mut total) = (0usize, 0usize);
    let classes = N::OUTPUT_SHAPE.len();
    for (x, label) in samples {
        let label = label.class();
        assert!(
            label < classes,
            "label {label} is out of range for {classes} classes"
        );
        right += (checked_argmax(net.forward(x.as_input()).flat()) == Some(label)) as usize;
        total += 1;
    }
    if total == 0 {
        0.0
    } else {
        right as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_finite_finds_every_non_finite_value_in_chunks_and_tail() {
        let all_finite = crate::optim::Update::all_finite;
        // Every position of a 37-value slice (two chunks of 16 and a tail of 5), each special
        // value, f32 and f64; the largest finite values and subnormals pass.
        for at in 0..37 {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut v = [f32::MAX; 37];
                v[1] = f32::MIN_POSITIVE / 2.0;
                v[2] = -0.0;
                assert!(all_finite(&v));
                v[at] = bad;
                assert!(!all_finite(&v), "{bad} at {at}");
            }
            let mut v = [1e300f64; 37];
            assert!(crate::optim::Update::all_finite(&v));
            v[at] = f64::NAN;
            assert!(!crate::optim::Update::all_finite(&v), "NaN at {at}");
        }
        assert!(all_finite(&[]));
    }

    #[test]
    fn argmax_with_nan_names_the_nan() {
        // As `torch.argmax` and `numpy.argmax`: a NaN counts as the largest value, so a NaN
        // output is never hidden behind a finite class 0.
        assert_eq!(argmax(&[f32::NAN, 0.7, 0.2]), 0);
        assert_eq!(argmax(&[0.1f32, 0.7, f32::NAN, 0.2, f32::NAN]), 2);
        assert_eq!(argmax(&[0.1f64, f64::INFINITY, f64::NAN]), 2);
        assert_eq!(checked_argmax(&[0.1f32, 0.7, f32::NAN]), None);
        assert_eq!(checked_argmax::<f32>(&[]), None);
        assert_eq!(checked_argmax(&[0.1f32, 0.7, 0.2]), Some(1));
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        assert_eq!(argmax(&[0.1f32, 0.7, 0.7, -1.0]), 1);
        assert_eq!(argmax::<f64>(&[]), 0);
        assert_eq!(argmax(&[-3.0f64, -2.0]), 1);
    }
}
