//! Networks with batch norm on several threads: each shard of `S` samples is normalised by its
//! own statistics ("ghost" batch norm), and the results still do not depend on the thread count.
//!
//! A batch of `n` samples (a multiple of `S`) is cut into `n / S` shards of `S` consecutive
//! samples. Each shard goes through the batch path
//! ([`BatchNetwork::forward_train_batch`]) on its own, on a replica that starts from the
//! network's parameters *and* running statistics, so batch norm normalises each shard by that
//! shard's mean and variance: what PyTorch's `DataParallel` (or `DistributedDataParallel`
//! without `SyncBatchNorm`) computes with one shard per device, and what Hoffer et al. (2017)
//! call ghost batch normalisation. The gradient is the mean of the shards' mean gradients
//! (the shards have the same size, so this is the mean over the batch), summed in shard order.
//!
//! Running statistics: each shard moves the network's statistics by `momentum` towards its
//! own, running ← (1 − m)·running + m·shard, and the network keeps the mean of the shards'
//! results, summed in shard order: running ← (1 − m)·running + m·mean(shard statistics). So
//! one step moves them once, as one step of [`BatchTrainer`](crate::runtime::train::BatchTrainer)
//! does, by the mean of the shards' means and of their unbiased variances.
//!
//! How that differs from whole-batch statistics: a sample is normalised by the statistics of
//! its `S`-sample shard, not of the `n`-sample batch, so the gradient is that of `n / S`
//! batches of `S` (noisier for small `S`, which also regularises); the mean of the shards'
//! variances lacks the spread of the shards' means around the batch mean, so the running
//! variance comes out slightly lower (by the factor (S·P − 1)/(S·P) and that spread, with P
//! positions per channel). With `S = n` it is exactly
//! [`BatchTrainer`](crate::runtime::train::BatchTrainer) (up to rounding) on one thread.

use super::reduce::{read, write, Reducer};
use super::team::Team;
use super::{lock, Batch, ShardSum, ThreadsError};
use crate::fit::GivenAs;
use crate::runtime::loss::Loss;
use crate::runtime::optim::Optimizer;
use crate::runtime::rng::{mix, SplitMix64};
use crate::runtime::train::{clear, finite, Diverged};
use crate::runtime::{BatchNetwork, Model, Scalar, Zeros};
use rand_core::RngCore;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};

/// A thread's replica and the working memory of one shard of `S` samples.
struct Worker<T: Scalar, N: BatchNetwork<T>, const S: usize> {
    net: N,
    xs: Box<[N::Input; S]>,
    record: Box<N::BatchRecord<S>>,
    dys: Box<[N::Output; S]>,
}

/// One shard's gradient sum, loss sum and running statistics after its forward.
struct Shard<T: Scalar, G> {
    grad: G,
    loss: T,
    stats: Vec<T>,
}

impl<T: Scalar, G> ShardSum<T, G> for Shard<T, G> {
    fn sums(&self) -> (&G, T) {
        (&self.grad, self.loss)
    }
}

/// Multi-threaded minibatch training through the batch path, in shards of `S` samples with
/// batch statistics per shard (see the module docs): the threaded counterpart of
/// [`BatchTrainer`](crate::runtime::train::BatchTrainer), for networks with `batch_norm`
/// (and any other network).
///
/// Parameters and running statistics are bit-identical for any thread count with the same
/// seed and `S`. Buffers for a shard are allocated on the first step that needs them; later
/// steps allocate nothing.
// `T` last, as in `BatchTrainer`: only it has a default.
pub struct ParallelBatchTrainer<
    N: BatchNetwork<T>,
    const S: usize,
    T: Scalar = <N as Model>::Scalar,
> {
    team: Team,
    workers: Vec<Mutex<Worker<T, N, S>>>,
    shards: Vec<RwLock<Shard<T, N::Grad>>>,
    reducer: Reducer<N::Grad>,
    grad: Box<N::Grad>,
    /// Draws one seed per step for the replicas' dropout masks.
    rng: SplitMix64,
}

/// A network that trains on several threads through the batch path: cloned into a replica per
/// thread, with buffers that live on those threads. Every generated network with
/// `#[derive(Clone)]` is one, with or without `batch_norm`.
pub trait BatchReplicable<T: Scalar>:
    BatchNetwork<T, Grad: Send + Sync, Input: Send + Sync, Output: Send> + Clone + Send + Sync
{
}

impl<T, N> BatchReplicable<T> for N
where
    T: Scalar,
    N: BatchNetwork<T, Grad: Send + Sync, Input: Send + Sync, Output: Send> + Clone + Send + Sync,
{
}

impl<N: BatchReplicable<T>, const S: usize, T: Scalar> ParallelBatchTrainer<N, S, T>
where
    N::BatchRecord<S>: Send,
{
    const SHARD: () = assert!(S > 0, "a shard holds at least one sample");

    /// `threads` threads (0: one per core) with replicas cloned from `net`, dropout masks
    /// drawn from `seed`. A batch of `n` samples keeps `n / S` threads busy at most.
    pub fn new(net: &N, threads: usize, seed: u64) -> Result<Self, ThreadsError> {
        #[allow(clippy::let_unit_value)]
        let () = Self::SHARD;
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let team = Team::new(threads).map_err(ThreadsError::Spawn)?;
        let workers = (0..threads)
            .map(|_| {
                Mutex::new(Worker {
                    net: net.clone(),
                    xs: Box::new(Zeros::zeros()),
                    record: Box::new(Zeros::zeros()),
                    dys: Box::new(Zeros::zeros()),
                })
            })
            .collect();
        Ok(ParallelBatchTrainer {
            team,
            workers,
            shards: Vec::new(),
            reducer: Reducer::new(threads),
            grad: Box::new(N::Grad::zeros()),
            rng: SplitMix64::new(seed),
        })
    }

    /// The threads that share a batch.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// The mean gradient of the last step (after the hook of [`step_with`](Self::step_with)).
    pub fn grad(&self) -> &N::Grad {
        &self.grad
    }

    /// One step on the batch `inputs` with `targets` (a multiple of `S` samples): the mean
    /// gradient over the shards, then one optimiser update. Returns the mean loss, or
    /// [`Diverged`] without updating the parameters (the running statistics have moved, as
    /// with [`BatchTrainer`](crate::runtime::train::BatchTrainer)).
    ///
    /// # Panics
    /// If `inputs` and `targets` differ in length, or the batch is not a whole number of
    /// shards.
    pub fn step<L, O, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        inputs: &[N::Input],
        targets: &[Y],
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output> + Sync,
        L::Target: GivenAs<Y>,
        Y: Sync,
        O: Optimizer<N, T> + ?Sized,
    {
        let all = Batch::All;
        self.step_with(net, opt, loss, inputs, targets, all, |_, _| T::zero())
    }

    /// The general step: the samples of `batch` (a multiple of `S` of them), and a hook between
    /// the mean gradient and the update, as in
    /// [`Trainer::step_with`](crate::runtime::train::Trainer::step_with).
    ///
    /// # Panics
    /// As [`step`](Self::step), or if an index is out of range.
    #[allow(clippy::too_many_arguments)]
    pub fn step_with<L, O, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        inputs: &[N::Input],
        targets: &[Y],
        batch: Batch<'_>,
        before_update: impl FnOnce(&N, &mut N::Grad) -> T,
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output> + Sync,
        L::Target: GivenAs<Y>,
        Y: Sync,
        O: Optimizer<N, T> + ?Sized,
    {
        let n = batch.check(inputs.len(), targets.len());
        assert!(
            n.is_multiple_of(S),
            "a batch of {n} samples is not a whole number of shards of {S}; use a multiple of {S}"
        );
        let shards = n / S;
        if shards == 0 {
            return Ok(T::zero());
        }
        while self.shards.len() < shards {
            let stats = (0..N::RUNNING_STATS).map(|i| net.running_stats(i).len());
            self.shards.push(RwLock::new(Shard {
                grad: N::Grad::zeros(),
                loss: T::zero(),
                stats: vec![T::zero(); stats.sum()],
            }));
        }
        let seed = self.rng.next_u64();
        let master = &*net;
        let (workers, shard_sums) = (&self.workers, &self.shards);
        // As in the per-sample trainer, each thread takes the next shard not yet taken; a
        // shard has its own sums, dropout seed and starting statistics (the network's).
        let next = AtomicUsize::new(0);
        let work = |t: usize| {
            let mut s = next.fetch_add(1, Relaxed);
            if s >= shards {
                return;
            }
            let mut guard = lock(&workers[t]);
            let w = &mut *guard;
            for i in 0..N::TENSORS {
                w.net.tensor_mut(i).copy_from_slice(master.tensor(i));
            }
            while s < shards {
                let mut shard = write(&shard_sums[s]);
                let shard = &mut *shard;
                for i in 0..N::RUNNING_STATS {
                    w.net
                        .running_stats_mut(i)
                        .copy_from_slice(master.running_stats(i));
                }
                w.net.reseed(mix(seed, s as u64));
                for (k, x) in w.xs.iter_mut().enumerate() {
                    x.clone_from(&inputs[batch.sample(s * S + k)]);
                }
                w.net.forward_train_batch(&w.xs, &mut w.record);
                shard.loss = T::zero();
                let ys = N::batch_outputs(&w.record);
                for (k, (y, dy)) in ys.iter().zip(w.dys.iter_mut()).enumerate() {
                    let target = &targets[batch.sample(s * S + k)];
                    shard.loss += L::Target::given(target, |t| loss.value_and_grad(y, t, dy));
                }
                clear(&mut shard.grad);
                w.net.backward_batch(&w.record, &w.dys, &mut shard.grad);
                let mut at = 0;
                for i in 0..N::RUNNING_STATS {
                    let stats = w.net.running_stats(i);
                    shard.stats[at..at + stats.len()].copy_from_slice(stats);
                    at += stats.len();
                }
                s = next.fetch_add(1, Relaxed);
            }
        };
        self.team.run(&work);
        let inv = T::one() / T::of(n as f64);
        let sum = (self.reducer).mean(&mut self.team, &self.shards[..shards], &mut self.grad, inv);
        self.average_stats(net, shards);
        let penalty = before_update(net, &mut self.grad);
        let l = finite(sum * inv + penalty, &*self.grad)?;
        opt.step(net, &self.grad);
        Ok(l)
    }

    /// The network's running statistics ← the mean of the shards', summed in shard order.
    fn average_stats(&self, net: &mut N, shards: usize) {
        let inv = T::one() / T::of(shards as f64);
        let first = read(&self.shards[0]);
        let mut at = 0;
        for i in 0..N::RUNNING_STATS {
            let out = net.running_stats_mut(i);
            out.copy_from_slice(&first.stats[at..at + out.len()]);
            at += out.len();
        }
        drop(first);
        for shard in &self.shards[1..shards] {
            let shard = read(shard);
            let mut at = 0;
            for i in 0..N::RUNNING_STATS {
                let out = net.running_stats_mut(i);
                for (o, &v) in out.iter_mut().zip(&shard.stats[at..]) {
                    *o += v;
                }
                at += out.len();
            }
        }
        for i in 0..N::RUNNING_STATS {
            for o in net.running_stats_mut(i) {
                *o *= inv;
            }
        }
    }
}
