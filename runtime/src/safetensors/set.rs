//! The tensor sets a file holds: any [`Params`] (a lone layer, a gradient), or a network's
//! whole `state_dict`, its parameters and its buffers (batch norm's running statistics) in
//! PyTorch's order, or two sets one after the other (a network and its preprocessing).
//! Export and load are written once, over [`Set`] and [`SetMut`].

use crate::{Network, Params, Scalar, StateEntry, TensorInfo, TensorKind};
use core::marker::PhantomData;

/// Tensors `0..count()` of an `Of`, each a slice of `T`.
pub(crate) trait Set<T> {
    type Of;
    fn count() -> usize;
    fn info(i: usize) -> TensorInfo;
    fn get(of: &Self::Of, i: usize) -> &[T];
}

/// A [`Set`] that loading writes into.
pub(crate) trait SetMut<T>: Set<T> {
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
}

impl<T, P: Params<T>> SetMut<T> for ParamsOf<P> {
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
}

impl<T: Scalar, N: Network<T>> SetMut<T> for StateOf<N> {
    fn get_mut(of: &mut N, i: usize) -> &mut [T] {
        match N::state_entry(i) {
            StateEntry::Param(j) => of.tensor_mut(j),
            StateEntry::Buffer(j) => of.running_stats_mut(j),
        }
    }
}

/// `A`'s tensors, then `B`'s, read through a pair of references (what is exported).
pub(crate) struct Then<'r, A, B>(PhantomData<(&'r (), A, B)>);

/// [`Then`] through a pair of mutable references (what is loaded).
pub(crate) struct ThenMut<'r, A, B>(PhantomData<(&'r (), A, B)>);

/// Where tensor `i` of `A` then `B` is: `None` for `A`'s tensor `i`, `Some(j)` for `B`'s `j`.
fn in_second<T, A: Set<T>>(i: usize) -> Option<usize> {
    i.checked_sub(A::count())
}

/// Tensor `i` of `A` then `B`, read from `a` and `b`.
fn get_pair<'s, T, A: Set<T>, B: Set<T>>(a: &'s A::Of, b: &'s B::Of, i: usize) -> &'s [T] {
    match in_second::<T, A>(i) {
        None => A::get(a, i),
        Some(j) => B::get(b, j),
    }
}

impl<'r, T, A: Set<T, Of: 'r>, B: Set<T, Of: 'r>> Set<T> for Then<'r, A, B> {
    type Of = (&'r A::Of, &'r B::Of);
    fn count() -> usize {
        A::count() + B::count()
    }
    fn info(i: usize) -> TensorInfo {
        in_second::<T, A>(i).map_or_else(|| A::info(i), B::info)
    }
    fn get(of: &Self::Of, i: usize) -> &[T] {
        get_pair::<T, A, B>(of.0, of.1, i)
    }
}

impl<'r, T, A: Set<T, Of: 'r>, B: Set<T, Of: 'r>> Set<T> for ThenMut<'r, A, B> {
    type Of = (&'r mut A::Of, &'r mut B::Of);
    fn count() -> usize {
        Then::<A, B>::count()
    }
    fn info(i: usize) -> TensorInfo {
        Then::<A, B>::info(i)
    }
    fn get(of: &Self::Of, i: usize) -> &[T] {
        get_pair::<T, A, B>(of.0, of.1, i)
    }
}

impl<'r, T, A: SetMut<T, Of: 'r>, B: SetMut<T, Of: 'r>> SetMut<T> for ThenMut<'r, A, B> {
    fn get_mut(of: &mut Self::Of, i: usize) -> &mut [T] {
        match in_second::<T, A>(i) {
            None => A::get_mut(of.0, i),
            Some(j) => B::get_mut(of.1, j),
        }
    }
}

/// The first tensor of `S` from `from` on that one file cannot hold beside an earlier one,
/// and that earlier one. `S` is `A` then `B` with `from = A::count()`: a tensor of `B` named
/// like an earlier tensor (of `A` or of `B`), or whose layer prefix (`standardizer.`) a tensor
/// of `A` is under (a network layer called `standardizer`), so that a file's tensors under a
/// prefix are `B`'s alone.
pub(crate) fn collision<T, S: Set<T>>(from: usize) -> Option<(TensorInfo, TensorInfo)> {
    (from..S::count()).find_map(|i| {
        let t = S::info(i);
        (0..i)
            .map(S::info)
            .enumerate()
            .find(|(j, u)| same_name(&t, u) || (*j < from && is_under(u, t.layer)))
            .map(|(_, u)| (t, u))
    })
}

/// A tensor's full name, `layer.name` (or `name` alone outside a layer), as bytes.
fn full_name(t: &TensorInfo) -> impl Iterator<Item = u8> + '_ {
    let dot: &[u8] = if t.layer.is_empty() { b"" } else { b"." };
    t.layer
        .bytes()
        .chain(dot.iter().copied())
        .chain(t.name.bytes())
}

/// Whether two tensors have one full name, however it is split into layer and name.
pub(crate) fn same_name(a: &TensorInfo, b: &TensorInfo) -> bool {
    full_name(a).eq(full_name(b))
}

/// Whether `t`'s full name starts with `prefix.` (never for an empty prefix).
fn is_under(t: &TensorInfo, prefix: &str) -> bool {
    let mut name = full_name(t);
    !prefix.is_empty() && prefix.bytes().chain([b'.']).all(|c| name.next() == Some(c))
}

/// Whether a tensor of this kind holds a count (written as PyTorch's `I64`).
pub(crate) fn is_count(info: &TensorInfo) -> bool {
    info.kind == TensorKind::Count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shape;

    fn info(layer: &'static str, name: &'static str) -> TensorInfo {
        TensorInfo {
            layer,
            name,
            shape: Shape::scalar(),
            kind: TensorKind::Buffer,
            fan_in: 0,
            fan_out: 0,
        }
    }

    /// A `Params` of two one-value tensors with fixed names.
    macro_rules! two {
        ($ty:ident: $a:expr, $b:expr) => {
            struct $ty([f32; 2]);
            impl Params<f32> for $ty {
                const TENSORS: usize = 2;
                const LEN: usize = 2;
                fn tensor(&self, i: usize) -> &[f32] {
                    self.0.get(i..i + 1).unwrap_or(&[])
                }
                fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
                    self.0.get_mut(i..i + 1).unwrap_or(&mut [])
                }
                fn tensor_info(i: usize) -> TensorInfo {
                    let (layer, name) = [$a, $b][i.min(1)];
                    info(layer, name)
                }
            }
        };
    }
    two!(Net: ("fc", "weight"), ("fc", "bias"));
    two!(Scaler: ("standardizer", "mean"), ("standardizer", "std"));
    two!(Clash: ("", "fc.bias"), ("x", "y"));
    two!(Twice: ("x", "y"), ("x", "y"));
    two!(Layer: ("standardizer", "weight"), ("standardizer.0", "bias"));
    two!(Near: ("standardizer2", "weight"), ("", "standardizer"));

    type Pair<'r, A, B> = Then<'r, ParamsOf<A>, ParamsOf<B>>;

    #[test]
    fn safetensors_pairs_run_the_first_set_then_the_second() {
        let (mut net, mut scaler) = (Net([1.0, 2.0]), Scaler([3.0, 4.0]));
        assert_eq!(Pair::<Net, Scaler>::count(), 4);
        let names: [_; 4] = core::array::from_fn(|i| {
            let t = Pair::<Net, Scaler>::info(i);
            (t.layer, t.name)
        });
        assert_eq!(
            names,
            [
                ("fc", "weight"),
                ("fc", "bias"),
                ("standardizer", "mean"),
                ("standardizer", "std")
            ]
        );
        let both = (&net, &scaler);
        let values: [_; 4] = core::array::from_fn(|i| Pair::<Net, Scaler>::get(&both, i)[0]);
        assert_eq!(values, [1.0, 2.0, 3.0, 4.0]);
        let mut both = (&mut net, &mut scaler);
        type Mut<'r> = ThenMut<'r, ParamsOf<Net>, ParamsOf<Scaler>>;
        Mut::get_mut(&mut both, 1)[0] = 20.0;
        Mut::get_mut(&mut both, 3)[0] = 40.0;
        assert_eq!(Mut::get(&both, 3), [40.0]);
        assert!(Mut::get(&both, 4).is_empty());
        assert_eq!((net.0, scaler.0), ([1.0, 20.0], [3.0, 40.0]));
    }

    #[test]
    fn safetensors_pairs_find_a_repeated_name_or_a_claimed_prefix() {
        assert!(same_name(&info("fc", "bias"), &info("", "fc.bias")));
        assert!(same_name(&info("a.b", "c"), &info("a", "b.c")));
        assert!(!same_name(&info("fc", "bias"), &info("fc", "bia")));
        assert!(!same_name(&info("fc", "bias"), &info("fcb", "ias")));
        assert!(is_under(&info("fc", "bias"), "fc"));
        assert!(is_under(&info("", "fc.bias"), "fc"));
        assert!(is_under(&info("a.b", "c"), "a.b"));
        assert!(!is_under(&info("fc2", "bias"), "fc"));
        assert!(!is_under(&info("", "fc"), "fc"));
        assert!(!is_under(&info("fc", "bias"), ""));

        let names = |p: Option<(TensorInfo, TensorInfo)>| p.map(|(t, u)| (t.name, u.name));
        assert_eq!(names(collision::<f32, Pair<Net, Scaler>>(2)), None);
        assert_eq!(names(collision::<f32, Pair<Near, Scaler>>(2)), None);
        // The same full name, split otherwise.
        let clash = collision::<f32, Pair<Net, Clash>>(2);
        assert_eq!(names(clash), Some(("fc.bias", "bias")));
        // A network layer under the prefix the second set's tensors claim.
        let layer = collision::<f32, Pair<Layer, Scaler>>(2);
        assert_eq!(names(layer), Some(("mean", "weight")));
        // Within the second set, by name only (its tensors share their prefix).
        assert_eq!(
            names(collision::<f32, Pair<Net, Twice>>(2)),
            Some(("y", "y"))
        );
        assert_eq!(
            names(collision::<f32, Pair<Scaler, Scaler>>(2)),
            Some(("mean", "mean"))
        );
        // The first set's own names are not checked against each other.
        assert_eq!(names(collision::<f32, Pair<Twice, Net>>(2)), None);
    }
}
