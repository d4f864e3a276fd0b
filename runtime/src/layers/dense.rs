//! Fully connected layer: y = W x + b.
//!
//! Shapes: x ∈ ℝᴵ, W ∈ ℝᴼˣᴵ, b, y ∈ ℝᴼ. Backward, with δ = ∂L/∂y:
//! ∂L/∂W = δ xᵀ, ∂L/∂b = δ, ∂L/∂x = Wᵀ δ.
//!
//! `weight` is stored as the nalgebra matrix Wᵀ (I × O, column-major), whose memory is exactly
//! PyTorch's row-major `[out, in]`: column `o` holds the weights of output `o`, so forward is
//! one contiguous dot product per output and export needs no transposition.

use crate::init::Init;
use crate::kernels;
use crate::simd::{self, Width};
use crate::{Layer, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::{SMatrix, SVector};
use rand_core::RngCore;

/// Dense layer from `I` inputs to `O` outputs; `BIAS = false` drops the bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<T: Scalar, const I: usize, const O: usize, const BIAS: bool = true> {
    /// Wᵀ, `I × O`: PyTorch's `[O, I]` weight in the same memory order.
    pub weight: SMatrix<T, I, O>,
    /// b; stays zero when `BIAS` is false.
    pub bias: SVector<T, O>,
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Dense<T, I, O, BIAS> {
    const VALID: () = assert!(I > 0 && O > 0, "dense: sizes must be positive");

    /// Weights drawn from `init` (fan-in `I`, fan-out `O`), bias zero.
    pub fn new(init: Init, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut layer = Self::zeros();
        init.fill(layer.weight.as_mut_slice(), I, O, rng);
        layer
    }
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Zeros for Dense<T, I, O, BIAS> {
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Dense {
            weight: SMatrix::zeros(),
            bias: SVector::zeros(),
        }
    }
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Params<T>
    for Dense<T, I, O, BIAS>
{
    const TENSORS: usize = 1 + BIAS as usize;
    const LEN: usize = I * O + if BIAS { O } else { 0 };

    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.weight.as_slice(),
            1 if BIAS => self.bias.as_slice(),
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.weight.as_mut_slice(),
            1 if BIAS => self.bias.as_mut_slice(),
            _ => &mut [],
        }
    }

    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = match i {
            0 => ("weight", Shape::matrix(O, I), TensorKind::Weight),
            _ => ("bias", Shape::vector(O), TensorKind::Bias),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: I,
            fan_out: O,
        }
    }
}

/// The kernels at a width `V`, and their copies for the instruction sets chosen at run time.
impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Dense<T, I, O, BIAS> {
    #[inline(always)]
    fn forward_at<V: Width>(w: &[T], b: Option<&[T]>, x: &[T], y: &mut [T]) {
        kernels::dense_forward_at::<V, T, I, O>(w, b, x, y)
    }

    #[inline(always)]
    fn backward_at<V: Width>(w: &[T], x: &[T], dy: &[T], gw: &mut [T], dx: Option<&mut [T]>) {
        kernels::dense_backward_at::<V, T, I, O>(w, x, dy, gw, dx)
    }

    simd::target_copies! {
        /// [`forward_at`](Self::forward_at) compiled for AVX2 or AVX-512.
        fn forward_avx2, forward_avx512 = forward_at(
            w: &[T],
            b: Option<&[T]>,
            x: &[T],
            y: &mut [T],
        );
    }

    simd::target_copies! {
        /// [`backward_at`](Self::backward_at) compiled for AVX2 or AVX-512.
        fn backward_avx2, backward_avx512 = backward_at(
            w: &[T],
            x: &[T],
            dy: &[T],
            gw: &mut [T],
            dx: Option<&mut [T]>,
        );
    }
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Layer<T>
    for Dense<T, I, O, BIAS>
{
    type Input = SVector<T, I>;
    type Output = SVector<T, O>;
    type Record = crate::NoRecord;
    type Grad = Self;
    const KIND: &'static str = "dense";
    const MACS: usize = I * O;

    #[inline]
    fn forward(&self, x: &SVector<T, I>, y: &mut SVector<T, O>) {
        // y = b + W x, one dot product per contiguous row of W (column of the stored Wᵀ).
        let (w, b) = (self.weight.as_slice(), BIAS.then_some(self.bias.as_slice()));
        let (x, y) = (x.as_slice(), y.as_mut_slice());
        simd::dispatch!(Self::forward_at | forward_avx2 | forward_avx512(w, b, x, y));
    }

    #[inline]
    fn backward(
        &self,
        x: &SVector<T, I>,
        _y: &SVector<T, O>,
        _rec: &crate::NoRecord,
        dy: &SVector<T, O>,
        dx: Option<&mut SVector<T, I>>,
        grad: &mut Self,
    ) {
        // ∂L/∂W += δ xᵀ and ∂L/∂x = Wᵀ δ, in one pass over the rows of W.
        let (w, x, dy) = (self.weight.as_slice(), x.as_slice(), dy.as_slice());
        let (gw, dx) = (grad.weight.as_mut_slice(), dx.map(|dx| dx.as_mut_slice()));
        simd::dispatch!(Self::backward_at | backward_avx2 | backward_avx512(w, x, dy, gw, dx));
        if BIAS {
            for (b, &d) in grad.bias.as_mut_slice().iter_mut().zip(dy) {
                *b += d;
            }
        }
    }
}

/// `Gemm` with `transB`: the weight goes out as PyTorch's `[out, in]`.
impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> crate::onnx::ToOnnx<T>
    for Dense<T, I, O, BIAS>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let bias = BIAS.then(|| self.bias.as_slice());
        crate::onnx::gemm(g, site, self.weight.as_slice(), O, I, bias);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::rng::SplitMix64;
    use nalgebra::{Matrix2x3, Vector2, Vector3};

    #[test]
    fn forward_by_hand() {
        // W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1], x = [1, -1, 2]
        // y = [1 - 2 + 6 + 0.5, 4 - 5 + 12 - 1] = [5.5, 10]
        let w = Matrix2x3::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
        let layer: Dense<f64, 3, 2> = Dense {
            weight: w.transpose(),
            bias: Vector2::new(0.5, -1.0),
        };
        let mut y = Vector2::zeros();
        layer.forward(&Vector3::new(1.0, -1.0, 2.0), &mut y);
        assert_eq!(y, Vector2::new(5.5, 10.0));
        // PyTorch's flat order is row-major [out, in].
        assert_eq!(layer.tensor(0), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(layer.tensor(1), &[0.5, -1.0]);
        assert_eq!(
            <Dense<f64, 3, 2> as Params<f64>>::tensor_info(0).shape,
            Shape::matrix(2, 3)
        );
    }

    #[test]
    fn backward_by_hand() {
        let w = Matrix2x3::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
        let layer: Dense<f64, 3, 2> = Dense {
            weight: w.transpose(),
            bias: Vector2::zeros(),
        };
        let x = Vector3::new(1.0, -1.0, 2.0);
        let dy = Vector2::new(1.0, 0.5);
        let mut dx = Vector3::zeros();
        let mut g = Dense::zeros();
        layer.backward(
            &x,
            &Vector2::zeros(),
            &crate::NoRecord,
            &dy,
            Some(&mut dx),
            &mut g,
        );
        // dx = Wᵀ δ = [1 + 2, 2 + 2.5, 3 + 3]
        assert_eq!(dx, Vector3::new(3.0, 4.5, 6.0));
        // dW = δ xᵀ = [[1, -1, 2], [0.5, -0.5, 1]]
        assert_eq!(g.tensor(0), &[1.0, -1.0, 2.0, 0.5, -0.5, 1.0]);
        assert_eq!(g.tensor(1), &[1.0, 0.5]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(11);
        let layer: Dense<f64, 7, 5> = Dense::new(Init::XavierUniform, &mut rng);
        check_layer(&layer, &mut rng);
        let no_bias: Dense<f64, 4, 3, false> = Dense::new(Init::HeNormal, &mut rng);
        assert_eq!(<Dense<f64, 4, 3, false> as Params<f64>>::TENSORS, 1);
        check_layer(&no_bias, &mut rng);
    }

    #[test]
    fn forward_and_backward_overwrite_their_outputs() {
        use crate::layer::contract::{check_overwrites, check_overwrites_at, random};
        let mut rng = SplitMix64::new(12);
        // Output counts that leave every remainder of the kernels' row blocks, with and
        // without a bias.
        check_overwrites(&Dense::<f64, 7, 5>::new(Init::XavierUniform, &mut rng), 1);
        check_overwrites(&Dense::<f64, 9, 8>::new(Init::XavierUniform, &mut rng), 2);
        check_overwrites(&Dense::<f64, 4, 3, false>::new(Init::HeNormal, &mut rng), 3);
        check_overwrites(&Dense::<f64, 16, 2>::new(Init::HeNormal, &mut rng), 4);
        check_overwrites(&Dense::<f64, 3, 1, false>::new(Init::HeNormal, &mut rng), 5);
        // Backward skips the rows whose δ is zero; dx must still be written everywhere, also
        // when every δ is zero.
        let layer = Dense::<f64, 6, 5>::new(Init::XavierUniform, &mut rng);
        let x = random(&mut rng);
        let dy = SVector::from([0.5, 0.0, 0.0, -1.0, 0.0]);
        check_overwrites_at(&layer, &x, &dy);
        check_overwrites_at(&layer, &x, &SVector::zeros());
    }
}
