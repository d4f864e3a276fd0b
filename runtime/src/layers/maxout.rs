//! Maxout (Goodfellow et al. 2013): the maximum over groups of `K` consecutive channels, per
//! position.
//!
//! Shapes: x ∈ ℝ^(K·C × S) → y ∈ ℝ^(C × S), flat in channel-major order; for images S = h·w
//! (`[K·C, h, w]` → `[C, h, w]`), for vectors S = 1 (`[K·C]` → `[C]`). Output channel c at
//! position s is max over k < K of input channel c·K + k at s, the grouping of the usual
//! PyTorch idiom `x.view(B, C, K, h, w).amax(2)`.
//!
//! Training records the flat input index of each maximum; backward sends δ to it and zero to
//! the group's other inputs. Ties: the first maximum (lowest k) wins. A NaN wins over any
//! number, the first NaN if several, so NaN propagates to the output (as `torch.max` does)
//! and its gradient goes to that NaN.

use crate::{Layer, NoParams, Scalar, Zeros};
use nalgebra::SVector;

/// Maxout over groups of `K` channels: `C` output channels of `S` positions, `IN = K·C·S`
/// inputs, `OUT = C·S` outputs; see the module docs. A unit value: `Maxout`.
///
/// ```
/// use stacknet_runtime::layers::Maxout;
/// use stacknet_runtime::nalgebra::SVector;
/// use stacknet_runtime::Layer;
///
/// // Six features in two groups of three → two outputs. K, C, S, IN, OUT:
/// type M = Maxout<3, 2, 1, 6, 2>;
/// let x = SVector::<f32, 6>::from([1.0, 5.0, 2.0, -1.0, -3.0, -2.0]);
/// let mut y = SVector::zeros();
/// M::default().forward(&x, &mut y);
/// assert_eq!(y, SVector::from([5.0, -1.0]));
/// ```
///
/// The dimension check runs at compile time (here `OUT` should be 3):
///
/// ```compile_fail,E0080
/// # use stacknet_runtime::layers::Maxout;
/// # use stacknet_runtime::nalgebra::SVector;
/// # use stacknet_runtime::Layer;
/// let mut y = SVector::<f32, 4>::zeros();
/// Maxout::<2, 3, 1, 6, 4>.forward(&SVector::zeros(), &mut y);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Maxout<const K: usize, const C: usize, const S: usize, const IN: usize, const OUT: usize>;

crate::no_params!(Maxout<; const K: usize; const C: usize; const S: usize; const IN: usize;
    const OUT: usize>);

/// Whether `v` replaces `m` as a group's maximum: when strictly greater (so the first maximum
/// wins ties), or when it is the first NaN (a NaN is never replaced).
#[inline(always)]
fn wins<T: Scalar>(v: T, m: T) -> bool {
    #[allow(clippy::eq_op)]
    let first_nan = v != v && m == m;
    v > m || first_nan
}

impl<const K: usize, const C: usize, const S: usize, const IN: usize, const OUT: usize>
    Maxout<K, C, S, IN, OUT>
{
    const VALID: () = {
        assert!(
            K > 0 && C > 0 && S > 0,
            "maxout: K, C and S must be positive"
        );
        assert!(IN == K * C * S, "maxout: `IN` must be `K·C·S`");
        assert!(OUT == C * S, "maxout: `OUT` must be `C·S`");
        assert!(
            IN <= u32::MAX as usize,
            "maxout: the input must have fewer than 2³² values"
        );
    };

    /// Forward, recording the argmax indices when `arg` is given. Channel by channel rather
    /// than output by output: each of the K comparisons is then one pass over S contiguous
    /// values, which vectorises.
    #[inline(always)]
    fn run<T: Scalar>(x: &[T], y: &mut [T], mut arg: Option<&mut [u32; OUT]>) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let groups = x[..IN]
            .chunks_exact(K * S)
            .zip(y[..OUT].chunks_exact_mut(S));
        for (c, (group, y)) in groups.enumerate() {
            y.copy_from_slice(&group[..S]);
            let first = (c * K * S) as u32;
            let mut arg = arg.as_deref_mut().map(|a| &mut a[c * S..][..S]);
            if let Some(arg) = arg.as_deref_mut() {
                for (s, a) in (0u32..).zip(arg.iter_mut()) {
                    *a = first + s;
                }
            }
            for (k, channel) in (1..K).zip(group[S..].chunks_exact(S)) {
                match arg.as_deref_mut() {
                    Some(arg) => {
                        let at = first + (k * S) as u32;
                        let it = y.iter_mut().zip(arg.iter_mut()).zip(channel);
                        for (s, ((m, a), &v)) in (0u32..).zip(it) {
                            if wins(v, *m) {
                                (*m, *a) = (v, at + s);
                            }
                        }
                    }
                    None => {
                        for (m, &v) in y.iter_mut().zip(channel) {
                            if wins(v, *m) {
                                *m = v;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<const K: usize, const C: usize, const S: usize, const IN: usize, const OUT: usize> Zeros
    for Maxout<K, C, S, IN, OUT>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Maxout
    }
}

impl<
        T: Scalar,
        const K: usize,
        const C: usize,
        const S: usize,
        const IN: usize,
        const OUT: usize,
    > Layer<T> for Maxout<K, C, S, IN, OUT>
{
    type Input = SVector<T, IN>;
    type Output = SVector<T, OUT>;
    /// The flat input index of each output's maximum.
    type Record = [u32; OUT];
    type Grad = NoParams;
    const KIND: &'static str = "maxout";
    const MACS: usize = 0;

    #[inline]
    fn forward(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        Self::run(x.as_slice(), y.as_mut_slice(), None);
    }

    #[inline]
    fn forward_train(&mut self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>, rec: &mut [u32; OUT]) {
        Self::run(x.as_slice(), y.as_mut_slice(), Some(rec));
    }

    #[inline]
    fn backward(
        &self,
        _x: &SVector<T, IN>,
        _y: &SVector<T, OUT>,
        rec: &[u32; OUT],
        dy: &SVector<T, OUT>,
        dx: Option<&mut SVector<T, IN>>,
        _grad: &mut NoParams,
    ) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        if let Some(dx) = dx {
            // Groups do not overlap: every input gets δ of its output if it won, else 0.
            let dx = dx.as_mut_slice();
            dx.fill(T::zero());
            for (&i, &d) in rec.iter().zip(dy.as_slice()) {
                dx[i as usize] = d;
            }
        }
    }
}

/// No ONNX form yet: the export names the layer.
impl<T, const K: usize, const C: usize, const S: usize, const IN: usize, const OUT: usize>
    crate::onnx::ToOnnx<T> for Maxout<K, C, S, IN, OUT>
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_layer, check_layer_at};
    use crate::rng::SplitMix64;

    fn vec<const N: usize>(v: [f64; N]) -> SVector<f64, N> {
        SVector::from(v)
    }

    #[test]
    fn images_by_hand() {
        // Four input channels of three positions, in groups of two → two output channels.
        #[rustfmt::skip]
        let x = vec([
            1.0, -2.0, 7.0,   // channel 0
            3.0, -5.0, 6.0,   // channel 1: group 0 is max(ch 0, ch 1)
            0.0, 9.0, -1.0,   // channel 2
            0.5, 8.0, -4.0,   // channel 3: group 1 is max(ch 2, ch 3)
        ]);
        let mut layer = Maxout::<2, 2, 3, 12, 6>;
        let (mut y, mut arg) = (SVector::repeat(f64::NAN), [u32::MAX; 6]);
        layer.forward_train(&x, &mut y, &mut arg);
        assert_eq!(y, vec([3.0, -2.0, 7.0, 0.5, 9.0, -1.0]));
        assert_eq!(arg, [3, 1, 2, 9, 7, 8]);
        let mut y2 = SVector::repeat(f64::NAN);
        layer.forward(&x, &mut y2);
        assert_eq!(y2, y);

        let dy = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut dx = SVector::repeat(f64::NAN);
        layer.backward(&x, &y, &arg, &dy, Some(&mut dx), &mut NoParams);
        #[rustfmt::skip]
        let want = vec([
            0.0, 2.0, 3.0,
            1.0, 0.0, 0.0,
            0.0, 5.0, 6.0,
            4.0, 0.0, 0.0,
        ]);
        assert_eq!(dx, want);
        // No dx asked for: nothing to do, and nothing to add to.
        layer.backward(&x, &y, &arg, &dy, None, &mut NoParams);
    }

    #[test]
    fn vectors_ties_and_nans() {
        // K = 3, S = 1: groups [x0 x1 x2], [x3 x4 x5], [x6 x7 x8], [x9 x10 x11].
        #[rustfmt::skip]
        let x = vec([
            2.0, 5.0, 5.0,            // a tie: the first 5 (index 1) wins
            -1.0, -1.0, -1.0,         // all equal: index 3
            1.0, f64::NAN, f64::NAN,  // NaN wins, the first one (index 7)
            f64::NAN, 4.0, 9.0,       // a NaN first stays
        ]);
        let mut layer = Maxout::<3, 4, 1, 12, 4>;
        let (mut y, mut arg) = (SVector::repeat(0.0), [0; 4]);
        layer.forward_train(&x, &mut y, &mut arg);
        assert_eq!((y[0], y[1]), (5.0, -1.0));
        assert!(y[2].is_nan() && y[3].is_nan());
        assert_eq!(arg, [1, 3, 7, 9]);
        let mut y2 = SVector::zeros();
        layer.forward(&x, &mut y2);
        assert!(y
            .iter()
            .zip(&y2)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));

        let mut dx = SVector::repeat(f64::NAN);
        let dy = vec([1.0, 2.0, 3.0, 4.0]);
        layer.backward(&x, &y, &arg, &dy, Some(&mut dx), &mut NoParams);
        let mut want = [0.0; 12];
        (want[1], want[3], want[7], want[9]) = (1.0, 2.0, 3.0, 4.0);
        assert_eq!(dx, vec(want));
    }

    #[test]
    fn a_group_of_one_is_the_identity() {
        let x = vec([0.5, -2.0, 3.0]);
        let mut layer = Maxout::<1, 3, 1, 3, 3>;
        let (mut y, mut arg) = (SVector::zeros(), [9; 3]);
        layer.forward_train(&x, &mut y, &mut arg);
        assert_eq!((y, arg), (x, [0, 1, 2]));
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(31);
        // Random inputs in [−1, 1]: ties within the step of the differences are vanishingly
        // unlikely.
        check_layer(&Maxout::<2, 3, 4, 24, 12>, &mut rng);
        check_layer(&Maxout::<4, 5, 1, 20, 5>, &mut rng);
        check_layer(&Maxout::<3, 1, 2, 6, 2>, &mut rng);
        // Values at least 0.1 apart, so no tie is near.
        let x = vec([0.3, -0.4, 1.5, 0.9, -2.0, 0.1, 2.2, -0.7]);
        let r = vec([0.5, -1.5, 2.0, 0.25]);
        check_layer_at(&Maxout::<2, 2, 2, 8, 4>, &x, &r);
    }
}
