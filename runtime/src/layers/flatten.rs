//! Flatten: the same values seen as a vector.
//!
//! Images are already stored flat in (channel, row, column) order, PyTorch's flatten order,
//! so this layer only changes the shape the macro tracks; it copies `N` values and its
//! backward passes gradients through unchanged.

use crate::{InPlace, Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// Flatten over `N` values: any input shape of `N` elements to `[N]`. It has no parameters
/// and no record; forward and backward are copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

crate::no_params!(Flatten<; const N: usize>);

impl<const N: usize> Zeros for Flatten<N> {
    fn zeros() -> Self {
        Flatten
    }
}

impl<T: Scalar, const N: usize> Layer<T> for Flatten<N> {
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "flatten";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        y.as_mut_slice().copy_from_slice(x.as_slice());
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, N>,
        _y: &SVector<T, N>,
        _rec: &NoRecord,
        dy: &SVector<T, N>,
        dx: Option<&mut SVector<T, N>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            dx.as_mut_slice().copy_from_slice(dy.as_slice());
        }
    }
}

/// The values do not change, so in place there is nothing to do.
impl<T: Scalar, const N: usize> InPlace<T> for Flatten<N> {
    #[inline(always)]
    fn forward_in_place(&self, _xy: &mut SVector<T, N>) {}

    #[inline(always)]
    fn backward_in_place(&self, _x: &SVector<T, N>, _y: &SVector<T, N>, _d: &mut SVector<T, N>) {}
}

/// `Reshape` to the output's shape (`flatten`, and `reshape` to any shape of as many values).
impl<T, const N: usize> crate::onnx::ToOnnx<T> for Flatten<N> {
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        crate::onnx::reshape(g, site);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    #[test]
    fn forward_and_backward_are_identity() {
        let x = Vector3::new(1.0, -2.0, 3.0);
        let mut y = Vector3::zeros();
        Flatten::<3>.forward(&x, &mut y);
        assert_eq!(y, x);
        let mut dx = Vector3::zeros();
        let dy = Vector3::new(0.5, 0.25, -1.0);
        Flatten::<3>.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        assert_eq!(dx, dy);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        crate::layer::contract::check_overwrites(&Flatten::<6>, 1);
    }
}
