//! The mean gradient of a step's shards, with every thread of the team summing its own range of
//! each tensor: a pass over all the shard buffers is too long to leave to one thread.
//!
//! Every value is still `inv · (((shard 0 + shard 1) + shard 2) + …)`, in shard order, so the
//! result does not depend on the thread count. Thread 0 writes its ranges into the result;
//! the others into buffers of their own, whose ranges are then copied in (the gradient type
//! offers its tensors one `&mut` at a time, so threads cannot share it).

use super::team::Team;
use super::{lock, ShardSum};
use crate::runtime::{Params, Scalar, Zeros};
use std::ops::Range;
use std::sync::{Mutex, RwLock};

/// One gradient buffer per thread after the first.
pub(super) struct Reducer<G> {
    partials: Vec<Mutex<G>>,
}

impl<G: Zeros> Reducer<G> {
    pub(super) fn new(threads: usize) -> Self {
        let partials = (1..threads).map(|_| Mutex::new(G::zeros())).collect();
        Reducer { partials }
    }
}

impl<G> Reducer<G> {
    /// `grad = inv · (shard 0 + shard 1 + …)` on `team`; returns the sum of the shards' losses.
    pub(super) fn mean<T, X>(
        &self,
        team: &mut Team,
        shards: &[RwLock<X>],
        grad: &mut G,
        inv: T,
    ) -> T
    where
        T: Scalar,
        G: Params<T> + Send + Sync,
        X: ShardSum<T, G> + Send + Sync,
    {
        let threads = self.partials.len() + 1;
        let first = Mutex::new(&mut *grad);
        let job = |t: usize| {
            let (mut first_guard, mut partial_guard);
            let out: &mut G = if t == 0 {
                first_guard = lock(&first);
                &mut first_guard
            } else {
                partial_guard = lock(&self.partials[t - 1]);
                &mut partial_guard
            };
            for (s, shard) in shards.iter().enumerate() {
                let shard = read(shard);
                let (g, _) = shard.sums();
                for i in 0..G::TENSORS {
                    let src = g.tensor(i);
                    let r = range(src.len(), t, threads);
                    let (dst, src) = (&mut out.tensor_mut(i)[r.clone()], &src[r]);
                    if s == 0 {
                        dst.copy_from_slice(src);
                    } else {
                        for (o, &v) in dst.iter_mut().zip(src) {
                            *o += v;
                        }
                    }
                }
            }
            for i in 0..G::TENSORS {
                let dst = out.tensor_mut(i);
                let r = range(dst.len(), t, threads);
                for v in &mut dst[r] {
                    *v *= inv;
                }
            }
        };
        team.run(&job);
        for (t, partial) in self.partials.iter().enumerate() {
            let partial = lock(partial);
            for i in 0..G::TENSORS {
                let src = partial.tensor(i);
                let r = range(src.len(), t + 1, threads);
                grad.tensor_mut(i)[r.clone()].copy_from_slice(&src[r]);
            }
        }
        shards
            .iter()
            .fold(T::zero(), |loss, shard| loss + read(shard).sums().1)
    }
}

/// Thread `t`'s share of `len` values.
fn range(len: usize, t: usize, threads: usize) -> Range<usize> {
    len * t / threads..len * (t + 1) / threads
}

/// Reads a shard; as with [`lock`], a panic cannot leave it half-written for the next step.
pub(super) fn read<X>(m: &RwLock<X>) -> std::sync::RwLockReadGuard<'_, X> {
    m.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes a shard (see [`read`]).
pub(super) fn write<X>(m: &RwLock<X>) -> std::sync::RwLockWriteGuard<'_, X> {
    m.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
