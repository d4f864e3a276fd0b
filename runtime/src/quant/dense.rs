//! The int8 dense layer, TFLite's `reference_integer_ops::FullyConnectedPerChannel`.

use super::bytes::{Encode, Reader, Writer};
#[cfg(not(stacknet_dsp))]
use super::{dot, sum};
use super::{quantize_channels, Clamp, ForwardQ, QParams, Quantize, Requant};
use crate::layers::Dense;
use crate::Scalar;
use nalgebra::{SMatrix, SVector};

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
    /// The fused activation's range: [z_out, 127] for ReLU, all of int8 for none.
    pub clamp: Clamp,
}

impl<const I: usize, const O: usize> DenseQ<I, O> {
    /// The int8 form of a float weight matrix whose column o is output o's row of `I` taps
    /// (a dense layer's, or a convolution's over one receptive field), with its biases.
    pub(crate) fn from_float<T: Scalar>(
        weight: &SMatrix<T, I, O>,
        bias: &SVector<T, O>,
        input: QParams,
        output: QParams,
        clamp: Clamp,
    ) -> Self {
        let (weight, bias, requant) = quantize_channels::<I, O>(
            |o, w| {
                for (w, v) in w.iter_mut().zip(weight.column(o).iter()) {
                    *w = v.to_f64() as f32;
                }
                bias[o].to_f64() as f32
            },
            input,
            output,
        );
        DenseQ {
            weight,
            bias,
            requant,
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            clamp,
        }
    }

    /// Reads the layer from its byte form ([`Encode`]).
    pub const fn decode(r: Reader<'_>) -> (Self, Reader<'_>) {
        let (weight, r) = decode_rows::<I, O>(r);
        let (bias, r) = r.i32s::<O>();
        let (requant, r) = decode_requants::<O>(r);
        let (input_zero_point, r) = r.i32();
        let (output_zero_point, r) = r.i32();
        let (min, r) = r.i8();
        let (max, r) = r.i8();
        let layer = DenseQ {
            weight,
            bias,
            requant,
            input_zero_point,
            output_zero_point,
            clamp: Clamp { min, max },
        };
        (layer, r)
    }
}

impl<const I: usize, const O: usize> ForwardQ<I, O> for DenseQ<I, O> {
    /// The zero point is folded into the bias (Σ w · (x − z) = Σ w · x − z · Σ w), so each
    /// output is a plain int8 dot product, which LLVM vectorises.
    fn forward(&self, x: &[i8; I], y: &mut [i8; O]) {
        const {
            assert!(
                I <= 1 << 16,
                "`DenseQ`: at most 2^16 inputs, so that the int32 sums cannot overflow"
            )
        };
        let z = self.input_zero_point;
        // `dot` is Σ w · (x − z).
        let finish = |o: usize, dot: i32| {
            let acc = dot + self.bias[o];
            self.clamp
                .apply(self.requant[o].apply(acc) + self.output_zero_point)
        };
        // Armv7E-M: x − z widened once, two outputs at a time with `SMLAD`.
        #[cfg(stacknet_dsp)]
        {
            let mut xw = [[0u8; 2]; I];
            super::dsp::widen(x, z, &mut xw);
            let mut o = 0;
            while o + 1 < O {
                let (a, b) = super::dsp::dot2(&self.weight[o], &self.weight[o + 1], &xw);
                (y[o], y[o + 1]) = (finish(o, a), finish(o + 1, b));
                o += 2;
            }
            if o < O {
                y[o] = finish(o, super::dsp::dot(&self.weight[o], &xw));
            }
        }
        // Elsewhere int8 dot products, which LLVM vectorises, and the zero point through
        // Σ w · (x − z) = Σ w · x − z · Σ w (x − z in i16 vectorises far worse).
        #[cfg(not(stacknet_dsp))]
        for (o, out) in y.iter_mut().enumerate() {
            let w = &self.weight[o];
            *out = finish(o, dot(w, x) - z * sum(w));
        }
    }
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Quantize
    for Dense<T, I, O, BIAS>
{
    type Int8 = DenseQ<I, O>;

    fn quantize(&self, input: QParams, output: QParams, clamp: Clamp) -> DenseQ<I, O> {
        DenseQ::from_float(&self.weight, &self.bias, input, output, clamp)
    }
}

impl<const I: usize, const O: usize> Encode for DenseQ<I, O> {
    const BYTES: usize = O * (I + 4 + 8) + 8 + 2;

    fn encode(&self, w: &mut Writer<'_>) {
        for row in &self.weight {
            w.i8s(row);
        }
        w.i32s(&self.bias);
        encode_requants(&self.requant, w);
        w.i32(self.input_zero_point);
        w.i32(self.output_zero_point);
        w.i8(self.clamp.min);
        w.i8(self.clamp.max);
    }
}

/// `O` rows of `K` int8 weights.
const fn decode_rows<const K: usize, const O: usize>(r: Reader<'_>) -> ([[i8; K]; O], Reader<'_>) {
    let mut rows = [[0i8; K]; O];
    let mut r = r;
    let mut o = 0;
    while o < O {
        let (row, next) = r.i8s::<K>();
        rows[o] = row;
        r = next;
        o += 1;
    }
    (rows, r)
}

const fn decode_requants<const O: usize>(r: Reader<'_>) -> ([Requant; O], Reader<'_>) {
    let (multipliers, r) = r.i32s::<O>();
    let (shifts, r) = r.i32s::<O>();
    let mut out = [Requant {
        multiplier: 0,
        shift: 0,
    }; O];
    let mut o = 0;
    while o < O {
        out[o] = Requant {
            multiplier: multipliers[o],
            shift: shifts[o],
        };
        o += 1;
    }
    (out, r)
}

fn encode_requants(requant: &[Requant], w: &mut Writer<'_>) {
    for r in requant {
        w.i32(r.multiplier);
    }
    for r in requant {
        w.i32(r.shift);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{quantize_bias, quantize_weights};

    pub(crate) const ONE: Requant = Requant {
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
            clamp: Clamp { min: 4, max: 127 },
        };
        let mut y = [0i8; 2];
        layer.forward(&[-2, -7], &mut y);
        assert_eq!(y, [13, 4]);
    }

    #[test]
    fn quantised_dense_tracks_the_float_layer() {
        // The float layer's int8 form stays within a few output steps of the float result
        // computed independently here, and its parameters are the per-channel formulas'.
        let w = [
            [0.3f32, -0.8, 0.05, 0.6],
            [-0.2, 0.1, 0.9, -0.4],
            [0.7, 0.7, -0.7, 0.1],
        ];
        let b = [0.1f32, -0.2, 0.05];
        let x = [0.9f32, -0.3, 0.4, 0.0];
        let mut float = <Dense<f32, 4, 3> as crate::Zeros>::zeros();
        for (o, row) in w.iter().enumerate() {
            float.weight.column_mut(o).copy_from_slice(row);
            float.bias[o] = b[o];
        }
        let (pin, pout) = (
            QParams::from_range(-1.0, 1.0),
            QParams::from_range(-2.0, 2.0),
        );
        let layer = float.quantize(pin, pout, Clamp::NONE);
        for o in 0..3 {
            let mut q = [0i8; 4];
            let s = quantize_weights(&w[o], &mut q);
            assert_eq!(layer.weight[o], q);
            assert_eq!(layer.bias[o], quantize_bias(b[o], pin.scale, s));
            assert_eq!(layer.requant[o], Requant::new(pin.scale, s, pout.scale));
        }
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
        // The byte form reads back as the same layer.
        let mut buf = [0u8; crate::quant::bytes::HEADER + <DenseQ<4, 3> as Encode>::BYTES];
        let mut wr = Writer::new(&mut buf, 7);
        layer.encode(&mut wr);
        assert_eq!(wr.len(), buf.len());
        let r = Reader::new(&buf, 7, buf.len()).unwrap();
        assert_eq!(DenseQ::<4, 3>::decode(r).0, layer);
    }
}
