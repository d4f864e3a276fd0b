//! int8 post-training quantisation in TensorFlow Lite's scheme, heap-free and `no_std`.
//!
//! - weights: symmetric int8 in [−127, 127], one scale per output channel
//!   (s_c = max|w_c| / 127, zero point 0), [`quantize_weights`];
//! - activations: asymmetric int8 with a zero point, the range set by calibration
//!   ([`Range`], [`QParams::from_range`]); real = s · (q − z);
//! - biases: int32 at scale s_in · s_c, zero point 0 ([`quantize_bias`]);
//! - requantisation of the int32 accumulator: M_c = s_in · s_c / s_out as a Q31 multiplier
//!   and a shift ([`Requant`], [`fixed`]), so results can equal TFLite's reference kernels.
//!
//! A `network!` declared with `#[int8]` gets an int8 twin (`LeNet5Int8` beside `LeNet5`),
//! which `LeNet5::quantize(calibration)` builds: every layer's float type says through
//! [`Quantize`] what it becomes, the twin's program runs the float plan's schedule over an
//! arena of `i8` ([`arena`]), and [`bytes`] stores it so that a `static` can be decoded from
//! an `include_bytes!` at compile time. The layers are [`DenseQ`], [`Conv2dQ`] (grouped and
//! depthwise too), max pooling (the float [`MaxPool2d`](crate::layers::MaxPool2d) itself:
//! it keeps its input's quantisation) and [`ClampQ`] (ReLU and ReLU6 on their own; after a
//! dense or convolution they fuse into its output clamp, as TFLite fuses them).

pub mod arena;
pub mod bytes;
mod clamp;
mod conv2d;
mod dense;
#[cfg(stacknet_dsp)]
mod dsp;
pub mod fixed;
mod pool;

pub use clamp::ClampQ;
pub use conv2d::Conv2dQ;
pub use dense::DenseQ;
/// int8's range, the activations' quantised range.
pub const QMIN: i32 = -128;
/// The upper end of int8's range (weights use the symmetric [−127, 127]).
pub const QMAX: i32 = 127;

/// An activation tensor's quantisation: real = scale · (q − zero_point).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// s, the real value of one quantisation step; positive.
    pub scale: f32,
    /// z, the int8 value that represents real 0 (in [−128, 127]).
    pub zero_point: i32,
}

impl QParams {
    /// The parameters for values seen in [min, max], as TFLite's converter chooses them: the
    /// range is widened to include 0 (so 0 is exact: zero padding and ReLU stay exact),
    /// s = (max − min) / 255 and z = round(−128 − min / s), clamped to int8.
    pub fn from_range(min: f32, max: f32) -> Self {
        let (min, max) = (min.min(0.0) as f64, max.max(0.0) as f64);
        if max == min {
            return QParams {
                scale: 1.0,
                zero_point: 0,
            };
        }
        let scale = (max - min) / f64::from(QMAX - QMIN);
        let zero_point = libm::round(f64::from(QMIN) - min / scale) as i32;
        QParams {
            scale: scale as f32,
            zero_point: zero_point.clamp(QMIN, QMAX),
        }
    }

    /// q = round(x / s) + z, saturated to int8 (round half away from zero, as TFLite's
    /// `Quantize` reference kernel).
    pub fn quantize(&self, x: f32) -> i8 {
        let q = libm::round(f64::from(x) / f64::from(self.scale)) as i32 + self.zero_point;
        q.clamp(QMIN, QMAX) as i8
    }

    /// Reads the parameters from the byte form ([`bytes::Encode`]).
    pub const fn decode(r: bytes::Reader<'_>) -> (Self, bytes::Reader<'_>) {
        let (scale, r) = r.f32();
        let (zero_point, r) = r.i32();
        (QParams { scale, zero_point }, r)
    }

    /// s · (q − z).
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

impl bytes::Encode for QParams {
    const BYTES: usize = 8;

    fn encode(&self, w: &mut bytes::Writer<'_>) {
        w.f32(self.scale);
        w.i32(self.zero_point);
    }
}

/// Σ a·b over int8 values, in int32. Each product is at most 2¹⁴ and each w · (x − z) below
/// 2¹⁵, so the layers' sums stay exact for the at most 2¹⁶ taps they allow.
#[cfg(not(stacknet_dsp))]
#[inline(always)]
pub(crate) fn dot<const N: usize>(a: &[i8; N], b: &[i8; N]) -> i32 {
    // Without vector units, the plain loop (Armv7E-M takes `dsp`'s instead).
    #[cfg(target_arch = "arm")]
    {
        let mut acc = 0i32;
        for (&a, &b) in a.iter().zip(b) {
            acc += i32::from(a) * i32::from(b);
        }
        acc
    }
    // Sixteen independent lanes, each product exact in i16, so that LLVM keeps the sums in
    // vector registers (one horizontal sum at the end) instead of a chain through one.
    #[cfg(not(target_arch = "arm"))]
    {
        const L: usize = 16;
        let mut lanes = [0i32; L];
        let (ha, ta) = a.as_chunks::<L>();
        let (hb, tb) = b.as_chunks::<L>();
        for (ca, cb) in ha.iter().zip(hb) {
            for i in 0..L {
                lanes[i] += i32::from(i16::from(ca[i]) * i16::from(cb[i]));
            }
        }
        let mut acc: i32 = lanes.iter().sum();
        for (&a, &b) in ta.iter().zip(tb) {
            acc += i32::from(a) * i32::from(b);
        }
        acc
    }
}

/// Σ a over int8 values.
#[cfg(not(stacknet_dsp))]
#[inline(always)]
pub(crate) fn sum(a: &[i8]) -> i32 {
    a.iter().map(|&v| i32::from(v)).sum()
}

/// The index of the largest value, the first of equals (the class an int8 network predicts).
pub fn argmax(y: &[i8]) -> usize {
    let mut best = 0;
    for (i, &v) in y.iter().enumerate() {
        if v > y[best] {
            best = i;
        }
    }
    best
}

/// Requantisation of one output channel: the real multiplier as TFLite's (m₀, shift).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requant {
    /// m₀, the multiplier's mantissa in Q31: M = m₀ · 2^(shift − 31), m₀ in [2³⁰, 2³¹).
    pub multiplier: i32,
    /// The power of two: positive shifts left, negative shifts right (with rounding).
    pub shift: i32,
}

impl Requant {
    /// For M = input_scale · weight_scale / output_scale, in f64 as TFLite computes it.
    pub fn new(input_scale: f32, weight_scale: f32, output_scale: f32) -> Self {
        let m = f64::from(input_scale) * f64::from(weight_scale) / f64::from(output_scale);
        let (multiplier, shift) = fixed::quantize_multiplier(m);
        Requant { multiplier, shift }
    }

    /// acc · M, rounded as TFLite rounds.
    #[inline(always)]
    pub fn apply(&self, acc: i32) -> i32 {
        fixed::multiply_by_quantized_multiplier(acc, self.multiplier, self.shift)
    }
}

/// Symmetric per-channel quantisation of one output channel's weights into `out`: returns the
/// scale s = max|w| / 127 (1 for an all-zero channel) with q = round(w / s) in [−127, 127].
pub fn quantize_weights(w: &[f32], out: &mut [i8]) -> f32 {
    let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = if max == 0.0 { 1.0 } else { max / 127.0 };
    for (q, &v) in out.iter_mut().zip(w) {
        *q = (libm::round(f64::from(v) / f64::from(scale)) as i32).clamp(-127, 127) as i8;
    }
    scale
}

/// A bias at scale s_in · s_w, zero point 0, saturated to int32.
pub fn quantize_bias(b: f32, input_scale: f32, weight_scale: f32) -> i32 {
    let s = f64::from(input_scale) * f64::from(weight_scale);
    libm::round(f64::from(b) / s).clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// The int8 range a layer's output is clamped to: its fused activation's, or all of int8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clamp {
    /// The lowest value: the zero point for ReLU.
    pub min: i8,
    /// The highest value: q(6) for ReLU6.
    pub max: i8,
}

impl Clamp {
    /// No activation: all of int8.
    pub const NONE: Clamp = Clamp {
        min: i8::MIN,
        max: i8::MAX,
    };

    /// ReLU on values quantised by `p`: [q(0), 127], as TFLite's
    /// `CalculateActivationRangeQuantized`.
    pub fn relu(p: QParams) -> Clamp {
        Clamp {
            min: p.quantize(0.0),
            max: i8::MAX,
        }
    }

    /// ReLU6 on values quantised by `p`: [q(0), q(6)].
    pub fn relu6(p: QParams) -> Clamp {
        Clamp {
            min: p.quantize(0.0),
            max: p.quantize(6.0),
        }
    }

    #[inline(always)]
    pub(crate) fn apply(self, v: i32) -> i8 {
        v.clamp(i32::from(self.min), i32::from(self.max)) as i8
    }
}

/// A float layer's int8 form. `input` and `output` quantise the values it reads and writes;
/// `clamp` is the range of the activation fused into it (ReLU after a dense layer), or
/// [`Clamp::NONE`]. Layers that keep their input's quantisation (max pooling) ignore `output`.
pub trait Quantize {
    /// The int8 layer.
    type Int8;
    /// The int8 layer for these quantisations.
    fn quantize(&self, input: QParams, output: QParams, clamp: Clamp) -> Self::Int8;
}

/// An activation that a layer before it can fuse as its output clamp (ReLU, ReLU6).
pub trait Fuse {
    /// The clamp on values quantised by `p`.
    fn clamp(p: QParams) -> Clamp;
}

/// An int8 layer from `IN` values to `OUT` values.
pub trait ForwardQ<const IN: usize, const OUT: usize> {
    /// Overwrites every value of `y`.
    fn forward(&self, x: &[i8; IN], y: &mut [i8; OUT]);
}

/// An int8 layer that can overwrite its input.
pub trait InPlaceQ<const N: usize> {
    /// Overwrites `x` with the output.
    fn forward_in_place(&self, x: &mut [i8; N]);
}

/// The values a tensor took over calibration: [min, max], or nothing yet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    min: f32,
    max: f32,
    finite: bool,
    seen: bool,
}

impl Range {
    /// No value seen yet.
    pub const EMPTY: Range = Range {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        finite: true,
        seen: false,
    };

    /// Widens the range to every value of `xs` (as f32, the precision TFLite calibrates in).
    pub fn observe<T: crate::Scalar>(&mut self, xs: &[T]) {
        for &x in xs {
            let x = x.to_f64() as f32;
            self.finite &= x.is_finite();
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.seen |= !xs.is_empty();
    }

    /// The lowest and highest values seen.
    pub fn bounds(&self) -> Option<(f32, f32)> {
        (self.seen && self.finite).then_some((self.min, self.max))
    }

    /// The quantisation of the range ([`QParams::from_range`]), or why there is none.
    pub fn params(&self) -> Result<QParams, CalibrationError> {
        match (self.seen, self.finite) {
            (false, _) => Err(CalibrationError::NoSamples),
            (true, false) => Err(CalibrationError::NonFinite),
            (true, true) => Ok(QParams::from_range(self.min, self.max)),
        }
    }
}

/// Why a network could not be quantised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalibrationError {
    /// The calibration data was empty: no range to quantise by.
    NoSamples,
    /// A value seen during calibration was infinite or NaN.
    NonFinite,
}

impl core::fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CalibrationError::NoSamples => {
                "calibration needs at least one sample: the activation ranges come from it"
            }
            CalibrationError::NonFinite => {
                "a value seen during calibration is infinite or NaN: the network's float \
                 outputs are not finite on the calibration data"
            }
        })
    }
}

/// The per-output-channel quantisation of a float weight matrix whose channel `o` is
/// `channel(o)`: int8 weights, int32 biases and requantisers for the input and output
/// quantisations `input`, `output`.
pub(crate) fn quantize_channels<const K: usize, const O: usize>(
    channel: impl Fn(usize, &mut [f32; K]) -> f32,
    input: QParams,
    output: QParams,
) -> ([[i8; K]; O], [i32; O], [Requant; O]) {
    let (mut weight, mut bias, mut requant) = ([[0i8; K]; O], [0i32; O], [Requant::default(); O]);
    let mut w = [0f32; K];
    for o in 0..O {
        let b = channel(o, &mut w);
        let s = quantize_weights(&w, &mut weight[o]);
        bias[o] = quantize_bias(b, input.scale, s);
        requant[o] = Requant::new(input.scale, s, output.scale);
    }
    (weight, bias, requant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_params_by_hand() {
        // [0, 2.55]: s = 0.01, z = round(−128 − 0) = −128; 1.0 → 100 − 128 = −28.
        let p = QParams::from_range(0.0, 2.55);
        assert!((p.scale - 0.01).abs() < 1e-9);
        assert_eq!(p.zero_point, -128);
        assert_eq!(p.quantize(1.0), -28);
        assert_eq!(p.quantize(-1.0), -128);
        assert_eq!(p.quantize(9.0), 127);
        // [−1, 1]: s = 2/255, z = round(−128 + 127.5) = round(−0.5) = −1 (half away from 0).
        let p = QParams::from_range(-1.0, 1.0);
        assert_eq!(p.zero_point, -1);
        assert_eq!(p.quantize(0.0), -1);
        assert!((p.dequantize(p.quantize(0.5)) - 0.5).abs() <= p.scale / 2.0);
        // A range away from zero is widened to include it: [2, 4] → [0, 4].
        assert_eq!(QParams::from_range(2.0, 4.0), QParams::from_range(0.0, 4.0));
    }

    #[test]
    fn weights_and_bias_by_hand() {
        let mut q = [0i8; 4];
        let s = quantize_weights(&[0.5, -1.27, 0.005, 0.0], &mut q);
        assert!((s - 0.01).abs() < 1e-9);
        assert_eq!(q, [50, -127, 1, 0]); // 0.5 rounds half away from zero
        assert_eq!(quantize_weights(&[0.0; 4], &mut q), 1.0);
        assert_eq!(quantize_bias(0.3, 0.01, 0.5), 60);
        assert_eq!(quantize_bias(-0.3, 0.01, 0.5), -60);
        assert_eq!(quantize_bias(1e30, 1e-3, 1e-3), i32::MAX);
    }

    #[test]
    fn requant_of_a_real_multiplier() {
        // 0.02 · 0.5 / 0.1 = 0.1: 1,000 → 100.
        let r = Requant::new(0.02, 0.5, 0.1);
        assert_eq!(r.apply(1000), 100);
        assert_eq!(r.apply(-15), -2);
    }
}
