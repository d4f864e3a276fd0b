//! A tiny seeded generator (SplitMix64) and the sampling helpers initialisers and dropout use.
//!
//! Any `rand_core::RngCore` works wherever stacknet takes an RNG; this one exists so that a
//! `no_std` user needs no other crate and so examples are reproducible across platforms.

use rand_core::{impls, RngCore, SeedableRng};

/// SplitMix64 (Steele, Lea and Flood 2014): 64 bits of state, passes BigCrush, and is
/// what the peer benchmarks use to draw their data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// A generator whose state starts at `seed`: the same seed gives the same stream on
    /// every platform. Any seed is fine, 0 included.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
}

impl RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        impls::fill_bytes_via_next(self, dst)
    }
}

impl SeedableRng for SplitMix64 {
    type Seed = [u8; 8];
    fn from_seed(seed: Self::Seed) -> Self {
        SplitMix64(u64::from_le_bytes(seed))
    }
    fn seed_from_u64(state: u64) -> Self {
        SplitMix64(state)
    }
}

/// A seed for stream `k` derived from `seed`: SplitMix64's output after `k + 1` steps from
/// `seed`, so nearby seeds and streams give unrelated values.
pub const fn mix(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) with 53 random bits.
pub fn uniform01(rng: &mut (impl RngCore + ?Sized)) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in [-a, a).
pub fn uniform_sym(rng: &mut (impl RngCore + ?Sized), a: f64) -> f64 {
    (2.0 * uniform01(rng) - 1.0) * a
}

/// Standard normal by Box–Muller (one of the pair; simplicity beats the wasted draw here).
pub fn standard_normal(rng: &mut (impl RngCore + ?Sized)) -> f64 {
    use nalgebra::ComplexField as F;
    // 1 − u is in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - uniform01(rng);
    let u2 = uniform01(rng);
    F::sqrt(-2.0 * F::ln(u1)) * F::cos(core::f64::consts::TAU * u2)
}

/// Index in `0..n` (`n > 0`), by Lemire's multiply-shift: bias below 2⁻³² for the sizes here.
pub fn below(rng: &mut (impl RngCore + ?Sized), n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Fisher–Yates shuffle, for minibatch orders.
pub fn shuffle<X>(rng: &mut (impl RngCore + ?Sized), items: &mut [X]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_reference_sequence() {
        // First outputs for seed 0 from the reference C implementation (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = SplitMix64::new(7);
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let z = standard_normal(&mut r);
            s += z;
            s2 += z * z;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut r = SplitMix64::new(1);
        let mut v: [usize; 100] = core::array::from_fn(|i| i);
        shuffle(&mut r, &mut v);
        assert_ne!(v, core::array::from_fn::<usize, 100, _>(|i| i));
        let mut sorted = v;
        sorted.sort();
        assert_eq!(sorted, core::array::from_fn::<usize, 100, _>(|i| i));
    }
}
