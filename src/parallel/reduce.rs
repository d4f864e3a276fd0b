//! The mean gradient of a step's shards, with every thread of the team summing chunks of it: a
//! pass over all the shard buffers is too long to leave to one thread.
//!
//! Every value is still `inv · (((shard 0 + shard 1) + shard 2) + …)`, in shard order, so the
//! result does not depend on the thread count. A chunk is the same slice of every tensor;
//! each thread takes the next chunk not yet taken (so a thread the machine runs late takes
//! fewer), thread 0 writing into the result and the others into buffers of their own, whose
//! chunks are then copied in (the gradient type lends its tensors one `&mut` at a time, so
//! threads cannot share it).

use super::team::Team;
use super::{lock, ShardSum};
use crate::runtime::{Params, Scalar, Zeros};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};

/// Chunks per thread: enough for a late thread to leave its share to the others.
const CHUNKS_PER_THREAD: usize = 4;

/// One gradient buffer per thread after the first, and which thread summed each chunk.
pub(super) struct Reducer<G> {
    partials: Vec<Mutex<G>>,
    owners: Vec<AtomicUsize>,
}

impl<G: Zeros> Reducer<G> {
    pub(super) fn new(threads: usize) -> Self {
        let partials = (1..threads).map(|_| Mutex::new(G::zeros())).collect();
        let chunks = if threads > 1 {
            threads * CHUNKS_PER_THREAD
        } else {
            1
        };
        let owners = (0..chunks).map(|_| AtomicUsize::new(0)).collect();
        Reducer { partials, owners }
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
        let chunks = self.owners.len();
        let (next, first) = (AtomicUsize::new(0), Mutex::new(&mut *grad));
        let job = |t: usize| {
            let mut c = next.fetch_add(1, Relaxed);
            if c >= chunks {
                return;
            }
            let (mut first_guard, mut partial_guard);
            let out: &mut G = if t == 0 {
                first_guard = lock(&first);
                &mut first_guard
            } else {
                partial_guard = lock(&self.partials[t - 1]);
                &mut partial_guard
            };
            while c < chunks {
                self.owners[c].store(t, Relaxed);
                sum_chunk(out, shards, c, chunks, inv);
                c = next.fetch_add(1, Relaxed);
            }
        };
        // The team's hand-over orders the owners' stores before the loads below.
        team.run(&job);
        for (c, owner) in self.owners.iter().enumerate() {
            let t = owner.load(Relaxed);
            if t == 0 {
                continue;
            }
            let partial = lock(&self.partials[t - 1]);
            for i in 0..G::TENSORS {
                let src = partial.tensor(i);
                let r = range(src.len(), c, chunks);
                grad.tensor_mut(i)[r.clone()].copy_from_slice(&src[r]);
            }
        }
        shards
            .iter()
            .fold(T::zero(), |loss, shard| loss + read(shard).sums().1)
    }
}

/// Chunk `c` of `out` ← `inv` · the sum of the shards' chunks `c`, in shard order.
fn sum_chunk<T, G, X>(out: &mut G, shards: &[RwLock<X>], c: usize, chunks: usize, inv: T)
where
    T: Scalar,
    G: Params<T>,
    X: ShardSum<T, G>,
{
    for (s, shard) in shards.iter().enumerate() {
        let shard = read(shard);
        let (g, _) = shard.sums();
        for i in 0..G::TENSORS {
            let src = g.tensor(i);
            let r = range(src.len(), c, chunks);
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
        let r = range(dst.len(), c, chunks);
        for v in &mut dst[r] {
            *v *= inv;
        }
    }
}

/// Chunk `c` of `chunks` of `len` values.
fn range(len: usize, c: usize, chunks: usize) -> Range<usize> {
    len * c / chunks..len * (c + 1) / chunks
}

/// Reads a shard; as with [`lock`], a panic cannot leave it half-written for the next step.
pub(super) fn read<X>(m: &RwLock<X>) -> std::sync::RwLockReadGuard<'_, X> {
    m.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes a shard (see [`read`]).
pub(super) fn write<X>(m: &RwLock<X>) -> std::sync::RwLockWriteGuard<'_, X> {
    m.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
