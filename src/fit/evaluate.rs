//! Dataset-wide evaluation: the mean loss and any metrics of a network's inference outputs.

use std::fmt;

use stacknet_runtime::loss::Loss;
use stacknet_runtime::{AsTarget, Network, Scalar};

use super::error::check_data;
use super::metric::{Accuracy, Label, Metric, Mode};
use super::{FitError, GivenAs};
use stacknet_runtime::nalgebra::SVector;

/// One metric's value, with how it prints.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricValue {
    /// The metric's [`name`](Metric::name).
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// Which direction is better.
    pub mode: Mode,
    /// The value as the metric prints it (`98.00%`).
    pub shown: String,
}

impl MetricValue {
    pub(crate) fn of<Y, Tgt: ?Sized>(m: &dyn Metric<Y, Tgt>) -> Self {
        let value = m.value();
        MetricValue {
            name: m.name(),
            value,
            mode: m.mode(),
            shown: m.format(value),
        }
    }
}

/// What [`evaluate`] measured over a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Samples evaluated.
    pub samples: usize,
    /// The mean per-sample loss.
    pub loss: f64,
    /// The metrics asked for, in order.
    pub metrics: Vec<MetricValue>,
}

impl Evaluation {
    /// The value of the metric called `name`, if it was measured.
    pub fn metric(&self, name: &str) -> Option<f64> {
        find(&self.metrics, name)
    }

    /// The `accuracy` metric, if it was measured.
    pub fn accuracy(&self) -> Option<f64> {
        self.metric("accuracy")
    }
}

pub(crate) fn find(metrics: &[MetricValue], name: &str) -> Option<f64> {
    metrics.iter().find(|m| m.name == name).map(|m| m.value)
}

/// `loss 0.0612  accuracy 98.00%`.
impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loss {:.4}", self.loss)?;
        for m in &self.metrics {
            write!(f, "  {} {}", m.name, m.shown)?;
        }
        Ok(())
    }
}

/// The mean loss of `net`'s inference outputs ([`Network::forward`]: running statistics, no
/// dropout) over `inputs` against `targets`, for regression and classification alike. Targets
/// are the loss's, or class labels of any unsigned integer type (`&[u8]` as loaded).
///
/// # Errors
/// [`FitError::LengthMismatch`] naming both lengths, or [`FitError::Empty`].
///
/// ```
/// use stacknet::fit::evaluate;
/// use stacknet::prelude::*;
///
/// network! { struct Line(input: [1]) { fc: dense(1) } }
///
/// let mut net = Line::<f64>::new(&mut SplitMix64::new(0));
/// net.copy_params_from(&[2.0, 1.0]).unwrap(); // y = 2x + 1
/// let xs = [SVector::from([0.0]), SVector::from([1.0])];
/// let ts = [SVector::from([0.0]), SVector::from([1.0])];
/// // errors 1 and 2: (1 + 4) / 2
/// assert_eq!(evaluate(&net, &Mse, &xs, &ts)?.loss, 2.5);
/// # Ok::<(), stacknet::fit::FitError>(())
/// ```
pub fn evaluate<T, N, L, Y>(
    net: &N,
    loss: &L,
    inputs: &[N::Input],
    targets: &[Y],
) -> Result<Evaluation, FitError>
where
    T: Scalar,
    N: Network<T>,
    L: Loss<T, N::Output>,
    Y: AsTarget<L::Target>,
{
    evaluate_with(net, loss, inputs, targets, &mut [])
}

/// [`evaluate`] with metrics: each is reset, updated with every sample and read.
///
/// ```
/// use stacknet::fit::{evaluate_with, Accuracy};
/// use stacknet::prelude::*;
/// # network! { struct Tiny(input: [2]) { fc: dense(3) } }
/// # let net = Tiny::<f32>::new(&mut SplitMix64::new(0));
/// # let (xs, labels) = (vec![SVector::zeros(); 4], vec![0usize, 1, 2, 0]);
/// let mut acc = Accuracy::default();
/// let eval = evaluate_with(&net, &SoftmaxCrossEntropy, &xs, &labels, &mut [&mut acc])?;
/// println!("test {eval}"); // test loss 1.0986  accuracy 50.00%
/// # Ok::<(), stacknet::fit::FitError>(())
/// ```
pub fn evaluate_with<T, N, L, Y>(
    net: &N,
    loss: &L,
    inputs: &[N::Input],
    targets: &[Y],
    metrics: &mut [&mut dyn Metric<N::Output, Y>],
) -> Result<Evaluation, FitError>
where
    T: Scalar,
    N: Network<T>,
    L: Loss<T, N::Output>,
    Y: AsTarget<L::Target>,
{
    check_data("evaluation", inputs.len(), targets.len())?;
    let mean = mean_loss(net, loss, inputs.iter().zip(targets), metrics);
    Ok(Evaluation {
        samples: inputs.len(),
        loss: mean,
        metrics: metrics.iter().map(|m| MetricValue::of(&**m)).collect(),
    })
}

/// [`evaluate`] for a classifier with class labels: the mean loss and the accuracy.
pub fn evaluate_classifier<T, N, L, Y, const K: usize>(
    net: &N,
    loss: &L,
    inputs: &[N::Input],
    labels: &[Y],
) -> Result<Evaluation, FitError>
where
    T: Scalar,
    N: Network<T, Output = SVector<T, K>>,
    L: Loss<T, SVector<T, K>>,
    Y: Label + AsTarget<L::Target>,
{
    let mut acc = Accuracy::default();
    evaluate_with(net, loss, inputs, labels, &mut [&mut acc])
}

/// The mean loss over `samples` (0 for none), feeding every metric on the way; the metrics
/// are reset first.
pub(crate) fn mean_loss<'a, T, N, L, Y>(
    net: &N,
    loss: &L,
    samples: impl Iterator<Item = (&'a N::Input, &'a Y)>,
    metrics: &mut [&mut dyn Metric<N::Output, Y>],
) -> f64
where
    T: Scalar,
    N: Network<T>,
    N::Input: 'a,
    L: Loss<T, N::Output>,
    L::Target: GivenAs<Y>,
    Y: 'a,
{
    for m in metrics.iter_mut() {
        m.reset();
    }
    // Summed in f64: a mean over 60,000 f32 losses would lose digits.
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (x, t) in samples {
        let y = net.forward(x);
        sum += <L::Target as GivenAs<Y>>::given(t, |t| loss.value(&y, t)).to_f64();
        n += 1;
        for m in metrics.iter_mut() {
            m.update(&y, t);
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}
