//! How one minibatch becomes one optimiser step: the only piece of [`Fit`](super::Fit) that
//! knows about a trainer. A new way of stepping (threads, say) is one more impl of
//! [`Stepper`].

use crate::parallel::{Batch, BatchReplicable, ParallelBatchTrainer, ParallelTrainer, Replicable};
use stacknet_runtime::loss::Loss;
use stacknet_runtime::optim::Optimizer;
use stacknet_runtime::train::{BatchTrainer, Diverged, Trainer};
use stacknet_runtime::{AsTarget, BatchNetwork, Network, PerSample, Scalar};

use super::GivenAs;

/// The hook between the mean gradient and the update: may change the gradient, returns a
/// penalty added to the reported loss.
pub(crate) type Hook<'h, T, N> = dyn FnMut(&N, &mut <N as Network<T>>::Grad) -> T + 'h;

/// Steps on minibatches given as indices into the training data, scored by a loss `L`.
pub(crate) trait Stepper<T: Scalar, N: Network<T>, Y, L: Loss<T, N::Output>> {
    /// Whether a minibatch of `len` samples can be stepped on (a fixed-size stepper skips a
    /// final partial batch).
    fn takes(&self, len: usize) -> bool;

    /// How many of an epoch's `samples` are stepped on in minibatches of `batch`.
    fn per_epoch(&self, samples: usize, batch: usize) -> usize {
        let _ = batch;
        samples
    }

    /// Whether [`step`](Stepper::step) shows each sample's training output to `observe`
    /// (the threaded stepper does not: the outputs stay on their threads).
    fn observes(&self) -> bool {
        true
    }

    /// One optimiser step on the samples `batch` of (`xs`, `ys`): the mean gradient, `hook`,
    /// the finiteness check, the update. Calls `observe` with every sample's training
    /// output. Returns the mean loss plus the hook's penalty.
    #[allow(clippy::too_many_arguments)]
    fn step<O: Optimizer<N, T>>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        data: (&[N::Input], &[Y]),
        batch: &[usize],
        hook: &mut Hook<'_, T, N>,
        observe: &mut dyn FnMut(&N::Output, &Y),
    ) -> Result<T, Diverged>;
}

/// One sample at a time through [`Trainer`], in the memory of one sample.
pub(crate) struct Sequential<T: Scalar, N: Network<T>> {
    trainer: Box<Trainer<N, T>>,
}

impl<T: Scalar, N: PerSample<T>> Sequential<T, N> {
    pub(crate) fn new() -> Self {
        Sequential {
            trainer: Box::new(Trainer::new()),
        }
    }
}

impl<T, N, Y, L> Stepper<T, N, Y, L> for Sequential<T, N>
where
    T: Scalar,
    N: PerSample<T>,
    L: Loss<T, N::Output>,
    L::Target: GivenAs<Y> + Clone,
{
    fn takes(&self, len: usize) -> bool {
        len > 0
    }

    fn step<O: Optimizer<N, T>>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        (xs, ys): (&[N::Input], &[Y]),
        batch: &[usize],
        hook: &mut Hook<'_, T, N>,
        observe: &mut dyn FnMut(&N::Output, &Y),
    ) -> Result<T, Diverged> {
        // Each target is handed over as the loss takes it, by value: a wrapper lending `&Y`
        // would overlap the runtime's `impl AsTarget<X> for X`, and targets are small
        // (a class index, an output-sized vector).
        let given = |i: usize| <L::Target as GivenAs<Y>>::given(&ys[i], |t| t.clone());
        let samples = batch.iter().map(|&i| (&xs[i], given(i)));
        let update = |n: &N, g: &mut N::Grad| hook(n, g);
        // The trainer shows the target as the loss takes it; the metrics want it as given,
        // and see the samples in the batch's order.
        let mut given = batch.iter().map(|&i| &ys[i]);
        self.trainer
            .step_observed(net, opt, loss, samples, update, |y, _| {
                if let Some(t) = given.next() {
                    observe(y, t);
                }
            })
    }
}

/// Whole minibatches of `B` through [`BatchTrainer`] (what `batch_norm` needs). The samples
/// are copied into buffers allocated once, the targets as the loss takes them (`Tgt`).
pub(crate) struct Batched<T: Scalar, N: BatchNetwork<T>, Tgt, const B: usize> {
    trainer: Box<BatchTrainer<N, B, T>>,
    xs: Vec<N::Input>,
    ys: Vec<Tgt>,
}

impl<T: Scalar, N: BatchNetwork<T>, Tgt, const B: usize> Batched<T, N, Tgt, B> {
    pub(crate) fn new() -> Self {
        Batched {
            trainer: Box::new(BatchTrainer::new()),
            xs: Vec::with_capacity(B),
            ys: Vec::with_capacity(B),
        }
    }
}

impl<T, N, Y, L, const B: usize> Stepper<T, N, Y, L> for Batched<T, N, L::Target, B>
where
    T: Scalar,
    N: BatchNetwork<T>,
    L: Loss<T, N::Output>,
    L::Target: GivenAs<Y> + Clone,
{
    fn takes(&self, len: usize) -> bool {
        len == B
    }

    fn per_epoch(&self, samples: usize, _batch: usize) -> usize {
        samples / B * B
    }

    fn step<O: Optimizer<N, T>>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        (xs, ys): (&[N::Input], &[Y]),
        batch: &[usize],
        hook: &mut Hook<'_, T, N>,
        observe: &mut dyn FnMut(&N::Output, &Y),
    ) -> Result<T, Diverged> {
        // Within capacity: no allocation after the first batch.
        self.xs.clear();
        self.ys.clear();
        self.xs.extend(batch.iter().map(|&i| xs[i].clone()));
        let given = |i: usize| <L::Target as GivenAs<Y>>::given(&ys[i], |t| t.clone());
        self.ys.extend(batch.iter().map(|&i| given(i)));
        let (Ok(bx), Ok(by)) = (
            <&[N::Input; B]>::try_from(&self.xs[..]),
            <&[L::Target; B]>::try_from(&self.ys[..]),
        ) else {
            unreachable!("`takes` admits batches of exactly {B} samples only")
        };
        let l = self
            .trainer
            .step_with(net, opt, loss, bx, by, |n, g| hook(n, g))?;
        for (y, &i) in N::batch_outputs(&self.trainer.record).iter().zip(batch) {
            observe(y, &ys[i]);
        }
        Ok(l)
    }
}

/// The batch split across threads through [`ParallelTrainer`]: the same parameters for any
/// thread count.
pub(crate) struct Threaded<T: Scalar, N: Network<T>> {
    trainer: ParallelTrainer<N, T>,
}

impl<T: Scalar, N: Replicable<T>> Threaded<T, N> {
    pub(crate) fn new(trainer: ParallelTrainer<N, T>) -> Self {
        Threaded { trainer }
    }
}

impl<T, N, Y, L> Stepper<T, N, Y, L> for Threaded<T, N>
where
    T: Scalar,
    N: Replicable<T>,
    L: Loss<T, N::Output> + Sync,
    Y: AsTarget<L::Target> + Sync,
{
    fn takes(&self, len: usize) -> bool {
        len > 0
    }

    fn observes(&self) -> bool {
        false
    }

    fn step<O: Optimizer<N, T>>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        (xs, ys): (&[N::Input], &[Y]),
        batch: &[usize],
        hook: &mut Hook<'_, T, N>,
        _: &mut dyn FnMut(&N::Output, &Y),
    ) -> Result<T, Diverged> {
        let batch = Batch::Indexed(batch);
        self.trainer
            .step_with(net, opt, loss, xs, ys, batch, |n, g| hook(n, g))
    }
}

/// Whole minibatches of `batch` split across threads in shards of `S` through
/// [`ParallelBatchTrainer`]; a final partial minibatch is skipped.
pub(crate) struct ThreadedBatches<T: Scalar, N: BatchNetwork<T>, const S: usize> {
    trainer: ParallelBatchTrainer<N, S, T>,
    batch: usize,
}

impl<T: Scalar, N: BatchReplicable<T>, const S: usize> ThreadedBatches<T, N, S>
where
    N::BatchRecord<S>: Send,
{
    pub(crate) fn new(trainer: ParallelBatchTrainer<N, S, T>, batch: usize) -> Self {
        ThreadedBatches { trainer, batch }
    }
}

impl<T, N, Y, L, const S: usize> Stepper<T, N, Y, L> for ThreadedBatches<T, N, S>
where
    T: Scalar,
    N: BatchReplicable<T>,
    N::BatchRecord<S>: Send,
    L: Loss<T, N::Output, Target: GivenAs<Y>> + Sync,
    Y: Sync,
{
    fn takes(&self, len: usize) -> bool {
        len == self.batch
    }

    fn per_epoch(&self, samples: usize, batch: usize) -> usize {
        samples / batch * batch
    }

    fn observes(&self) -> bool {
        false
    }

    fn step<O: Optimizer<N, T>>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        (xs, ys): (&[N::Input], &[Y]),
        batch: &[usize],
        hook: &mut Hook<'_, T, N>,
        _: &mut dyn FnMut(&N::Output, &Y),
    ) -> Result<T, Diverged> {
        let batch = Batch::Indexed(batch);
        self.trainer
            .step_with(net, opt, loss, xs, ys, batch, |n, g| hook(n, g))
    }
}
