//! What a training sample can be: the traits through which trainers and metrics take inputs,
//! targets and class labels, so that `(&x, &label)` and `(&x, label)` both work, labels can be
//! any unsigned integer type, and a mistake is one readable error instead of a page of
//! nalgebra types.
//!
//! Each trait carries a `#[diagnostic::on_unimplemented]` message that says what was expected
//! and how to fix it; `tests/ui/types/` holds the messages users see.

use crate::Network;

/// A sample's input: the network's input type, by reference or by value.
#[diagnostic::on_unimplemented(
    message = "a sample of type `{Self}` is not an input of this network",
    label = "expected `&{I}` here",
    note = "the input is `&SVector<scalar, n>` with n the product of the declared shape ([1, 28, 28] is 784, in channel, row, column order), or `&[u32; steps]` for `tokens`; the `Const<n>` in the types are the sizes"
)]
pub trait AsInput<I> {
    /// The input.
    fn as_input(&self) -> &I;
}

#[diagnostic::do_not_recommend]
impl<I> AsInput<I> for &I {
    fn as_input(&self) -> &I {
        self
    }
}

#[diagnostic::do_not_recommend]
impl<I> AsInput<I> for I {
    fn as_input(&self) -> &I {
        self
    }
}

/// A sample's target for a loss that compares with `X`: an `X` by reference or by value, or
/// for class indices (`X = usize`) any unsigned integer label.
#[diagnostic::on_unimplemented(
    message = "a target of type `{Self}` does not fit this loss, which compares with `{X}`",
    label = "expected `&{X}` here",
    note = "class labels (`SoftmaxCrossEntropy`) can be u8, u16, u32 or usize; vector targets (`Mse`, `L1`, `BinaryCrossEntropy`) are `&SVector<scalar, n>` of the network's output size n"
)]
pub trait AsTarget<X: ?Sized> {
    /// Calls `f` with the target (a label is widened to `usize` on the way).
    fn with_target<R>(&self, f: impl FnOnce(&X) -> R) -> R;
}

#[diagnostic::do_not_recommend]
impl<X: ?Sized> AsTarget<X> for &X {
    fn with_target<R>(&self, f: impl FnOnce(&X) -> R) -> R {
        f(self)
    }
}

#[diagnostic::do_not_recommend]
impl<X> AsTarget<X> for X {
    fn with_target<R>(&self, f: impl FnOnce(&X) -> R) -> R {
        f(self)
    }
}

/// A class label: an unsigned integer, by value or by reference.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a class label",
    label = "expected an unsigned integer label here",
    note = "labels can be u8, u16, u32, u64 or usize, by value or by reference"
)]
pub trait Label: Copy {
    /// The class index (`usize::MAX` for a `u64` too large for this target's `usize`, which
    /// then fails as out of range).
    fn class(self) -> usize;
}

macro_rules! labels {
    ($($t:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl Label for $t {
            fn class(self) -> usize {
                usize::try_from(self).unwrap_or(usize::MAX)
            }
        }

        #[diagnostic::do_not_recommend]
        impl Label for &$t {
            fn class(self) -> usize {
                (*self).class()
            }
        }
    )*};
}

labels!(u8, u16, u32, u64, usize);

macro_rules! narrow_labels {
    ($($t:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl AsTarget<usize> for $t {
            fn with_target<R>(&self, f: impl FnOnce(&usize) -> R) -> R {
                f(&self.class())
            }
        }

        #[diagnostic::do_not_recommend]
        impl AsTarget<usize> for &$t {
            fn with_target<R>(&self, f: impl FnOnce(&usize) -> R) -> R {
                f(&self.class())
            }
        }
    )*};
}

narrow_labels!(u8, u16, u32, u64);

/// A network every layer of which trains one sample at a time: what
/// [`Trainer`](crate::train::Trainer) needs. `network!` implements it for every network
/// without `batch_norm`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has `batch_norm`, which needs whole minibatches to train",
    label = "this network cannot train one sample at a time",
    note = "train it with `BatchTrainer::<_, B>` (a batch of B samples per step), as `examples/resnet.rs` does"
)]
pub trait PerSample<T: crate::Scalar>: Network<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(t: impl AsTarget<usize>) -> usize {
        t.with_target(|&c| c)
    }

    #[test]
    #[allow(clippy::needless_borrows_for_generic_args)] // the references are under test
    fn labels_widen_to_class_indices() {
        assert_eq!(class_of(7u8), 7);
        assert_eq!(class_of(&300u16), 300);
        assert_eq!(class_of(70_000u32), 70_000);
        assert_eq!(class_of(&9usize), 9);
        assert_eq!(5u8.class(), 5);
        assert_eq!((&5u64).class(), 5);
    }
}
