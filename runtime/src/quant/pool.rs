//! Max pooling on int8 values: the float [`MaxPool2d`] itself, whose windows are the same
//! and whose maximum commutes with any increasing quantisation, so it keeps its input's
//! scale and zero point (as TFLite's `MaxPool` requires) and needs no parameters.

use super::bytes::{Encode, Reader, Writer};
use super::{Clamp, ForwardQ, QParams, Quantize};
use crate::layers::MaxPool2d;

macro_rules! max_pool {
    ($([$($head:tt)*] { $($body:tt)* })*) => {
        $(impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PT: usize,
                const PB: usize,
                const PL: usize,
                const PR: usize,
                const OH: usize,
                const OW: usize,
                const IN: usize,
                const OUT: usize,
            > $($head)* { $($body)* })*
    };
}

max_pool! {
    [ForwardQ<IN, OUT> for MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>] {
        fn forward(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
            Self::for_each_window(|o, rows, cols, plane| {
                let img = &x[plane..][..H * W];
                let mut m = i8::MIN;
                for ih in rows.lo..rows.hi {
                    for &v in &img[ih * W..][cols.lo..cols.hi] {
                        m = m.max(v);
                    }
                }
                y[o] = m;
            });
        }
    }

    [Quantize for MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>] {
        type Int8 = Self;

        fn quantize(&self, _input: QParams, _output: QParams, _clamp: Clamp) -> Self {
            *self
        }
    }

    [Encode for MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>] {
        const BYTES: usize = 0;

        fn encode(&self, _w: &mut Writer<'_>) {}
    }

    [MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>] {
        /// The int8 form has no parameters: nothing to read.
        pub const fn decode(r: Reader<'_>) -> (Self, Reader<'_>) {
            (MaxPool2d, r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_by_hand() {
        // 1 channel, 2 × 4, windows of 2 × 2; then 3 × 3 with padding 1 (taps outside skipped).
        let x: [i8; 8] = [1, -5, 7, 2, 3, 4, -8, 0];
        let mut y = [0i8; 2];
        MaxPool2d::<1, 2, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 2, 8, 2>.forward(&x, &mut y);
        assert_eq!(y, [4, 7]);
        let x: [i8; 9] = [-9, -8, -7, -6, -5, -4, -3, -2, -1];
        let mut y = [0i8; 4];
        MaxPool2d::<1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 9, 4>.forward(&x, &mut y);
        assert_eq!(y, [-9, -7, -3, -1]);
    }
}
