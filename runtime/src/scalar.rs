//! The floating-point types a network can be built on: `f32` to deploy, `f64` to check gradients.

/// A real scalar: nalgebra's `RealField` plus the few conversions the kernels need.
///
/// `Pod` (plain old data) is what lets a network's working memory be one flat arena whose
/// regions are seen as the typed vectors of each layer (see [`crate::graph`]).
pub trait Scalar:
    nalgebra::RealField + Copy + Default + core::fmt::Debug + bytemuck::Pod + 'static
{
    /// Bytes of one value, for the memory figures in summaries.
    const BYTES: usize;
    /// Converts a constant (an initialisation bound, a default hyperparameter…) to this type.
    fn of(x: f64) -> Self;
    /// Widens to `f64` for reporting.
    fn to_f64(self) -> f64;
    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt (GELU), from `libm`: nalgebra's
    /// `RealField` has none, and `libm` works without `std`.
    fn erf(self) -> Self;
    /// erfc(x) = 1 − erf(x), accurate where erf(x) is close to ±1 (GELU's negative tail).
    fn erfc(self) -> Self;
    /// The values as `f32` when `Self` is `f32`, for the kernels' explicit `f32` code
    /// ([`crate::simd`]); `None` otherwise.
    #[doc(hidden)]
    #[inline(always)]
    fn f32s(values: &[Self]) -> Option<&[f32]> {
        let _ = values;
        None
    }
    /// [`f32s`](Self::f32s), mutable.
    #[doc(hidden)]
    #[inline(always)]
    fn f32s_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        let _ = values;
        None
    }
    /// [`f32s`](Self::f32s) for one row of a fixed length.
    #[doc(hidden)]
    #[inline(always)]
    fn f32_row<const N: usize>(row: &[Self; N]) -> Option<&[f32; N]> {
        let _ = row;
        None
    }
}

impl Scalar for f32 {
    const BYTES: usize = 4;
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        libm::erfcf(self)
    }
    #[inline(always)]
    fn f32s(values: &[Self]) -> Option<&[f32]> {
        Some(values)
    }
    #[inline(always)]
    fn f32s_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        Some(values)
    }
    #[inline(always)]
    fn f32_row<const N: usize>(row: &[Self; N]) -> Option<&[f32; N]> {
        Some(row)
    }
}

impl Scalar for f64 {
    const BYTES: usize = 8;
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        libm::erfc(self)
    }
}
