//! int8 post-training quantisation in TensorFlow Lite's scheme, heap-free and `no_std`.
//!
//! - weights: symmetric int8 in [−127, 127], one scale per output channel
//!   (s_c = max|w_c| / 127, zero point 0), [`quantize_weights`];
//! - activations: asymmetric int8 with a zero point, the range set by calibration
//!   ([`QParams::from_range`]); real = s · (q − z);
//! - biases: int32 at scale s_in · s_c, zero point 0 ([`quantize_bias`]);
//! - requantisation of the int32 accumulator: M_c = s_in · s_c / s_out as a Q31 multiplier
//!   and a shift ([`Requant`], [`fixed`]), so results can equal TFLite's reference kernels.
//!
//! The kernels are in [`layers`]: dense and conv2d (with a fused ReLU clamp), max pool and
//! ReLU on int8 values.

pub mod fixed;
pub mod layers;

pub use layers::{max_pool2d, relu, Conv2dQ, DenseQ};

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

    /// s · (q − z).
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
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
