//! Minibatch training on several threads, with results that do not depend on the thread count.
//!
//! A batch is cut into a fixed number of *shards*, contiguous runs of its samples, whatever
//! the number of threads. Each shard's gradient is summed sample by sample into a buffer of
//! its own, on a replica of the network that a thread keeps from step to step (the replica
//! takes the network's parameters at the start of every step, and its dropout layers are
//! reseeded from the step and the shard). The shard sums are then added in shard order. So
//! one seed gives bit-identical parameters with 1, 2 or 8 threads: only the time changes.
//! Networks with `batch_norm` train the same way through [`ParallelBatchTrainer`], with
//! statistics per shard.
//!
//! The price of that guarantee is one gradient buffer per shard and one replica per thread,
//! allocated once, and a pass over the shard buffers per step (split across the threads);
//! the step itself allocates nothing. The calling thread works on the batch too, and the
//! other threads, started once, wait for the next step by spinning briefly and then
//! sleeping (`team.rs`). Each thread takes the next shard not yet taken, so a thread the
//! machine runs late takes fewer. Threads beyond the shard count idle: use
//! [`ParallelTrainer::with_shards`] on machines with more cores than [`DEFAULT_SHARDS`].

use crate::runtime::loss::Loss;
use crate::runtime::optim::Optimizer;
use crate::runtime::rng::{mix, SplitMix64};
use crate::runtime::train::{clear, finite, Diverged};
use crate::runtime::{AsTarget, Model, Network, PerSample, Scalar, Zeros};
use rand_core::RngCore;
use reduce::{write, Reducer};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};
use team::Team;

mod batch;
mod reduce;
mod team;

pub use batch::{BatchReplicable, ParallelBatchTrainer};

/// The shard count of [`ParallelTrainer::new`]: enough for this many threads to share a batch.
pub const DEFAULT_SHARDS: usize = 4;

/// A thread's replica of the network and one sample's working memory.
struct Worker<N: Network<T>, T: Scalar> {
    net: N,
    record: N::Record,
    dy: N::Output,
}

/// One shard's gradient sum and loss sum.
struct Shard<N: Network<T>, T: Scalar> {
    grad: N::Grad,
    loss: T,
}

/// Multi-threaded minibatch training through the per-sample path (see the module docs); the
/// threaded counterpart of [`Trainer`](crate::runtime::train::Trainer), for networks without
/// batch layers.
///
/// Its results equal [`Trainer`](crate::runtime::train::Trainer)'s up to the rounding of the
/// gradient sum (which is summed per shard here), and are identical for any thread count.
pub struct ParallelTrainer<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    team: Team,
    workers: Vec<Mutex<Worker<N, T>>>,
    shards: Vec<RwLock<Shard<N, T>>>,
    reducer: Reducer<N::Grad>,
    grad: Box<N::Grad>,
    /// Draws one seed per step for the replicas' dropout masks.
    rng: SplitMix64,
}

/// Why a [`ParallelTrainer`] could not be built.
#[derive(Debug)]
pub enum ThreadsError {
    /// Zero shards were asked for.
    NoShards,
    /// The operating system refused to start the threads.
    Spawn(std::io::Error),
}

impl std::fmt::Display for ThreadsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThreadsError::NoShards => write!(f, "a batch must be cut into at least one shard"),
            ThreadsError::Spawn(e) => write!(f, "could not start the training threads: {e}"),
        }
    }
}

impl std::error::Error for ThreadsError {}

/// A network that trains on several threads: one sample at a time ([`PerSample`]), cloned
/// into a replica per thread, with buffers that live on those threads. Every generated
/// network with `#[derive(Clone)]` and without `batch_norm` is one.
pub trait Replicable<T: Scalar>:
    PerSample<T, Grad: Send + Sync, Record: Send, Output: Send, Input: Sync> + Clone + Send + Sync
{
}

impl<T, N> Replicable<T> for N
where
    T: Scalar,
    N: PerSample<T, Grad: Send + Sync, Record: Send, Output: Send, Input: Sync>
        + Clone
        + Send
        + Sync,
{
}

impl<N: Replicable<T>, T: Scalar> ParallelTrainer<N, T> {
    /// `threads` threads (0: one per core) over [`DEFAULT_SHARDS`] shards per batch, replicas
    /// cloned from `net`, dropout masks drawn from `seed`.
    ///
    /// A network with batch layers is refused by the [`PerSample`] bound, as
    /// [`Trainer::new`](crate::runtime::train::Trainer::new) refuses it: train it with
    /// [`ParallelBatchTrainer`].
    pub fn new(net: &N, threads: usize, seed: u64) -> Result<Self, ThreadsError> {
        Self::with_shards(net, threads, DEFAULT_SHARDS, seed)
    }

    /// [`new`](Self::new) with `shards` shards per batch: at most that many threads work at
    /// once, and results are identical for any thread count with the same shard count.
    pub fn with_shards(
        net: &N,
        threads: usize,
        shards: usize,
        seed: u64,
    ) -> Result<Self, ThreadsError> {
        if shards == 0 {
            return Err(ThreadsError::NoShards);
        }
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(shards);
        let team = Team::new(threads).map_err(ThreadsError::Spawn)?;
        let workers = (0..threads)
            .map(|_| {
                Mutex::new(Worker {
                    net: net.clone(),
                    record: N::Record::zeros(),
                    dy: N::Output::zeros(),
                })
            })
            .collect();
        let shards = (0..shards)
            .map(|_| {
                RwLock::new(Shard {
                    grad: N::Grad::zeros(),
                    loss: T::zero(),
                })
            })
            .collect();
        Ok(ParallelTrainer {
            reducer: Reducer::new(threads),
            team,
            workers,
            shards,
            grad: Box::new(N::Grad::zeros()),
            rng: SplitMix64::new(seed),
        })
    }

    /// The threads that share a batch.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// The shards a batch is cut into.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The mean gradient of the last step (after the hook of [`step_with`](Self::step_with)).
    pub fn grad(&self) -> &N::Grad {
        &self.grad
    }

    /// One step on the batch `inputs` with `targets` (the loss's, or class labels of any
    /// unsigned integer type): the mean of the per-sample gradients, then one optimiser update. Returns the mean loss (zero for an empty batch, which
    /// changes nothing), or [`Diverged`] without updating.
    ///
    /// # Panics
    /// If `inputs` and `targets` differ in length.
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
        Y: AsTarget<L::Target> + Sync,
        O: Optimizer<N, T> + ?Sized,
    {
        self.step_with(net, opt, loss, inputs, targets, Batch::All, |_, _| {
            T::zero()
        })
    }

    /// [`step`](Self::step) on the samples `batch` indexes (a minibatch of a shuffled epoch).
    ///
    /// # Panics
    /// If `inputs` and `targets` differ in length, or an index is out of range.
    pub fn step_indexed<L, O, Y>(
        &mut self,
        net: &mut N,
        opt: &mut O,
        loss: &L,
        inputs: &[N::Input],
        targets: &[Y],
        batch: &[usize],
    ) -> Result<T, Diverged>
    where
        L: Loss<T, N::Output> + Sync,
        Y: AsTarget<L::Target> + Sync,
        O: Optimizer<N, T> + ?Sized,
    {
        let batch = Batch::Indexed(batch);
        self.step_with(net, opt, loss, inputs, targets, batch, |_, _| T::zero())
    }

    /// The general step: the samples of `batch`, and a hook between the mean gradient and
    /// the update, as in [`Trainer::step_with`](crate::runtime::train::Trainer::step_with).
    ///
    /// # Panics
    /// If `inputs` and `targets` differ in length, or an index is out of range.
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
        Y: AsTarget<L::Target> + Sync,
        O: Optimizer<N, T> + ?Sized,
    {
        let n = batch.check(inputs.len(), targets.len());
        if n == 0 {
            return Ok(T::zero());
        }
        let shards = self.shards.len().min(n);
        let seed = self.rng.next_u64();
        let master = &*net;
        let (workers, shard_sums) = (&self.workers, &self.shards);
        // Each thread takes the next shard not yet taken until none is left, so a thread the
        // machine runs late takes fewer. Which thread runs a shard changes nothing but the
        // time: its sum and its dropout seed are its own.
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
                clear(&mut shard.grad);
                shard.loss = T::zero();
                w.net.reseed(mix(seed, s as u64));
                for k in s * n / shards..(s + 1) * n / shards {
                    let i = batch.sample(k);
                    w.net.forward_train(&inputs[i], &mut w.record);
                    let y = N::output(&w.record);
                    let dy = &mut w.dy;
                    shard.loss += targets[i].with_target(|t| loss.value_and_grad(y, t, dy));
                    w.net.backward(&w.record, &w.dy, &mut shard.grad, None);
                }
                s = next.fetch_add(1, Relaxed);
            }
        };
        self.team.run(&work);
        let inv = T::one() / T::of(n as f64);
        let sum = (self.reducer).mean(&mut self.team, &self.shards[..shards], &mut self.grad, inv);
        let penalty = before_update(net, &mut self.grad);
        let l = finite(sum * inv + penalty, &*self.grad)?;
        opt.step(net, &self.grad);
        Ok(l)
    }
}

/// A shard's gradient sum and loss sum.
trait ShardSum<T, G> {
    fn sums(&self) -> (&G, T);
}

impl<T: Scalar, N: Network<T>> ShardSum<T, N::Grad> for Shard<N, T> {
    fn sums(&self) -> (&N::Grad, T) {
        (&self.grad, self.loss)
    }
}

/// The samples of one step: all of them, or those a list of indices names.
#[derive(Clone, Copy, Debug)]
pub enum Batch<'a> {
    /// Every sample, in order.
    All,
    /// The samples at these indices, in this order.
    Indexed(&'a [usize]),
}

impl Batch<'_> {
    fn len(&self, samples: usize) -> usize {
        match self {
            Batch::All => samples,
            Batch::Indexed(indices) => indices.len(),
        }
    }

    /// The batch's size, after checking that the data pairs up and the indices are in range.
    fn check(&self, inputs: usize, targets: usize) -> usize {
        assert_eq!(
            inputs, targets,
            "{inputs} inputs but {targets} targets: every input needs its target"
        );
        if let Batch::Indexed(indices) = self {
            if let Some(&i) = indices.iter().find(|&&i| i >= inputs) {
                panic!("batch index {i} is out of range for {inputs} samples");
            }
        }
        self.len(inputs)
    }

    fn sample(&self, k: usize) -> usize {
        match self {
            Batch::All => k,
            Batch::Indexed(indices) => indices[k],
        }
    }
}

/// A worker that panicked poisoned its lock, and the panic has already reached the caller
/// through the pool: the buffers are rewritten from scratch on the next step, so go on.
fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
