//! Global pooling: each channel's whole plane reduced to one value, `C × H × W → C`.
//!
//! `HW = H·W` values per channel, flat in (channel, position) order. Average:
//! `y[c] = Σ x[c, ·] / HW`, backward `∂L/∂x[c, ·] = δ[c] / HW`. Max: `y[c] = max x[c, ·]`,
//! training records the flat input index of each maximum (the first on ties, NaN wins as in
//! PyTorch) and backward sends `δ[c]` there.

use crate::{Layer, NoParams, NoRecord, Scalar, Zeros};
use nalgebra::SVector;

/// Checks a global pooling layer's dimensions.
const fn check_dims(c: usize, hw: usize, inp: usize) {
    assert!(
        c > 0 && hw > 0,
        "global pooling: channels and plane size must be positive"
    );
    assert!(inp == c * hw, "global pooling: `IN` must be `C·HW`");
    assert!(
        inp <= u32::MAX as usize,
        "global pooling: the input must have fewer than 2³² values"
    );
}

/// Mean over each channel's plane. A unit value: `GlobalAvgPool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalAvgPool2d<const C: usize, const HW: usize, const IN: usize>;

/// Maximum over each channel's plane. A unit value: `GlobalMaxPool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalMaxPool2d<const C: usize, const HW: usize, const IN: usize>;

crate::no_params!(GlobalAvgPool2d<; const C: usize; const HW: usize; const IN: usize>);
crate::no_params!(GlobalMaxPool2d<; const C: usize; const HW: usize; const IN: usize>);

/// The shared impls of both kinds: dimension check, `Zeros`, `Default`.
macro_rules! global_common {
    ($ty:ident) => {
        impl<const C: usize, const HW: usize, const IN: usize> $ty<C, HW, IN> {
            const VALID: () = check_dims(C, HW, IN);
        }

        impl<const C: usize, const HW: usize, const IN: usize> Zeros for $ty<C, HW, IN> {
            fn zeros() -> Self {
                #[allow(clippy::let_unit_value)]
                let () = Self::VALID;
                $ty
            }
        }

        impl<const C: usize, const HW: usize, const IN: usize> Default for $ty<C, HW, IN> {
            fn default() -> Self {
                Self::zeros()
            }
        }
    };
}

global_common!(GlobalAvgPool2d);
global_common!(GlobalMaxPool2d);

impl<T: Scalar, const C: usize, const HW: usize, const IN: usize> Layer<T>
    for GlobalAvgPool2d<C, HW, IN>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, C>;
    type Record = NoRecord;
    type Grad = NoParams;
    const KIND: &'static str = "global_avg_pool2d";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, C>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let count = T::of(HW as f64);
        for (y, plane) in y.iter_mut().zip(x.as_slice().chunks_exact(HW)) {
            *y = plane.iter().fold(T::zero(), |s, &v| s + v) / count;
        }
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, C>,
        _rec: &NoRecord,
        dy: &SVector<T, C>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let count = T::of(HW as f64);
            for (plane, &d) in dx.as_mut_slice().chunks_exact_mut(HW).zip(dy.iter()) {
                plane.fill(d / count);
            }
        }
    }
}

impl<const C: usize, const HW: usize, const IN: usize> GlobalMaxPool2d<C, HW, IN> {
    /// Forward, recording the argmax indices when `arg` is given.
    #[inline(always)]
    fn run<T: Scalar>(x: &[T], y: &mut [T], mut arg: Option<&mut [u32; C]>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        for (c, (y, plane)) in y.iter_mut().zip(x.chunks_exact(HW)).enumerate() {
            let (mut best, mut m) = (0, plane[0]);
            for (i, &v) in plane.iter().enumerate().skip(1) {
                #[allow(clippy::eq_op)]
                if v > m || v != v {
                    (best, m) = (i, v);
                }
            }
            *y = m;
            if let Some(arg) = arg.as_deref_mut() {
                arg[c] = (c * HW + best) as u32;
            }
        }
    }
}

impl<T: Scalar, const C: usize, const HW: usize, const IN: usize> Layer<T>
    for GlobalMaxPool2d<C, HW, IN>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, C>;
    /// The flat input index of each channel's maximum.
    type Record = [u32; C];
    type Grad = NoParams;
    const KIND: &'static str = "global_max_pool2d";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, C>) {
        Self::run(x.as_slice(), y.as_mut_slice(), None);
    }

    #[inline]
    fn forward_train(&mut self, x: &SVector<T, IN>, y: &mut SVector<T, C>, rec: &mut [u32; C]) {
        Self::run(x.as_slice(), y.as_mut_slice(), Some(rec));
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, C>,
        rec: &[u32; C],
        dy: &SVector<T, C>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        if let Some(dx) = dx {
            let dx = dx.as_mut_slice();
            dx.fill(T::zero());
            for (&i, &d) in rec.iter().zip(dy.as_slice()) {
                dx[i as usize] += d;
            }
        }
    }
}

/// `GlobalAveragePool`, then `Flatten` of `[N, C, 1, 1]` to the vector `[N, C]`.
impl<T, const C: usize, const HW: usize, const IN: usize> crate::onnx::ToOnnx<T>
    for GlobalAvgPool2d<C, HW, IN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        global(g, site, "GlobalAveragePool");
    }
}

/// `GlobalMaxPool`, then `Flatten`.
impl<T, const C: usize, const HW: usize, const IN: usize> crate::onnx::ToOnnx<T>
    for GlobalMaxPool2d<C, HW, IN>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        global(g, site, "GlobalMaxPool");
    }
}

fn global<T>(g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>, op: &str) {
    let pooled = site.of("pooled");
    g.node(op, &[site.input], &[pooled], &[]);
    g.node(
        "Flatten",
        &[pooled],
        &[site.output],
        &[crate::onnx::Attr::Int("axis", 1)],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::rng::SplitMix64;

    #[test]
    fn by_hand() {
        // Two channels of three values.
        let x = SVector::from([1.0, 5.0, 3.0, -2.0, -7.0, -1.0]);
        let dy = SVector::from([2.0, 3.0]);

        let avg = GlobalAvgPool2d::<2, 3, 6>;
        let mut y = SVector::zeros();
        Layer::<f64>::forward(&avg, &x, &mut y);
        assert_eq!(y, SVector::from([3.0, -10.0 / 3.0]));
        let mut dx = SVector::zeros();
        avg.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        assert_eq!(
            dx,
            SVector::from([2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 1.0, 1.0, 1.0])
        );

        let mut max: GlobalMaxPool2d<2, 3, 6> = Zeros::zeros();
        let (mut y, mut arg) = (SVector::zeros(), [0u32; 2]);
        max.forward_train(&x, &mut y, &mut arg);
        assert_eq!(y, SVector::from([5.0, -1.0]));
        assert_eq!(arg, [1, 5]);
        let mut y2 = SVector::zeros();
        max.forward(&x, &mut y2);
        assert_eq!(y2, y);
        let mut dx = SVector::repeat(f64::NAN);
        max.backward(&x, &y, &arg, &dy, Some(&mut dx), &mut NoParams);
        assert_eq!(dx, SVector::from([0.0, 2.0, 0.0, 0.0, 0.0, 3.0]));

        // A NaN beats every number and the last NaN wins, as in PyTorch.
        let x = SVector::from([f64::NAN, 1.0, f64::NAN, 2.0, 3.0, 1.0]);
        max.forward_train(&x, &mut y, &mut arg);
        assert!(y[0].is_nan());
        assert_eq!(y[1], 3.0);
        assert_eq!(arg, [2, 4]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(23);
        check_layer(&GlobalAvgPool2d::<3, 5, 15>, &mut rng);
        check_layer(&GlobalMaxPool2d::<3, 5, 15>, &mut rng);
        check_layer(&GlobalAvgPool2d::<1, 16, 16>, &mut rng);
        check_layer(&GlobalMaxPool2d::<4, 9, 36>, &mut rng);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        use crate::layer::contract::check_overwrites;
        check_overwrites(&GlobalAvgPool2d::<3, 5, 15>, 1);
        check_overwrites(&GlobalMaxPool2d::<3, 5, 15>, 2);
        check_overwrites(&GlobalAvgPool2d::<1, 16, 16>, 3);
        check_overwrites(&GlobalMaxPool2d::<4, 9, 36>, 4);
    }
}
