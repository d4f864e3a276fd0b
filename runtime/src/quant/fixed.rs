//! TensorFlow Lite's fixed-point requantisation, bit for bit: an int32 accumulator times a
//! real multiplier M is computed as a Q31 multiplier m₀ and a power-of-two shift, with
//! `SaturatingRoundingDoublingHighMul` (gemmlowp's) and `RoundingDivideByPOT` (round half away
//! from zero), as `tensorflow/lite/kernels/internal/common.h` defines them (the default
//! double-rounding form, not `TFLITE_SINGLE_ROUNDING`).

/// The high 32 bits of 2·a·b, rounded: gemmlowp's `SaturatingRoundingDoublingHighMul`. The only
/// overflow, `i32::MIN · i32::MIN`, saturates to `i32::MAX`. The nudge makes positive halves
/// round up and, with C's truncating division, negative halves round toward zero.
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Rust's `/` truncates toward zero, as C's does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// x / 2^exponent rounded half away from zero: gemmlowp's `RoundingDivideByPOT`,
/// 0 ≤ exponent ≤ 31.
pub const fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + if x < 0 { 1 } else { 0 };
    (x >> exponent) + if remainder > threshold { 1 } else { 0 }
}

/// x · M for M = multiplier · 2^(shift − 31): TFLite's `MultiplyByQuantizedMultiplier`.
/// A left shift (M ≥ 1) is applied before the multiply, a right shift after it.
pub const fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift } else { 0 };
    let right = if shift > 0 { 0 } else { -shift };
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// A real multiplier M ≥ 0 as (m₀, shift) with M ≈ m₀ · 2^(shift − 31) and m₀ in [2^30, 2^31):
/// TFLite's `QuantizeMultiplier` (frexp, then m₀ = round(q · 2^31) half away from zero;
/// multipliers below 2^−32 become 0).
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 {
        return (0, 0);
    }
    let (q, mut shift) = libm::frexp(real);
    let mut fixed = libm::round(q * (1i64 << 31) as f64) as i64;
    if fixed == 1i64 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (fixed as i32, shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_high_mul_by_hand() {
        // 2 · 2^30 · 2^30 / 2^32 = 2^29 (the exact product, no rounding).
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // 3 · 0.5 = 1.5 rounds up to 2; −1.5 rounds toward zero, to −1 (gemmlowp's nudge).
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // (2^31 − 1)² · 2 / 2^32 = 2^31 − 2 + 2^−31: rounds to 2^31 − 2.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
    }

    #[test]
    fn divide_by_pot_rounds_half_away_from_zero() {
        let cases = [
            (5, 1, 3),   // 2.5
            (-5, 1, -3), // −2.5
            (-4, 1, -2),
            (7, 2, 2),   // 1.75
            (-7, 2, -2), // −1.75
            (-6, 2, -2), // −1.5
            (6, 2, 2),   // 1.5
            (-1, 1, -1), // −0.5
            (1, 1, 1),   // 0.5
            (123, 0, 123),
            (i32::MAX, 31, 1),
            (i32::MIN, 31, -1),
        ];
        for (x, e, want) in cases {
            assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
        }
    }

    #[test]
    fn quantize_multiplier_by_hand() {
        // frexp(0.5) = 0.5 · 2^0; frexp(1) = 0.5 · 2^1; 0.75 · 2^31 = 1,610,612,736.
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.75), (1_610_612_736, 0));
        // 0.1 = 0.8 · 2^−3; 0.8 · 2^31 = 1,717,986,918.4.
        assert_eq!(quantize_multiplier(0.1), (1_717_986_918, -3));
        // 3.5 = 0.875 · 2^2.
        assert_eq!(quantize_multiplier(3.5), (1_879_048_192, 2));
        // Below 2^−32 there is nothing to keep.
        assert_eq!(quantize_multiplier(libm::ldexp(1.0, -40)), (0, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        // q rounds up to 2^31: halve it and add one to the exponent.
        assert_eq!(
            quantize_multiplier(1.0 - libm::ldexp(1.0, -40)),
            (1 << 30, 1)
        );
    }

    #[test]
    fn multiply_by_quantized_multiplier_by_hand() {
        let (m, s) = quantize_multiplier(0.1);
        // 100 · 0.1 = 10; 15 · 0.1 = 1.5 → 2 and −1.5 → −2; 2.5 → 3 and −2.5 → −3.
        let cases = [
            (100, 10),
            (-100, -10),
            (15, 2),
            (-15, -2),
            (25, 3),
            (-25, -3),
        ];
        for (x, want) in cases {
            assert_eq!(multiply_by_quantized_multiplier(x, m, s), want, "{x} · 0.1");
        }
        // M > 1 shifts left first: 1000 · 3.5 = 3500.
        let (m, s) = quantize_multiplier(3.5);
        assert_eq!(multiply_by_quantized_multiplier(1000, m, s), 3500);
        // 123,456 · 0.0012345 = 152.406…: m₀ = 1,357,347,104, shift −9.
        let (m, s) = quantize_multiplier(0.0012345);
        assert_eq!((m, s), (1_357_347_104, -9));
        assert_eq!(multiply_by_quantized_multiplier(123_456, m, s), 152);
    }
}
