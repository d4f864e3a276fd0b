//! The tensor sets a file holds: any [`Params`] (a lone layer, a gradient), or a network's
//! whole `state_dict`, its parameters and its buffers (batch norm's running statistics) in
//! PyTorch's order. Export and load are written once, over [`Set`].

use crate::{Network, Params, Scalar, StateEntry, TensorInfo, TensorKind};
use core::marker::PhantomData;

/// Tensors `0..count()` of an `Of`, each a slice of `T`.
pub(crate) trait Set<T> {
    type Of;
    fn count() -> usize;
    fn info(i: usize) -> TensorInfo;
    fn get(of: &Self::Of, i: usize) -> &[T];
    fn get_mut(of: &mut Self::Of, i: usize) -> &mut [T];
}

/// The parameter tensors of `P`.
pub(crate) struct ParamsOf<P>(PhantomData<P>);

impl<T, P: Params<T>> Set<T> for ParamsOf<P> {
    type Of = P;
    fn count() -> usize {
        P::TENSORS
    }
    fn info(i: usize) -> TensorInfo {
        P::tensor_info(i)
    }
    fn get(of: &P, i: usize) -> &[T] {
        of.tensor(i)
    }
    fn get_mut(of: &mut P, i: usize) -> &mut [T] {
        of.tensor_mut(i)
    }
}

/// The `state_dict` of network `N`: parameters and buffers, in [`Network::state_entry`]'s
/// order.
pub(crate) struct StateOf<N>(PhantomData<N>);

impl<T: Scalar, N: Network<T>> Set<T> for StateOf<N> {
    type Of = N;
    fn count() -> usize {
        N::TENSORS + N::RUNNING_STATS
    }
    fn info(i: usize) -> TensorInfo {
        match N::state_entry(i) {
            StateEntry::Param(j) => N::tensor_info(j),
            StateEntry::Buffer(j) => N::running_stats_info(j),
        }
    }
    fn get(of: &N, i: usize) -> &[T] {
        match N::state_entry(i) {
            StateEntry::Param(j) => of.tensor(j),
            StateEntry::Buffer(j) => of.running_stats(j),
        }
    }
    fn get_mut(of: &mut N, i: usize) -> &mut [T] {
        match N::state_entry(i) {
            StateEntry::Param(j) => of.tensor_mut(j),
            StateEntry::Buffer(j) => of.running_stats_mut(j),
        }
    }
}

/// Whether a tensor of this kind holds a count (written as PyTorch's `I64`).
pub(crate) fn is_count(info: &TensorInfo) -> bool {
    info.kind == TensorKind::Count
}
