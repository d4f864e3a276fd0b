//! The int8 convolution, TFLite's `reference_integer_ops::ConvPerChannel` (and
//! `DepthwiseConvPerChannel`, which is the grouped case with one channel per group), with the
//! float [`Conv2d`]'s geometry: rectangular kernels, strides, asymmetric padding, dilation
//! and groups.

use super::bytes::{Encode, Reader, Writer};
use super::dense::{decode_requants, decode_rows, encode_requants};
use super::{quantize_channels, Clamp, ForwardQ, QParams, Quantize, Requant};
use crate::layers::Conv2d;
use crate::Scalar;

/// A 2-d convolution on int8 images in (channel, row, column) order, with the const generics
/// of the float [`Conv2d`] it comes from (but the scalar and the bias flag). Padding is real 0,
/// the input's zero point: the taps outside the image are skipped, as TFLite does.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dQ<
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const DH: usize,
    const DW: usize,
    const G: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const P: usize,
    const IN: usize,
    const OUT: usize,
> {
    /// Per output channel, PyTorch's `weight[o]` (`[C/G, KH, KW]`) as symmetric int8, zero
    /// point 0, one scale per output channel (folded into `requant`).
    pub weight: [[i8; K]; OC],
    /// int32 biases at scale s_in · s_w ([`quantize_bias`](super::quantize_bias)).
    pub bias: [i32; OC],
    /// Per output channel, M = s_in · s_w / s_out as a fixed-point multiplier and shift.
    pub requant: [Requant; OC],
    /// z_in, the input's zero point, subtracted from every input value.
    pub input_zero_point: i32,
    /// z_out, the output's zero point, added after requantisation.
    pub output_zero_point: i32,
    /// The fused activation's range: [z_out, 127] for ReLU, all of int8 for none.
    pub clamp: Clamp,
}

macro_rules! conv2dq {
    ($($item:item)*) => {
        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const OC: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PT: usize,
                const PB: usize,
                const PL: usize,
                const PR: usize,
                const DH: usize,
                const DW: usize,
                const G: usize,
                const OH: usize,
                const OW: usize,
                const K: usize,
                const P: usize,
                const IN: usize,
                const OUT: usize,
            > Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>
        {
            $($item)*
        }
    };
}

conv2dq! {
    const VALID: () = {
        assert!(
            G > 0 && C.is_multiple_of(G) && OC.is_multiple_of(G),
            "`Conv2dQ`: groups must divide the channels"
        );
        assert!(K == C / G * KH * KW, "`Conv2dQ`: `K` must be `(C/G)·KH·KW`");
        assert!(SH > 0 && SW > 0 && DH > 0 && DW > 0, "`Conv2dQ`: strides and dilations");
        assert!(
            OH == (H + PT + PB - DH * (KH - 1) - 1) / SH + 1
                && OW == (W + PL + PR - DW * (KW - 1) - 1) / SW + 1,
            "`Conv2dQ`: output size"
        );
        assert!(IN == C * H * W && OUT == OC * OH * OW, "`Conv2dQ`: buffer lengths");
    };

    /// Reads the layer from its byte form ([`Encode`]).
    pub const fn decode(r: Reader<'_>) -> (Self, Reader<'_>) {
        let (weight, r) = decode_rows::<K, OC>(r);
        let (bias, r) = r.i32s::<OC>();
        let (requant, r) = decode_requants::<OC>(r);
        let (input_zero_point, r) = r.i32();
        let (output_zero_point, r) = r.i32();
        let (min, r) = r.i8();
        let (max, r) = r.i8();
        let layer = Conv2dQ {
            weight,
            bias,
            requant,
            input_zero_point,
            output_zero_point,
            clamp: Clamp { min, max },
        };
        (layer, r)
    }

    /// The taps `lo..hi` of a kernel axis of `k` taps (dilation `d`) that land inside an
    /// input of `n` for the window starting at `start` (which may be negative: padding).
    #[inline(always)]
    fn inside(start: isize, k: usize, d: usize, n: usize) -> (usize, usize) {
        let (d, n) = (d as isize, n as isize);
        // The first tap at or after 0 and the first at or after n.
        let lo = if start >= 0 { 0 } else { (-start + d - 1) / d };
        let hi = if start >= n { 0 } else { (n - start + d - 1) / d };
        (lo.min(k as isize) as usize, hi.clamp(0, k as isize) as usize)
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
    > ForwardQ<IN, OUT>
    for Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>
{
    fn forward(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (cg, og) = (C / G, OC / G);
        let z = self.input_zero_point;
        for o in 0..OC {
            let (w, c0) = (&self.weight[o], o / og * cg);
            for oy in 0..OH {
                let y0 = (oy * SH) as isize - PT as isize;
                let (ky0, ky1) = Self::inside(y0, KH, DH, H);
                for ox in 0..OW {
                    let x0 = (ox * SW) as isize - PL as isize;
                    let (kx0, kx1) = Self::inside(x0, KW, DW, W);
                    let mut acc = 0i32;
                    for c in 0..cg {
                        let plane = &x[(c0 + c) * H * W..][..H * W];
                        for ky in ky0..ky1 {
                            let row = (y0 + (ky * DH) as isize) as usize * W;
                            let taps = &w[(c * KH + ky) * KW..][..KW];
                            for kx in kx0..kx1 {
                                let v = plane[row + (x0 + (kx * DW) as isize) as usize];
                                acc += i32::from(taps[kx]) * (i32::from(v) - z);
                            }
                        }
                    }
                    let v = self.requant[o].apply(acc + self.bias[o]) + self.output_zero_point;
                    y[(o * OH + oy) * OW + ox] = self.clamp.apply(v);
                }
            }
        }
    }
}

impl<
        T: Scalar,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
        const BIAS: bool,
    > Quantize
    for Conv2d<
        T,
        C,
        H,
        W,
        OC,
        KH,
        KW,
        SH,
        SW,
        PT,
        PB,
        PL,
        PR,
        DH,
        DW,
        G,
        OH,
        OW,
        K,
        P,
        IN,
        OUT,
        BIAS,
    >
{
    type Int8 =
        Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>;

    fn quantize(&self, input: QParams, output: QParams, clamp: Clamp) -> Self::Int8 {
        let (weight, bias, requant) = quantize_channels::<K, OC>(
            |o, w| {
                for (w, v) in w.iter_mut().zip(self.weight.column(o).iter()) {
                    *w = v.to_f64() as f32;
                }
                self.bias[o].to_f64() as f32
            },
            input,
            output,
        );
        Conv2dQ {
            weight,
            bias,
            requant,
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            clamp,
        }
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const G: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const P: usize,
        const IN: usize,
        const OUT: usize,
    > Encode
    for Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>
{
    const BYTES: usize = OC * (K + 4 + 8) + 8 + 2;

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

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: Requant = Requant {
        multiplier: 1 << 30,
        shift: 1,
    }; // M = 1

    #[test]
    fn conv_by_hand_with_padding() {
        // One 3×3 channel, kernel 2×2 of ones, padding 1, stride 2, z_in = 1: the outputs are
        // sums of (x − 1) over the taps inside the image.
        let x: [i8; 9] = [2, 3, 4, 5, 6, 7, 8, 9, 10]; // x − 1 = 1..=9
        let layer = Conv2dQ::<1, 3, 3, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, 2, 4, 4, 9, 4> {
            weight: [[1; 4]],
            bias: [0],
            requant: [ONE],
            input_zero_point: 1,
            output_zero_point: 0,
            clamp: Clamp::NONE,
        };
        let mut y = [0i8; 4];
        layer.forward(&x, &mut y);
        // Windows at rows/cols {−1, 0} and {1, 2}: [1], [2 + 3], [4 + 7], [5 + 6 + 8 + 9].
        assert_eq!(y, [1, 5, 11, 28]);
    }

    #[test]
    fn depthwise_dilated_by_hand() {
        // Two 3×3 channels in two groups (depthwise), kernel 2×2 with dilation 2, no padding:
        // one output per channel, the sum of the four corners times the channel's weights.
        let x: [i8; 18] = [1, 0, 2, 0, 9, 0, 3, 0, 4, 10, 0, 20, 0, 9, 0, 30, 0, 40];
        let layer = Conv2dQ::<2, 3, 3, 2, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 2, 1, 1, 4, 1, 18, 2> {
            weight: [[1, 1, 1, 1], [1, 0, 0, -1]],
            bias: [5, 0],
            requant: [ONE; 2],
            input_zero_point: 0,
            output_zero_point: 0,
            clamp: Clamp { min: 0, max: 100 },
        };
        let mut y = [0i8; 2];
        layer.forward(&x, &mut y);
        // 1 + 2 + 3 + 4 + 5 = 15; 10 − 40 = −30, clamped at 0.
        assert_eq!(y, [15, 0]);
    }

    #[test]
    fn taps_inside_the_image() {
        type L = Conv2dQ<1, 5, 5, 1, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 5, 5, 9, 25, 25, 25>;
        // Window start −2, dilation 2, taps at −2, 0, 2: the last two are inside.
        assert_eq!(L::inside(-2, 3, 2, 5), (1, 3));
        // Start 3: taps 3 and 5; only 3 is inside a length of 5.
        assert_eq!(L::inside(3, 3, 2, 5), (0, 1));
        assert_eq!(L::inside(0, 3, 1, 5), (0, 3));
    }
}
