//! Training without boilerplate: [`Fit`] runs the epochs, [`evaluate`] measures a dataset,
//! [`History`] keeps what happened and draws it.
//!
//! ```
//! use stacknet::fit::{Accuracy, EarlyStopping, Fit};
//! use stacknet::prelude::*;
//!
//! network! { pub struct Net(input: [2]) { fc1: dense(8), tanh, fc2: dense(2) } }
//!
//! // Two classes: is x₀ + x₁ positive?
//! let mut rng = SplitMix64::new(3);
//! let xs: Vec<SVector<f32, 2>> = (0..200)
//!     .map(|_| SVector::from_fn(|_, _| stacknet::runtime::rng::uniform_sym(&mut rng, 1.0) as f32))
//!     .collect();
//! let ys: Vec<usize> = xs.iter().map(|x| (x[0] + x[1] > 0.0) as usize).collect();
//!
//! let mut net = Net::<f32>::new(&mut SplitMix64::new(1));
//! let mut opt = Sgd::new(0.5);
//! let history = Fit::new(20)
//!     .batch(16)
//!     .validation_split(0.2)
//!     .metric(Accuracy::default())
//!     .early_stopping(EarlyStopping::val_loss(3))
//!     .quiet()
//!     .run(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)?;
//! let last = history.last().unwrap();
//! assert!(last.val_metric("accuracy").unwrap() > 0.9);
//! # Ok::<(), stacknet::fit::FitError>(())
//! ```

mod error;
mod evaluate;
mod history;
mod metric;
mod plot;
mod stepper;
mod stopping;

pub use error::FitError;
pub use evaluate::{evaluate, evaluate_classifier, evaluate_with, Evaluation, MetricValue};
pub use history::{Control, EpochRecord, History, Stop};
pub use metric::{Accuracy, Label, MeanAbsoluteError, Metric, Mode};
pub use stopping::{EarlyStopping, Monitor};

use std::fmt::Write as _;
use std::time::Instant;

use stacknet_runtime::loss::Loss;
use stacknet_runtime::optim::Optimizer;
use stacknet_runtime::rng::{shuffle, SplitMix64};
use stacknet_runtime::schedule::Schedule;
use stacknet_runtime::{AsTarget, BatchNetwork, Model, Network, PerSample, Scalar};

use crate::data::Progress;
use error::check_data;
use evaluate::mean_loss;
use stepper::{Batched, Hook, Sequential, Stepper, Threaded, ThreadedBatches};
use stopping::Watch;

/// How a loss's target is given in a data set: as itself, or, for class indices, as a label
/// of any unsigned integer type (`u8`, `u16`, `u32`, `u64`, `usize`).
///
/// Every pairing [`AsTarget`] covers is one (`L::Target: GivenAs<Y>` exactly when
/// `Y: AsTarget<L::Target>`); it exists so that [`Fit::run_batches`], whose loss is an
/// `impl Loss` (to keep `run_batches::<B>` short), can state the pairing.
pub trait GivenAs<Y> {
    /// Calls `f` with `y` as this target type.
    fn given<R>(y: &Y, f: impl FnOnce(&Self) -> R) -> R;
}

impl<X: ?Sized, Y: AsTarget<X>> GivenAs<Y> for X {
    fn given<R>(y: &Y, f: impl FnOnce(&X) -> R) -> R {
        y.with_target(f)
    }
}

/// Called after every epoch with its record and the network; can stop training.
///
/// Any `FnMut(&EpochRecord) -> Control` is a callback (see [`Fit::on_epoch`]); implement the
/// trait to see the network too (to save a checkpoint, say).
pub trait Callback<N> {
    /// After epoch `record.epoch`, its validation and early-stopping bookkeeping done.
    fn on_epoch_end(&mut self, record: &EpochRecord, net: &N) -> Control;
}

impl<N, F: FnMut(&EpochRecord) -> Control> Callback<N> for F {
    fn on_epoch_end(&mut self, record: &EpochRecord, _net: &N) -> Control {
        self(record)
    }
}

enum Validation<'a, X, Y> {
    None,
    Data(&'a [X], &'a [Y]),
    Split(f64),
}

/// A metric twice: one copy for the training outputs, one for validation.
struct MetricPair<'a, Out, Y> {
    train: Box<dyn Metric<Out, Y> + 'a>,
    val: Box<dyn Metric<Out, Y> + 'a>,
}

/// A training run, configured by a builder and started by [`run`](Fit::run) (one sample at a
/// time through the runtime's `Trainer`) or [`run_batches`](Fit::run_batches) (whole
/// minibatches through `BatchTrainer`, for networks with `batch_norm`), or by their
/// multi-threaded forms [`run_threads`](Fit::run_threads) and
/// [`run_batches_threads`](Fit::run_batches_threads).
///
/// Every epoch: the schedule (if any) sets the optimiser's learning rate, the training
/// samples are shuffled (seeded: the same seed gives the same run) and cut into minibatches,
/// each minibatch is one step on the mean gradient, then the validation data (if any) is
/// evaluated with inference ([`Network::forward`]), a progress line is printed, early
/// stopping and the callbacks decide whether to go on. Defaults: batch 32, seed 0, the
/// optimiser's own learning rate, the loss as the only metric, a progress bar on stderr.
///
/// `N` is the network and `Y` the target type: class labels of any unsigned integer type (`u8`
/// as [`MnistSplit::labels`](crate::data::MnistSplit) loads them, or `usize`) for
/// [`SoftmaxCrossEntropy`](stacknet_runtime::loss::SoftmaxCrossEntropy), a vector for
/// [`Mse`](stacknet_runtime::loss::Mse); both are inferred from `run`. `T`, the scalar, is
/// the network's.
#[must_use = "a `Fit` trains nothing until `run` or `run_batches`"]
pub struct Fit<'a, N: Network<T>, Y, T: Scalar = <N as Model>::Scalar> {
    epochs: usize,
    batch: Option<usize>,
    seed: u64,
    schedule: Option<Box<dyn Schedule<T> + 'a>>,
    validation: Validation<'a, N::Input, Y>,
    metrics: Vec<MetricPair<'a, N::Output, Y>>,
    train_metrics: bool,
    early_stopping: Option<EarlyStopping>,
    regularize: Option<Box<Hook<'a, T, N>>>,
    callbacks: Vec<Box<dyn Callback<N> + 'a>>,
    progress: bool,
}

impl<'a, N: Network<T>, Y, T: Scalar> Fit<'a, N, Y, T> {
    /// A fit of `epochs` epochs with the defaults.
    pub fn new(epochs: usize) -> Self {
        Fit {
            epochs,
            batch: None,
            seed: 0,
            schedule: None,
            validation: Validation::None,
            metrics: Vec::new(),
            train_metrics: true,
            early_stopping: None,
            regularize: None,
            callbacks: Vec::new(),
            progress: true,
        }
    }

    /// Samples per minibatch (default 32). With [`run`](Fit::run) a final shorter minibatch
    /// is stepped on as it is; [`run_batches`](Fit::run_batches) takes its size from `B`.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = Some(batch);
        self
    }

    /// The seed of the minibatch order and of the validation split (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A learning rate per epoch, set on the optimiser before each epoch (any
    /// [`Schedule`], or a closure `|epoch| rate`). Without one the optimiser keeps its rate.
    pub fn schedule(mut self, schedule: impl Schedule<T> + 'a) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }

    /// Validation data, evaluated after every epoch.
    pub fn validation(mut self, inputs: &'a [N::Input], targets: &'a [Y]) -> Self {
        self.validation = Validation::Data(inputs, targets);
        self
    }

    /// Holds out `fraction` of the training data (rounded to whole samples) for validation:
    /// a seeded draw, the same for the same seed and data size, disjoint from the samples
    /// trained on.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation = Validation::Split(fraction);
        self
    }

    /// Adds a metric, measured on validation data after every epoch and, unless
    /// [`train_metrics(false)`](Fit::train_metrics), on the training outputs during it.
    pub fn metric<M>(mut self, metric: M) -> Self
    where
        M: Metric<N::Output, Y> + Clone + 'a,
    {
        self.metrics.push(MetricPair {
            train: Box::new(metric.clone()),
            val: Box::new(metric),
        });
        self
    }

    /// Whether metrics are measured on the training outputs too (default true; they cost a
    /// metric update per sample).
    pub fn train_metrics(mut self, on: bool) -> Self {
        self.train_metrics = on;
        self
    }

    /// Stops when a watched value stops improving (see [`EarlyStopping`]).
    pub fn early_stopping(mut self, rule: EarlyStopping) -> Self {
        self.early_stopping = Some(rule);
        self
    }

    /// A hook between each step's mean gradient and its update, as
    /// `Trainer::step_with`'s: `hook(net, grad)` may change the gradient (a penalty's
    /// gradient, clipping) and returns a penalty added to the reported loss.
    ///
    /// ```
    /// # use stacknet::fit::Fit;
    /// # use stacknet::prelude::*;
    /// # network! { struct Net(input: [2]) { fc: dense(1) } }
    /// let l2 = L2::new(1e-4);
    /// let fit = Fit::<Net, SVector<f32, 1>>::new(10).regularize(move |net, grad| {
    ///     let penalty = l2.add_grad(net, grad);
    ///     clip_grad_norm(grad, 1.0);
    ///     penalty
    /// });
    /// # let _ = fit;
    /// ```
    pub fn regularize(mut self, hook: impl FnMut(&N, &mut N::Grad) -> T + 'a) -> Self {
        self.regularize = Some(Box::new(hook));
        self
    }

    /// Adds a callback run after every epoch.
    pub fn callback(mut self, callback: impl Callback<N> + 'a) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Adds a closure run after every epoch with its record; [`Control::Stop`] ends training.
    pub fn on_epoch(self, f: impl FnMut(&EpochRecord) -> Control + 'a) -> Self {
        self.callback(f)
    }

    /// No progress output.
    pub fn quiet(mut self) -> Self {
        self.progress = false;
        self
    }

    /// Trains `net` one sample at a time through the runtime's `Trainer` (in the memory of
    /// one sample; a network with `batch_norm` is a compile error here: use
    /// [`run_batches`](Fit::run_batches)).
    ///
    /// # Errors
    /// A [`FitError`] before training for inconsistent data or settings, or
    /// [`FitError::Diverged`] from the step whose loss or gradient was not finite (the
    /// network keeps the parameters from before that step).
    pub fn run<L, O>(
        self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        inputs: &[N::Input],
        targets: &[Y],
    ) -> Result<History, FitError>
    where
        L: Loss<T, N::Output, Target: Clone> + Sync,
        O: Optimizer<N, T>,
        N: PerSample<T>,
        Y: AsTarget<L::Target>,
    {
        let batch = self.batch_size()?;
        self.train(
            &mut Sequential::new(),
            batch,
            net,
            opt,
            loss,
            inputs,
            targets,
        )
    }

    /// [`run`](Fit::run) with each minibatch split across `threads` threads (0: one per
    /// core) through [`ParallelTrainer`](crate::parallel::ParallelTrainer): the parameters
    /// after training are the same for any thread count with the same seed (they differ from
    /// [`run`](Fit::run)'s in the last bits, from the order the gradient is summed in). The
    /// training outputs stay on their threads, so no training metrics are recorded
    /// (validation metrics are).
    ///
    /// # Errors
    /// As [`run`](Fit::run); [`FitError::Threads`] if the threads cannot be started.
    pub fn run_threads<L, O>(
        self,
        threads: usize,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        inputs: &[N::Input],
        targets: &[Y],
    ) -> Result<History, FitError>
    where
        L: Loss<T, N::Output> + Sync,
        O: Optimizer<N, T>,
        N: crate::parallel::Replicable<T>,
        Y: AsTarget<L::Target> + Sync,
    {
        let batch = self.batch_size()?;
        let trainer = crate::parallel::ParallelTrainer::new(net, threads, self.seed)
            .map_err(|e| FitError::Threads(e.to_string()))?;
        let mut stepper = Threaded::new(trainer);
        self.train(&mut stepper, batch, net, opt, loss, inputs, targets)
    }

    /// Trains `net` on whole minibatches of `B` through the runtime's `BatchTrainer`, as
    /// networks with `batch_norm` need (any network works). Each epoch's final partial
    /// minibatch is dropped (PyTorch's `drop_last`): the order is reshuffled every epoch, so
    /// over the epochs every sample is trained on. The samples of a minibatch are copied into
    /// buffers allocated once.
    ///
    /// # Errors
    /// As [`run`](Fit::run); also [`FitError::TooFewSamples`] for fewer than `B` training
    /// samples, and [`FitError::BatchMismatch`] if [`batch`](Fit::batch) set another size.
    pub fn run_batches<const B: usize>(
        self,
        net: &mut N,
        opt: &mut impl Optimizer<N, T>,
        loss: &(impl Loss<T, N::Output, Target: GivenAs<Y> + Clone> + Sync),
        inputs: &[N::Input],
        targets: &[Y],
    ) -> Result<History, FitError>
    where
        N: BatchNetwork<T>,
    {
        match self.batch {
            Some(b) if b != B => {
                return Err(FitError::BatchMismatch {
                    batch: b,
                    compiled: B,
                })
            }
            _ if B == 0 => return Err(FitError::ZeroBatch),
            _ => {}
        }
        let mut stepper = Batched::<T, N, _, B>::new();
        self.train(&mut stepper, B, net, opt, loss, inputs, targets)
    }

    /// [`run_batches`](Fit::run_batches) with each minibatch split across `threads` threads
    /// (0: one per core) through
    /// [`ParallelBatchTrainer`](crate::parallel::ParallelBatchTrainer), in shards of `S`
    /// samples: batch norm normalises each shard by its own statistics ("ghost" batch norm,
    /// as PyTorch's `DataParallel` without `SyncBatchNorm`; the trainer's docs say how that
    /// differs from whole-batch statistics), and the running statistics take the mean of the
    /// shards'. The minibatch is the builder's [`batch`](Fit::batch) (32 when unset), a
    /// multiple of `S`; each epoch's final partial minibatch is dropped. The parameters and
    /// running statistics after training are the same for any thread count with the same
    /// seed and `S`; as with [`run_threads`](Fit::run_threads), no training metrics are
    /// recorded.
    ///
    /// # Errors
    /// As [`run_batches`](Fit::run_batches); [`FitError::PartialShard`] if the batch is not a
    /// multiple of `S`, [`FitError::Threads`] if the threads cannot be started.
    pub fn run_batches_threads<const S: usize>(
        self,
        threads: usize,
        net: &mut N,
        opt: &mut impl Optimizer<N, T>,
        loss: &(impl Loss<T, N::Output, Target: GivenAs<Y>> + Sync),
        inputs: &[N::Input],
        targets: &[Y],
    ) -> Result<History, FitError>
    where
        N: crate::parallel::BatchReplicable<T>,
        N::BatchRecord<S>: Send,
        Y: Sync,
    {
        let batch = self.batch_size()?;
        if S == 0 {
            return Err(FitError::ZeroBatch);
        }
        if !batch.is_multiple_of(S) {
            return Err(FitError::PartialShard { batch, shard: S });
        }
        let trainer =
            crate::parallel::ParallelBatchTrainer::<N, S, T>::new(net, threads, self.seed)
                .map_err(|e| FitError::Threads(e.to_string()))?;
        let mut stepper = ThreadedBatches::new(trainer, batch);
        self.train(&mut stepper, batch, net, opt, loss, inputs, targets)
    }

    /// The builder's batch size (32 when unset) for the per-sample paths; 0 is an error.
    fn batch_size(&self) -> Result<usize, FitError> {
        match self.batch.unwrap_or(32) {
            0 => Err(FitError::ZeroBatch),
            b => Ok(b),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn train<S, L, O>(
        mut self,
        stepper: &mut S,
        batch: usize,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        xs: &[N::Input],
        ys: &[Y],
    ) -> Result<History, FitError>
    where
        S: Stepper<T, N, Y, L>,
        L: Loss<T, N::Output>,
        L::Target: GivenAs<Y>,
        O: Optimizer<N, T>,
    {
        let started = Instant::now();
        check_data("training", xs.len(), ys.len())?;
        let (mut order, held_out) = split(xs.len(), &self.validation, self.seed)?;
        if let Validation::Data(vx, vy) = self.validation {
            check_data("validation", vx.len(), vy.len())?;
        }
        let has_validation = !matches!(self.validation, Validation::None);
        let mut watch = match self.early_stopping {
            Some(rule) => Some(self.watch(rule, has_validation)?),
            None => None,
        };
        let stepped = stepper.per_epoch(order.len(), batch);
        if stepped == 0 {
            return Err(FitError::TooFewSamples {
                samples: order.len(),
                batch,
            });
        }
        let restore = watch.as_ref().is_some_and(|w| w.rule.restore_best);
        let mut best_params = if restore {
            vec![T::zero(); N::PARAMS]
        } else {
            Vec::new()
        };

        let mut rng = SplitMix64::new(self.seed);
        let mut progress = self.progress.then(|| Progress::new(self.epochs, stepped));
        let mut no_hook = |_: &N, _: &mut N::Grad| T::zero();
        let mut history = History {
            epochs: Vec::with_capacity(self.epochs),
            stop: Stop::Completed,
            best_epoch: None,
            restored_best: false,
            seconds: 0.0,
        };
        for epoch in 0..self.epochs {
            let epoch_start = Instant::now();
            if let Some(s) = &self.schedule {
                opt.set_learning_rate(s.lr(epoch));
            }
            if let Some(p) = progress.as_mut() {
                p.start_epoch(epoch);
            }
            let train_metrics = self.train_metrics && stepper.observes();
            let mut metrics: Vec<&mut dyn Metric<N::Output, Y>> = if train_metrics {
                self.metrics
                    .iter_mut()
                    .map(|m| &mut *m.train as _)
                    .collect()
            } else {
                Vec::new()
            };
            for m in metrics.iter_mut() {
                m.reset();
            }
            let mut observe = |y: &N::Output, t: &Y| {
                for m in metrics.iter_mut() {
                    m.update(y, t);
                }
            };
            let hook: &mut Hook<'_, T, N> = match self.regularize.as_mut() {
                Some(h) => &mut **h,
                None => &mut no_hook,
            };
            shuffle(&mut rng, &mut order);
            let (mut sum, mut samples) = (0.0f64, 0usize);
            for (b, chunk) in order.chunks(batch).enumerate() {
                if !stepper.takes(chunk.len()) {
                    continue;
                }
                let l = stepper
                    .step(net, opt, loss, (xs, ys), chunk, hook, &mut observe)
                    .map_err(|source| {
                        if let Some(p) = progress.as_mut() {
                            p.finish_epoch_with("diverged");
                        }
                        FitError::Diverged {
                            epoch,
                            batch: b,
                            source,
                        }
                    })?;
                let l = l.to_f64();
                sum += l * chunk.len() as f64;
                samples += chunk.len();
                if let Some(p) = progress.as_mut() {
                    p.update(chunk.len(), l);
                }
            }
            let train_values = metrics.iter().map(|m| MetricValue::of(&**m)).collect();
            drop(metrics);

            let mut val: Vec<&mut dyn Metric<N::Output, Y>> =
                self.metrics.iter_mut().map(|m| &mut *m.val as _).collect();
            let val_loss = match self.validation {
                Validation::None => None,
                Validation::Data(vx, vy) => Some(mean_loss(net, loss, vx.iter().zip(vy), &mut val)),
                Validation::Split(_) => Some(mean_loss(
                    net,
                    loss,
                    held_out.iter().map(|&i| (&xs[i], &ys[i])),
                    &mut val,
                )),
            };
            let val_values = if val_loss.is_some() {
                val.iter().map(|m| MetricValue::of(&**m)).collect()
            } else {
                Vec::new()
            };
            drop(val);
            let record = EpochRecord {
                epoch,
                epochs: self.epochs,
                learning_rate: opt.learning_rate().to_f64(),
                samples,
                train_loss: if samples == 0 {
                    0.0
                } else {
                    sum / samples as f64
                },
                train_metrics: train_values,
                val_loss,
                val_metrics: val_values,
                seconds: epoch_start.elapsed().as_secs_f64(),
            };
            if let Some(p) = progress.as_mut() {
                p.finish_epoch_with(note(&record));
            }

            let mut stop = None;
            if let Some(w) = watch.as_mut() {
                let (improved, patience_out) = w.observe(&record);
                if improved && restore {
                    net.copy_params_to(&mut best_params)
                        .expect("the buffer holds PARAMS values");
                }
                if patience_out {
                    stop = Some(Stop::EarlyStopping { epoch });
                }
            }
            for c in self.callbacks.iter_mut() {
                if c.on_epoch_end(&record, net) == Control::Stop && stop.is_none() {
                    stop = Some(Stop::Callback { epoch });
                }
            }
            history.epochs.push(record);
            if let Some(s) = stop {
                history.stop = s;
                break;
            }
        }
        if let Some(w) = &watch {
            history.best_epoch = w.best.map(|(e, _)| e);
            let last = history.epochs.last().map(|r| r.epoch);
            if restore && history.best_epoch.is_some() && history.best_epoch != last {
                net.copy_params_from(&best_params)
                    .expect("the buffer holds PARAMS values");
                history.restored_best = true;
            }
        }
        history.seconds = started.elapsed().as_secs_f64();
        Ok(history)
    }

    /// Early stopping's state, after checking that what it watches will be there.
    fn watch(&self, rule: EarlyStopping, has_validation: bool) -> Result<Watch, FitError> {
        if rule.monitor.needs_validation() && !has_validation {
            return Err(FitError::NoValidation);
        }
        let mode = match rule.monitor.metric() {
            None => None,
            Some(name) => {
                let m = self.metrics.iter().find(|m| m.val.name() == name);
                let Some(m) = m else {
                    return Err(FitError::UnknownMetric {
                        name: name.to_string(),
                        available: self.metrics.iter().map(|m| m.val.name()).collect(),
                    });
                };
                Some(m.val.mode())
            }
        };
        Ok(Watch::new(rule, mode))
    }
}

/// The training order (indices to shuffle each epoch) and the held-out indices.
fn split<X, Y>(
    n: usize,
    validation: &Validation<'_, X, Y>,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), FitError> {
    let Validation::Split(fraction) = *validation else {
        return Ok(((0..n).collect(), Vec::new()));
    };
    let held = (fraction * n as f64).round();
    if !(fraction > 0.0 && fraction < 1.0) || held < 1.0 || held >= n as f64 {
        return Err(FitError::ValidationFraction {
            fraction,
            samples: n,
        });
    }
    // Its own stream, so the minibatch order does not depend on whether there is a split.
    let mut rng = SplitMix64::new(seed ^ 0x5EED_5A11_DA7A_5E7E);
    let mut all: Vec<usize> = (0..n).collect();
    shuffle(&mut rng, &mut all);
    let mut held_out = all.split_off(n - held as usize);
    all.sort_unstable();
    held_out.sort_unstable();
    Ok((all, held_out))
}

/// What the progress line adds after the training loss.
fn note(r: &EpochRecord) -> String {
    let mut s = String::new();
    for m in &r.train_metrics {
        let _ = write!(s, "{} {}  ", m.name, m.shown);
    }
    if let Some(l) = r.val_loss {
        let _ = write!(s, "val loss {l:.4}");
    }
    for m in &r.val_metrics {
        let _ = write!(s, "  val {} {}", m.name, m.shown);
    }
    s.trim_end().to_string()
}
