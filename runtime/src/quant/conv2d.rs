//! The int8 convolution, TFLite's `reference_integer_ops::ConvPerChannel` (and
//! `DepthwiseConvPerChannel`, which is the grouped case with one channel per group), with the
//! float [`Conv2d`]'s geometry: rectangular kernels, strides, asymmetric padding, dilation
//! and groups.

use super::bytes::{Encode, Reader, Writer};
#[cfg(not(stacknet_dsp))]
use super::{dot, sum};
use super::{Clamp, DenseQ, ForwardQ, QParams, Quantize};
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
    /// Every output channel as a dense layer over one receptive field: PyTorch's `weight[o]`
    /// (`[C/G, KH, KW]`) as `K` symmetric int8 taps, the int32 bias, the requantiser, the zero
    /// points and the fused activation's clamp.
    pub channels: DenseQ<K, OC>,
}

/// `impl<…the 21 geometry constants…> HEAD { BODY }` for each `{EXTRA}? [HEAD] { BODY }`;
/// `EXTRA` are generic parameters before them (the float layer's scalar and bias flag).
macro_rules! conv2dq {
    ($($({$($extra:tt)*})? [$($head:tt)*] { $($body:tt)* })*) => {$(
        impl<
                $($($extra)*,)?
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
            > $($head)*
        {
            $($body)*
        }
    )*};
}

conv2dq! {
[Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>] {
    const VALID: () = {
        assert!(
            G > 0 && C.is_multiple_of(G) && OC.is_multiple_of(G),
            "`Conv2dQ`: groups must divide the channels"
        );
        assert!(K == C / G * KH * KW, "`Conv2dQ`: `K` must be `(C/G)·KH·KW`");
        assert!(
            K <= 1 << 16,
            "`Conv2dQ`: at most 2^16 taps, so that the int32 sums cannot overflow"
        );
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
        let (channels, r) = DenseQ::decode(r);
        (Conv2dQ { channels }, r)
    }

    /// One output pixel at a time: its receptive field in one group is gathered into a
    /// column of `K` values (the padding as the zero point, real 0), which every output
    /// channel of the group then takes a dot product with. The zero point is folded into the
    /// bias once per call (Σ w · (x − z) = Σ w · x − z · Σ w), so the inner loop is a plain
    /// int8 dot product, which LLVM vectorises. The column is the only scratch: `K` bytes.
    pub fn forward_columns(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let (cg, og) = (C / G, OC / G);
        let z = self.channels.input_zero_point;
        // The bias with the zero point folded in, where the column holds x rather than x − z.
        #[cfg(not(stacknet_dsp))]
        let offset: [i32; OC] = core::array::from_fn(|o| self.channels.bias[o] - z * sum(&self.channels.weight[o]));
        #[cfg(stacknet_dsp)]
        let offset = self.channels.bias;
        let mut column = [0i8; K];

        for oy in 0..OH {
            let y0 = (oy * SH) as isize - PT as isize;
            let (ky0, ky1) = Self::inside(y0, KH, DH, H);
            for ox in 0..OW {
                let x0 = (ox * SW) as isize - PL as isize;
                let (kx0, kx1) = Self::inside(x0, KW, DW, W);
                let border = ky0 > 0 || ky1 < KH || kx0 > 0 || kx1 < KW;
                for g in 0..G {
                    if border {
                        column.fill(z as i8);
                    }
                    for c in 0..cg {
                        let plane = &x[(g * cg + c) * H * W..][..H * W];
                        for ky in ky0..ky1 {
                            let row = &plane[(y0 + (ky * DH) as isize) as usize * W..][..W];
                            let taps = &mut column[(c * KH + ky) * KW..][..KW];
                            if DW == 1 && !border {
                                // The common case, a run of `KW` bytes, copied in a loop
                                // of constant length (a `memcpy` call costs more).
                                let src = &row[x0 as usize..][..KW];
                                for (t, &v) in taps.iter_mut().zip(src) {
                                    *t = v;
                                }
                            } else {
                                for kx in kx0..kx1 {
                                    taps[kx] = row[(x0 + (kx * DW) as isize) as usize];
                                }
                            }
                        }
                    }
                    let mut put = |o: usize, dot: i32| {
                        let v = self.channels.requant[o].apply(dot + offset[o]) + self.channels.output_zero_point;
                        y[(o * OH + oy) * OW + ox] = self.channels.clamp.apply(v);
                    };
                    // Armv7E-M: the column widened once, two channels at a time with `SMLAD`.
                    #[cfg(stacknet_dsp)]
                    {
                        let mut xw = [[0u8; 2]; K];
                        super::dsp::widen(&column, z, &mut xw);
                        let (mut o, end) = (g * og, (g + 1) * og);
                        while o + 1 < end {
                            let (a, b) =
                                super::dsp::dot2(&self.channels.weight[o], &self.channels.weight[o + 1], &xw);
                            put(o, a);
                            put(o + 1, b);
                            o += 2;
                        }
                        if o < end {
                            put(o, super::dsp::dot(&self.channels.weight[o], &xw));
                        }
                    }
                    #[cfg(not(stacknet_dsp))]
                    for o in g * og..(g + 1) * og {
                        put(o, dot(&self.channels.weight[o], &column));
                    }
                }
            }
        }
    }

    /// Stride 1 (only), a row of outputs at a time: every tap adds w · (x − z) to the outputs of the
    /// row it reaches inside the image, a run of contiguous inputs, which LLVM vectorises.
    /// x − z and its products with the weights are exact in i16 (|x − z| ≤ 255,
    /// |w · (x − z)| ≤ 128 · 255 < 2¹⁵); the sums are i32, as in the column form, so both
    /// give the same integers.
    #[cfg(not(target_arch = "arm"))]
    pub fn forward_rows(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        if SW != 1 {
            return self.forward_columns(x, y);
        }
        let z = self.channels.input_zero_point as i16;
        let xz: [i16; IN] = core::array::from_fn(|i| i16::from(x[i]) - z);
        // Whether every output of a row reads inside the row itself (no padding at the sides)
        // or inside the row with `W` zeros on each side: then the loops over the outputs of
        // a row have a fixed length.
        let inside = PL == 0 && (OW - 1) + (KW - 1) * DW < W;
        let padded = PL <= W && (OW - 1) + (KW - 1) * DW < 2 * W + PL;
        let (cg, og) = (C / G, OC / G);
        // acc[o] += w · row[shift..], for the outputs of one row.
        let add = |acc: &mut [i32; OW], wv: i16, src: &[i16; OW]| {
            for (a, &v) in acc.iter_mut().zip(src) {
                *a += i32::from(wv * v);
            }
        };
        for g in 0..G {
            for oy in 0..OH {
                let y0 = (oy * SH) as isize - PT as isize;
                let (ky0, ky1) = Self::inside(y0, KH, DH, H);
                let mut acc = [[0i32; OW]; OC];
                for c in 0..cg {
                    for ky in ky0..ky1 {
                        let iy = (y0 + (ky * DH) as isize) as usize;
                        let row: &[i16; W] = xz[((g * cg + c) * H + iy) * W..][..W]
                            .try_into()
                            .expect("W");
                        // The row between two rows of zeros (real 0 is x − z = 0), built
                        // once for every output channel that reads it.
                        let mut wide = [[0i16; W]; 3];
                        if !inside && padded {
                            wide[1] = *row;
                        }
                        let wide = wide.as_flattened();
                        for o in g * og..(g + 1) * og {
                            let (w, acc) = (&self.channels.weight[o], &mut acc[o]);
                            for kx in 0..KW {
                                let wv = i16::from(w[(c * KH + ky) * KW + kx]);
                                if inside {
                                    add(acc, wv, row[kx * DW..][..OW].try_into().expect("OW"));
                                    continue;
                                }
                                if padded {
                                    let at = W + kx * DW - PL;
                                    add(acc, wv, wide[at..][..OW].try_into().expect("OW"));
                                    continue;
                                }
                                // Output ox reads input ox + shift, inside for ox in lo..hi.
                                let shift = (kx * DW) as isize - PL as isize;
                                let lo = (-shift).clamp(0, OW as isize) as usize;
                                let hi = (W as isize - shift).clamp(0, OW as isize) as usize;
                                if lo >= hi {
                                    continue;
                                }
                                let src = &row[(lo as isize + shift) as usize..][..hi - lo];
                                for (a, &v) in acc[lo..hi].iter_mut().zip(src) {
                                    *a += i32::from(wv * v);
                                }
                            }
                        }
                    }
                }
                for o in g * og..(g + 1) * og {
                    let out = &mut y[(o * OH + oy) * OW..][..OW];
                    for (out, &a) in out.iter_mut().zip(&acc[o]) {
                        let v = self.channels.requant[o].apply(a + self.channels.bias[o]) + self.channels.output_zero_point;
                        *out = self.channels.clamp.apply(v);
                    }
                }
            }
        }
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

[ForwardQ<IN, OUT> for Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>] {
    /// Stride 1 on targets with memory to spare goes by rows ([`Self::forward_rows`]), the
    /// rest by columns ([`Self::forward_columns`]): the same integers either way.
    fn forward(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        #[cfg(not(target_arch = "arm"))]
        if SW == 1 {
            return self.forward_rows(x, y);
        }
        self.forward_columns(x, y);
    }
}

{T: Scalar, const BIAS: bool}
[Quantize for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT, BIAS>] {
    type Int8 = Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>;

    fn quantize(&self, input: QParams, output: QParams, clamp: Clamp) -> Self::Int8 {
        let channels = DenseQ::from_float(&self.weight, &self.bias, input, output, clamp);
        Conv2dQ { channels }
    }
}

[Encode for Conv2dQ<C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, G, OH, OW, K, P, IN, OUT>] {
    const BYTES: usize = <DenseQ<K, OC> as Encode>::BYTES;

    fn encode(&self, w: &mut Writer<'_>) {
        self.channels.encode(w);
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::Requant;
    use std::vec;
    use std::vec::Vec;

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
            channels: DenseQ {
                weight: [[1; 4]],
                bias: [0],
                requant: [ONE],
                input_zero_point: 1,
                output_zero_point: 0,
                clamp: Clamp::NONE,
            },
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
            channels: DenseQ {
                weight: [[1, 1, 1, 1], [1, 0, 0, -1]],
                bias: [5, 0],
                requant: [ONE; 2],
                input_zero_point: 0,
                output_zero_point: 0,
                clamp: Clamp { min: 0, max: 100 },
            },
        };
        let mut y = [0i8; 2];
        layer.forward(&x, &mut y);
        // 1 + 2 + 3 + 4 + 5 = 15; 10 − 40 = −30, clamped at 0.
        assert_eq!(y, [15, 0]);
    }

    /// The convolution by its definition: every tap, inside the image or not.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        x: &[i8],
        w: &[[i8; 18]],
        (c, h, wd): (usize, usize, usize),
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
        d: (usize, usize),
        g: usize,
        z: i32,
    ) -> Vec<i32> {
        let oc = w.len();
        let (oh, ow) = (
            (h + 2 * p.0 - d.0 * (k.0 - 1) - 1) / s.0 + 1,
            (wd + 2 * p.1 - d.1 * (k.1 - 1) - 1) / s.1 + 1,
        );
        let mut out = vec![0; oc * oh * ow];
        for o in 0..oc {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0;
                    for ci in 0..c / g {
                        for ky in 0..k.0 {
                            for kx in 0..k.1 {
                                let iy = (oy * s.0 + ky * d.0) as isize - p.0 as isize;
                                let ix = (ox * s.1 + kx * d.1) as isize - p.1 as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let ch = o / (oc / g) * (c / g) + ci;
                                let v = i32::from(x[(ch * h + iy as usize) * wd + ix as usize]);
                                acc += i32::from(w[o][(ci * k.0 + ky) * k.1 + kx]) * (v - z);
                            }
                        }
                    }
                    out[(o * oh + oy) * ow + ox] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn rows_and_columns_give_the_definitions_integers() {
        // An identity requantiser and no clamp would saturate: compare the int32 sums through
        // a requantiser of 1/256 and a wide clamp instead, on pseudo-random int8 data.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8 as i8
        };
        let x: [i8; 4 * 7 * 6] = core::array::from_fn(|_| next());
        let w: [[i8; 18]; 4] = core::array::from_fn(|_| core::array::from_fn(|_| next()));
        let requant = Requant::new(1.0, 1.0, 256.0);
        let finish = |acc: i32, b: i32| requant.apply(acc + b).clamp(-128, 127) as i8;
        // 4 channels in 2 groups (2 per group), kernel 3 × 3, stride 1, padding 2 × 1,
        // dilation 2 × 1: 7 × 6 → (7 + 4 − 4 − 1) / 1 + 1 = 7 rows, (6 + 2 − 2 − 1) + 1 = 6.
        let layer = Conv2dQ::<4, 7, 6, 4, 3, 3, 1, 1, 2, 2, 1, 1, 2, 1, 2, 7, 6, 18, 42, 168, 168> {
            channels: DenseQ {
                weight: w,
                bias: [3, -5, 7, 0],
                requant: [requant; 4],
                input_zero_point: -9,
                output_zero_point: 0,
                clamp: Clamp::NONE,
            },
        };
        let want = reference(&x, &w, (4, 7, 6), (3, 3), (1, 1), (2, 1), (2, 1), 2, -9);
        let want: Vec<i8> = want
            .iter()
            .enumerate()
            .map(|(i, &acc)| finish(acc, layer.channels.bias[i / 42]))
            .collect();
        let (mut rows, mut columns) = ([0i8; 168], [0i8; 168]);
        layer.forward_rows(&x, &mut rows);
        layer.forward_columns(&x, &mut columns);
        assert_eq!(columns[..], want[..]);
        assert_eq!(rows[..], want[..]);
        // Stride 2 × 1 as well: the rows form takes strided rows.
        let strided = Conv2dQ::<4, 7, 6, 4, 3, 3, 2, 1, 2, 2, 1, 1, 2, 1, 2, 4, 6, 18, 24, 168, 96> {
            channels: DenseQ {
                weight: w,
                bias: layer.channels.bias,
                requant: [requant; 4],
                input_zero_point: -9,
                output_zero_point: 0,
                clamp: Clamp::NONE,
            },
        };
        let want = reference(&x, &w, (4, 7, 6), (3, 3), (2, 1), (2, 1), (2, 1), 2, -9);
        let want: Vec<i8> = want
            .iter()
            .enumerate()
            .map(|(i, &acc)| finish(acc, layer.channels.bias[i / 24]))
            .collect();
        let (mut rows, mut columns) = ([0i8; 96], [0i8; 96]);
        strided.forward_rows(&x, &mut rows);
        strided.forward_columns(&x, &mut columns);
        assert_eq!(columns[..], want[..]);
        assert_eq!(rows[..], want[..]);
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
