//! ReLU and ReLU6 on int8 values that no layer before them could fuse: a clamp at the
//! input's quantisation (real 0 is exactly the zero point), which the output keeps.

use super::bytes::{Encode, Reader, Writer};
use super::{Clamp, ForwardQ, Fuse, InPlaceQ, QParams, Quantize};
use crate::layers::{Activation, Relu, Relu6};

/// `y = clamp(x)` on `N` int8 values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClampQ<const N: usize> {
    /// The range kept.
    pub clamp: Clamp,
}

impl<const N: usize> ClampQ<N> {
    /// Reads the layer from its byte form ([`Encode`]).
    pub const fn decode(r: Reader<'_>) -> (Self, Reader<'_>) {
        let (min, r) = r.i8();
        let (max, r) = r.i8();
        (
            ClampQ {
                clamp: Clamp { min, max },
            },
            r,
        )
    }
}

impl<const N: usize> InPlaceQ<N> for ClampQ<N> {
    fn forward_in_place(&self, x: &mut [i8; N]) {
        for v in x {
            *v = (*v).clamp(self.clamp.min, self.clamp.max);
        }
    }
}

impl<const N: usize> ForwardQ<N, N> for ClampQ<N> {
    fn forward(&self, x: &[i8; N], y: &mut [i8; N]) {
        y.copy_from_slice(x);
        self.forward_in_place(y);
    }
}

impl<const N: usize> Encode for ClampQ<N> {
    const BYTES: usize = 2;

    fn encode(&self, w: &mut Writer<'_>) {
        w.i8(self.clamp.min);
        w.i8(self.clamp.max);
    }
}

macro_rules! clamps {
    ($($kind:ty => $clamp:path),*) => {$(
        impl Fuse for $kind {
            fn clamp(p: QParams) -> Clamp {
                $clamp(p)
            }
        }

        impl<const N: usize> Fuse for Activation<$kind, N> {
            fn clamp(p: QParams) -> Clamp {
                $clamp(p)
            }
        }

        impl<const N: usize> Quantize for Activation<$kind, N> {
            type Int8 = ClampQ<N>;

            /// The clamp at the input's quantisation, which the output keeps.
            fn quantize(&self, input: QParams, _output: QParams, _clamp: Clamp) -> ClampQ<N> {
                ClampQ {
                    clamp: $clamp(input),
                }
            }
        }
    )*};
}

clamps!(Relu => Clamp::relu, Relu6 => Clamp::relu6);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_and_relu6_by_hand() {
        // s = 0.05, z = −28: real 0 is −28 and real 6 is −28 + 120 = 92.
        let p = QParams {
            scale: 0.05,
            zero_point: -28,
        };
        let relu = Activation::<Relu, 4>(Relu).quantize(p, p, Clamp::NONE);
        let relu6 = Activation::<Relu6, 4>(Relu6).quantize(p, p, Clamp::NONE);
        assert_eq!(relu.clamp, Clamp { min: -28, max: 127 });
        assert_eq!(relu6.clamp, Clamp { min: -28, max: 92 });
        let mut v = [-128i8, -3, 100, 127];
        relu6.forward_in_place(&mut v);
        assert_eq!(v, [-28, -3, 92, 92]);
        let mut y = [0i8; 4];
        relu.forward(&[-128, -28, -27, 127], &mut y);
        assert_eq!(y, [-28, -28, -27, 127]);
    }
}
