//! int8 kernels in TFLite's reference form (`reference_integer_ops::FullyConnectedPerChannel`,
//! `ConvPerChannel`, `MaxPool`): int32 sums of w · (x − z_in), plus the int32 bias,
//! requantised per output channel, plus z_out, clamped to the fused activation's range.
//!
//! Shapes are const generics checked in `const` assertions, as the float layers do: the flat
//! lengths are parameters of their own because stable Rust cannot write `[i8; C * H * W]`.

use super::{Requant, QMAX, QMIN};

/// `y = clamp(requant(b + W (x − z_in)) + z_out)`: a dense layer on int8, weights
/// `[out, in]` (PyTorch's layout), one [`Requant`] per output.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseQ<const I: usize, const O: usize> {
    /// Symmetric int8 weights, zero point 0, one scale per output channel (folded into
    /// `requant`).
    pub weight: [[i8; I]; O],
    /// int32 biases at scale s_in · s_w ([`quantize_bias`](super::quantize_bias)).
    pub bias: [i32; O],
    /// Per output channel, M = s_in · s_w / s_out as a fixed-point multiplier and shift.
    pub requant: [Requant; O],
    /// z_in, the input's zero point, subtracted from every input value.
    pub input_zero_point: i32,
    /// z_out, the output's zero point, added after requantisation.
    pub output_zero_point: i32,
    /// The fused activation's clamp: [z_out, 127] for ReLU, [−128, 127] for none.
    pub min: i8,
    /// The clamp's upper end, normally 127.
    pub max: i8,
}

impl<const I: usize, const O: usize> DenseQ<I, O> {
    /// `y = clamp(requant(b + W (x − z_in)) + z_out)`, overwriting every value of `y`.
    pub fn forward(&self, x: &[i8; I], y: &mut [i8; O]) {
        for (o, out) in y.iter_mut().enumerate() {
            let mut acc = 0i32;
            for (&w, &v) in self.weight[o].iter().zip(x) {
                acc += i32::from(w) * (i32::from(v) - self.input_zero_point);
            }
            *out = self.finish(o, acc);
        }
    }

    #[inline(always)]
    fn finish(&self, o: usize, acc: i32) -> i8 {
        let v = self.requant[o].apply(acc + self.bias[o]) + self.output_zero_point;
        v.clamp(i32::from(self.min), i32::from(self.max)) as i8
    }
}

/// A 2-d convolution on int8 images in (channel, row, column) order: `C × H × W` in,
/// `O × OH × OW` out, square kernel `K`, stride `S`, zero padding `P` (padding is the input's
/// zero point, i.e. real 0: the taps outside the image are skipped, as TFLite does), weights
/// `[out, in, kh, kw]` flattened per output channel (`CKK = C · K · K`).
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dQ<
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const CKK: usize,
> {
    /// Symmetric int8 weights `[in, kh, kw]` per output channel, zero point 0, one scale per output channel (folded into
    /// `requant`).
    pub weight: [[i8; CKK]; O],
    /// int32 biases at scale s_in · s_w ([`quantize_bias`](super::quantize_bias)).
    pub bias: [i32; O],
    /// Per output channel, M = s_in · s_w / s_out as a fixed-point multiplier and shift.
    pub requant: [Requant; O],
    /// z_in, the input's zero point, subtracted from every input value.
    pub input_zero_point: i32,
    /// z_out, the output's zero point, added after requantisation.
    pub output_zero_point: i32,
    /// The fused activation's clamp, lower end: z_out for ReLU, −128 for none.
    pub min: i8,
    /// The clamp's upper end, normally 127.
    pub max: i8,
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
        const CKK: usize,
    > Conv2dQ<C, H, W, O, K, S, P, OH, OW, CKK>
{
    const SHAPES: () = {
        assert!(
            CKK == C * K * K,
            "`Conv2dQ` weight rows must be C · K · K long"
        );
        assert!(
            S > 0 && H + 2 * P >= K && W + 2 * P >= K,
            "`Conv2dQ` kernel does not fit"
        );
        assert!(
            OH == (H + 2 * P - K) / S + 1,
            "`Conv2dQ` output height is wrong"
        );
        assert!(
            OW == (W + 2 * P - K) / S + 1,
            "`Conv2dQ` output width is wrong"
        );
    };

    /// `x` holds `C · H · W` values and `y` `O · OH · OW`, checked when the lengths are
    /// given as arrays: `IN` and `OUT` must equal them (a compile error otherwise).
    pub fn forward<const IN: usize, const OUT: usize>(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        const {
            assert!(
                IN == C * H * W && OUT == O * OH * OW,
                "`Conv2dQ` buffer lengths"
            )
        };
        let () = Self::SHAPES;
        for o in 0..O {
            let w = &self.weight[o];
            for oy in 0..OH {
                // The kernel rows inside the image: the padding contributes nothing.
                let y0 = (oy * S) as isize - P as isize;
                let ky0 = (-y0).max(0) as usize;
                let ky1 = (H as isize - y0).min(K as isize) as usize;
                for ox in 0..OW {
                    let x0 = (ox * S) as isize - P as isize;
                    let kx0 = (-x0).max(0) as usize;
                    let kx1 = (W as isize - x0).min(K as isize) as usize;
                    let mut acc = 0i32;
                    for c in 0..C {
                        for ky in ky0..ky1 {
                            let row = (c * H + (y0 + ky as isize) as usize) * W;
                            let xs = &x[row + (x0 + kx0 as isize) as usize..][..kx1 - kx0];
                            let ws = &w[(c * K + ky) * K + kx0..][..kx1 - kx0];
                            for (&wv, &xv) in ws.iter().zip(xs) {
                                acc += i32::from(wv) * (i32::from(xv) - self.input_zero_point);
                            }
                        }
                    }
                    let v = self.requant[o].apply(acc + self.bias[o]) + self.output_zero_point;
                    y[(o * OH + oy) * OW + ox] =
                        v.clamp(i32::from(self.min), i32::from(self.max)) as i8;
                }
            }
        }
    }
}

/// Max pooling with a `K × K` window and stride `K`, no padding, on int8 images in (channel,
/// row, column) order: `C × H × W` → `C × (H / K) × (W / K)` (floor, as PyTorch). The input's
/// quantisation carries over unchanged, so no requantisation.
pub fn max_pool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const IN: usize,
    const OUT: usize,
>(
    x: &[i8; IN],
    y: &mut [i8; OUT],
) {
    const {
        assert!(
            K > 0 && IN == C * H * W && OUT == C * (H / K) * (W / K),
            "`max_pool2d` shapes"
        )
    };
    let (oh, ow) = (H / K, W / K);
    for c in 0..C {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = i8::MIN;
                for ky in 0..K {
                    let row = (c * H + oy * K + ky) * W + ox * K;
                    for &v in &x[row..row + K] {
                        m = m.max(v);
                    }
                }
                y[(c * oh + oy) * ow + ox] = m;
            }
        }
    }
}

/// ReLU on int8 values of zero point `z`: max(q, z) (real 0 is exactly z).
pub fn relu(x: &mut [i8], zero_point: i32) {
    let z = zero_point.clamp(QMIN, QMAX) as i8;
    for v in x {
        *v = (*v).max(z);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{quantize_bias, quantize_weights, QParams};

    const ONE: Requant = Requant {
        multiplier: 1 << 30,
        shift: 1,
    }; // M = 1

    #[test]
    fn dense_by_hand() {
        // x − z_in = [3, −2]; rows [1, 2] and [−4, 5]: sums −1 and −22; bias 10 and −3;
        // outputs 9 + z_out and −25 + z_out, clamped from below for the second (ReLU at z_out).
        let layer = DenseQ::<2, 2> {
            weight: [[1, 2], [-4, 5]],
            bias: [10, -3],
            requant: [ONE; 2],
            input_zero_point: -5,
            output_zero_point: 4,
            min: 4,
            max: 127,
        };
        let mut y = [0i8; 2];
        layer.forward(&[-2, -7], &mut y);
        assert_eq!(y, [13, 4]);
    }

    #[test]
    fn conv_by_hand_with_padding() {
        // One 3×3 channel, kernel 2×2 of ones, padding 1, stride 2, z_in = 1: the outputs are
        // sums of (x − 1) over the taps inside the image.
        let x: [i8; 9] = [2, 3, 4, 5, 6, 7, 8, 9, 10]; // x − 1 = 1..=9
        let layer = Conv2dQ::<1, 3, 3, 1, 2, 2, 1, 2, 2, 4> {
            weight: [[1; 4]],
            bias: [0],
            requant: [ONE],
            input_zero_point: 1,
            output_zero_point: 0,
            min: -128,
            max: 127,
        };
        let mut y = [0i8; 4];
        layer.forward(&x, &mut y);
        // Windows at rows/cols {−1, 0} and {1, 2}: [1], [2 + 3], [4 + 7], [5 + 6 + 8 + 9].
        assert_eq!(y, [1, 5, 11, 28]);
    }

    #[test]
    fn dense_quantised_tracks_the_float_layer() {
        // A float layer quantised per channel stays within a few output steps of the float
        // result computed independently here.
        let w = [
            [0.3f32, -0.8, 0.05, 0.6],
            [-0.2, 0.1, 0.9, -0.4],
            [0.7, 0.7, -0.7, 0.1],
        ];
        let b = [0.1f32, -0.2, 0.05];
        let x = [0.9f32, -0.3, 0.4, 0.0];
        let (pin, pout) = (
            QParams::from_range(-1.0, 1.0),
            QParams::from_range(-2.0, 2.0),
        );
        let mut weight = [[0i8; 4]; 3];
        let mut bias = [0i32; 3];
        let mut requant = [Requant::default(); 3];
        for o in 0..3 {
            let s = quantize_weights(&w[o], &mut weight[o]);
            bias[o] = quantize_bias(b[o], pin.scale, s);
            requant[o] = Requant::new(pin.scale, s, pout.scale);
        }
        let layer = DenseQ::<4, 3> {
            weight,
            bias,
            requant,
            input_zero_point: pin.zero_point,
            output_zero_point: pout.zero_point,
            min: -128,
            max: 127,
        };
        let mut y = [0i8; 3];
        layer.forward(&x.map(|v| pin.quantize(v)), &mut y);
        for o in 0..3 {
            let exact: f32 = b[o] + (0..4).map(|i| w[o][i] * x[i]).sum::<f32>();
            let got = pout.dequantize(y[o]);
            assert!(
                (got - exact).abs() < 3.0 * pout.scale,
                "{o}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn pool_and_relu() {
        let x: [i8; 8] = [1, -5, 7, 2, 3, 4, -8, 0]; // 1 channel, 2 × 4
        let mut y = [0i8; 2];
        max_pool2d::<1, 2, 4, 2, 8, 2>(&x, &mut y);
        assert_eq!(y, [4, 7]);
        let mut v = [-128i8, -3, 0, 5];
        relu(&mut v, -3);
        assert_eq!(v, [-3, -3, 0, 5]);
    }
}
