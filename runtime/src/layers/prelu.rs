//! Parametric ReLU (He et al. 2015), PyTorch's `nn.PReLU`: a leaky ReLU whose negative slope
//! is learned, one per channel.
//!
//! Over `C` channels of `S` positions each (channel-major, `N = C·S`): y = x for x > 0 and
//! y = a_c·x otherwise. Backward, with δ = ∂L/∂y: ∂L/∂x = δ for x > 0 and a_c·δ otherwise;
//! ∂L/∂a_c = Σ over the channel's positions of (x ≤ 0 ? x : 0)·δ. At x = 0 this is PyTorch's
//! choice (its mask is `x > 0`): the slope side, ∂L/∂x = a_c·δ, and a zero term for a_c.
//!
//! After a dense layer the network uses `S = 1` (a slope per feature, `C = N`); `C = 1`,
//! `S = N` is PyTorch's default of one slope shared by every value.

use crate::{Layer, NoRecord, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::SVector;

/// PReLU over `C` channels of `S` positions, `N = C·S` values; the gradient type is the layer
/// type itself (its `weight` holds ∂L/∂a).
#[derive(Clone, Debug, PartialEq)]
pub struct PRelu<T: Scalar, const C: usize, const S: usize, const N: usize> {
    /// a, the negative slope of each channel (PyTorch's `weight`, shape `[C]`).
    pub weight: SVector<T, C>,
}

impl<T: Scalar, const C: usize, const S: usize, const N: usize> PRelu<T, C, S, N> {
    const VALID: () = assert!(C > 0 && S > 0 && N == C * S, "prelu: N must be C·S");

    /// Every slope set to `init` (PyTorch's default is 0.25).
    pub fn new(init: f64) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        PRelu {
            weight: SVector::repeat(T::of(init)),
        }
    }
}

impl<T: Scalar, const C: usize, const S: usize, const N: usize> Zeros for PRelu<T, C, S, N> {
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        PRelu {
            weight: SVector::zeros(),
        }
    }
}

impl<T: Scalar, const C: usize, const S: usize, const N: usize> Params<T> for PRelu<T, C, S, N> {
    const TENSORS: usize = 1;
    const LEN: usize = C;
    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.weight.as_slice(),
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.weight.as_mut_slice(),
            _ => &mut [],
        }
    }
    fn tensor_info(_: usize) -> TensorInfo {
        TensorInfo {
            layer: "",
            name: "weight",
            shape: Shape::vector(C),
            // `Bias`, although the slope multiplies: the kind decides whether default
            // regularisers decay a tensor, and PyTorch's docs advise against weight decay on
            // PReLU's slope (decaying it pulls the unit towards a plain ReLU, which is not a
            // smoother model, just a different one).
            kind: TensorKind::Bias,
            fan_in: 1,
            fan_out: 1,
        }
    }
}

impl<T: Scalar, const C: usize, const S: usize, const N: usize> Layer<T> for PRelu<T, C, S, N> {
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    type Record = NoRecord;
    type Grad = Self;
    const KIND: &'static str = "prelu";
    /// Like the element-wise activations, counted as no multiply-accumulates.
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let rows = x
            .as_slice()
            .chunks_exact(S)
            .zip(y.as_mut_slice().chunks_exact_mut(S));
        for ((x, y), &a) in rows.zip(self.weight.as_slice()) {
            for (y, &x) in y.iter_mut().zip(x) {
                // `x > 0` as PyTorch tests it, so a NaN takes the slope side (and stays NaN).
                *y = if x > T::zero() { x } else { a * x };
            }
        }
    }

    #[inline]
    fn backward(
        &self,
        x: &SVector<T, N>,
        _y: &SVector<T, N>,
        _rec: &NoRecord,
        dy: &SVector<T, N>,
        dx: Option<&mut SVector<T, N>>,
        grad: &mut Self,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (x, dy) = (x.as_slice(), dy.as_slice());
        let channels = x.chunks_exact(S).zip(dy.chunks_exact(S));
        let slopes = self
            .weight
            .as_slice()
            .iter()
            .zip(grad.weight.as_mut_slice());
        match dx {
            Some(dx) => {
                let it = channels
                    .zip(dx.as_mut_slice().chunks_exact_mut(S))
                    .zip(slopes);
                for (((x, dy), dx), (&a, g)) in it {
                    let mut sum = T::zero();
                    for ((&x, &d), dx) in x.iter().zip(dy).zip(dx) {
                        if x > T::zero() {
                            *dx = d;
                        } else {
                            *dx = a * d;
                            sum += x * d;
                        }
                    }
                    *g += sum;
                }
            }
            None => {
                for ((x, dy), (_, g)) in channels.zip(slopes) {
                    let mut sum = T::zero();
                    for (&x, &d) in x.iter().zip(dy) {
                        // The same test as with dx (not `x <= 0`), so a NaN counts alike.
                        let neg = if x > T::zero() { T::zero() } else { x };
                        sum += neg * d;
                    }
                    *g += sum;
                }
            }
        }
    }
}

/// `PRelu` with the slope shaped to broadcast over the channels (`[C, 1, 1]` on an image).
impl<T: Scalar, const C: usize, const S: usize, const N: usize> crate::onnx::ToOnnx<T>
    for PRelu<T, C, S, N>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let slope = site.of("weight");
        let dims: &[usize] = if site.input_shape.rank == 3 {
            &[C, 1, 1]
        } else {
            &[C]
        };
        g.tensor(slope, dims, &[self.weight.as_slice()]);
        g.node("PRelu", &[site.input, slope], &[site.output], &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_layer, check_layer_at};
    use crate::rng::{uniform_sym, SplitMix64};
    use nalgebra::{Vector2, Vector3, Vector6};

    #[test]
    fn forward_and_backward_by_hand() {
        // Two channels of three positions: slopes 0.25 and −0.5.
        let layer = PRelu::<f64, 2, 3, 6> {
            weight: Vector2::new(0.25, -0.5),
        };
        let x = Vector6::new(-2.0, 0.0, 3.0, -1.0, 4.0, -0.5);
        let mut y = Vector6::repeat(f64::NAN);
        layer.forward(&x, &mut y);
        assert_eq!(y, Vector6::new(-0.5, 0.0, 3.0, 0.5, 4.0, 0.25));

        let dy = Vector6::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
        let mut dx = Vector6::repeat(f64::NAN);
        let mut g = PRelu {
            weight: Vector2::new(10.0, 20.0),
        };
        layer.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut g);
        // x ≤ 0 (0 included, as in PyTorch) takes the slope: dx = a·δ there, δ elsewhere.
        assert_eq!(dx, Vector6::new(0.25, 0.5, 3.0, -2.0, 5.0, -3.0));
        // ∂L/∂a₀ = (−2)·1 + 0·2 = −2; ∂L/∂a₁ = (−1)·4 + (−0.5)·6 = −7; added to 10 and 20.
        assert_eq!(g.weight, Vector2::new(8.0, 13.0));
        // Without dx, the same parameter gradient is added again.
        layer.backward(&x, &y, &NoRecord, &dy, None, &mut g);
        assert_eq!(g.weight, Vector2::new(6.0, 6.0));
    }

    #[test]
    fn shared_and_per_feature_slopes() {
        let x = Vector3::new(-1.0, 2.0, -4.0);
        // One slope for all (C = 1): PyTorch's default 0.25.
        let shared = PRelu::<f64, 1, 3, 3>::new(0.25);
        assert_eq!(shared.weight[0], 0.25);
        let mut y = Vector3::zeros();
        shared.forward(&x, &mut y);
        assert_eq!(y, Vector3::new(-0.25, 2.0, -1.0));
        // One per feature (S = 1).
        let per = PRelu::<f64, 3, 1, 3> {
            weight: Vector3::new(0.1, 0.2, 0.3),
        };
        per.forward(&x, &mut y);
        assert_eq!(y, Vector3::new(-0.1, 2.0, -1.2));
        let (mut dx, mut g) = (Vector3::repeat(f64::NAN), PRelu::zeros());
        per.backward(
            &x,
            &y,
            &NoRecord,
            &Vector3::repeat(1.0),
            Some(&mut dx),
            &mut g,
        );
        assert_eq!(dx, Vector3::new(0.1, 1.0, 0.3));
        assert_eq!(g.weight, Vector3::new(-1.0, 0.0, -4.0));
    }

    #[test]
    fn params_describe_pytorchs_weight() {
        type P = PRelu<f32, 4, 9, 36>;
        assert_eq!(
            (<P as Params<f32>>::TENSORS, <P as Params<f32>>::LEN),
            (1, 4)
        );
        let info = <P as Params<f32>>::tensor_info(0);
        assert_eq!((info.name, info.shape), ("weight", Shape::vector(4)));
        // Not decayed by default regularisers.
        assert_eq!(info.kind, TensorKind::Bias);
        let mut p = P::new(0.25);
        assert_eq!(p.tensor(0), &[0.25; 4]);
        p.tensor_mut(0)[2] = 1.0;
        assert_eq!(p.weight[2], 1.0);
        assert!(p.tensor(1).is_empty());
        assert_eq!(<P as Layer<f32>>::KIND, "prelu");
    }

    #[test]
    fn nan_propagates() {
        let layer = PRelu::<f64, 1, 2, 2>::new(0.25);
        let mut y = Vector2::zeros();
        layer.forward(&Vector2::new(f64::NAN, 1.0), &mut y);
        assert!(y[0].is_nan() && y[1] == 1.0);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(21);
        // Slopes of both signs and sizes; inputs in [−1, 1].
        let mut layer = PRelu::<f64, 3, 4, 12>::zeros();
        for a in layer.weight.iter_mut() {
            *a = uniform_sym(&mut rng, 1.5);
        }
        check_layer(&layer, &mut rng);
        check_layer(&PRelu::<f64, 5, 1, 5>::new(0.25), &mut rng);
        check_layer(&PRelu::<f64, 1, 7, 7>::new(-0.3), &mut rng);
        // Wider inputs, none within 0.05 of the kink at 0.
        let x = Vector6::new(-3.0, 2.5, -0.2, 0.3, -7.0, 1.0);
        let r = Vector6::new(0.5, -1.0, 2.0, 0.25, -0.75, 1.5);
        check_layer_at(
            &PRelu::<f64, 2, 3, 6> {
                weight: Vector2::new(0.25, 0.8),
            },
            &x,
            &r,
        );
    }
}
