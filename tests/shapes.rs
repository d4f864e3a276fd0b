//! Convolution arithmetic end to end: for a table of (input, kernel, stride, padding,
//! dilation) combinations, each declared as a one-layer network, the generated network's
//! `OUTPUT_SHAPE` and `PARAMS` equal PyTorch's formulas evaluated here, independently of the
//! macro: o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1, `same` meaning p = d(k − 1) / 2. Each
//! network is also built and run, so the runtime's own dimension assertions see every row.
//! (The combinations that must not compile are trybuild cases in `tests/ui/shapes/`.)

use stacknet::prelude::*;
use stacknet::runtime::Shape;

/// One row of the table, as declared.
struct Case {
    input: (usize, usize, usize),
    out_channels: usize,
    kernel: (usize, usize),
    stride: (usize, usize),
    /// `None` for `same`.
    padding: Option<(usize, usize)>,
    dilation: (usize, usize),
}

/// `k` or `(kh, kw)` as a pair.
macro_rules! hw {
    (($a:tt, $b:tt)) => {
        ($a, $b)
    };
    ($a:tt) => {
        ($a, $a)
    };
}

macro_rules! padding {
    (same) => {
        None
    };
    ($p:tt) => {
        Some(hw!($p))
    };
}

/// Declares one network per row and lists (name, generated shape, parameter count, row);
/// building each network and running it forces the runtime's own `const` dimension checks.
macro_rules! table {
    ($($name:ident: [$c:tt, $h:tt, $w:tt] conv2d($oc:tt, kernel = $k:tt, stride = $s:tt, padding = $p:tt, dilation = $d:tt);)*) => {
        $(
            network! {
                struct $name(input: [$c, $h, $w]) {
                    conv2d($oc, kernel = $k, stride = $s, padding = $p, dilation = $d),
                }
            }
        )*

        fn rows() -> Vec<(&'static str, Shape, usize, Case)> {
            let mut rng = SplitMix64::new(0);
            $(
                let y = $name::<f32>::new(&mut rng).forward(&Zeros::zeros());
                assert!(y.iter().all(|v| v.is_finite()), stringify!($name));
            )*
            vec![$((
                stringify!($name),
                $name::<f32>::OUTPUT_SHAPE,
                $name::<f32>::PARAMS,
                Case {
                    input: ($c, $h, $w),
                    out_channels: $oc,
                    kernel: hw!($k),
                    stride: hw!($s),
                    padding: padding!($p),
                    dilation: hw!($d),
                },
            )),*]
        }
    };
}

table! {
    C00: [1, 28, 28] conv2d(6, kernel = 5, stride = 1, padding = 2, dilation = 1);
    C01: [6, 14, 14] conv2d(16, kernel = 5, stride = 1, padding = 0, dilation = 1);
    C02: [3, 8, 8] conv2d(4, kernel = 3, stride = 1, padding = same, dilation = 1);
    C03: [3, 9, 9] conv2d(2, kernel = 3, stride = 1, padding = same, dilation = 2);
    C04: [2, 10, 7] conv2d(3, kernel = 1, stride = 1, padding = 0, dilation = 1);
    C05: [1, 5, 5] conv2d(1, kernel = 5, stride = 1, padding = 0, dilation = 1);
    C06: [1, 7, 7] conv2d(2, kernel = 3, stride = 2, padding = 0, dilation = 1);
    C07: [1, 8, 8] conv2d(2, kernel = 3, stride = 2, padding = 0, dilation = 1);
    C08: [1, 4, 4] conv2d(1, kernel = 3, stride = 3, padding = 1, dilation = 1);
    C09: [2, 6, 11] conv2d(2, kernel = (3, 5), stride = 1, padding = same, dilation = 1);
    C10: [1, 12, 5] conv2d(2, kernel = (4, 3), stride = 1, padding = same, dilation = (2, 1));
    C11: [3, 11, 6] conv2d(4, kernel = 1, stride = 1, padding = same, dilation = (2, 1));
    C12: [2, 14, 10] conv2d(2, kernel = (3, 4), stride = (3, 2), padding = (2, 1), dilation = (3, 1));
    C13: [2, 15, 11] conv2d(3, kernel = (4, 5), stride = (1, 2), padding = (1, 3), dilation = (1, 2));
    C14: [2, 13, 3] conv2d(1, kernel = 3, stride = 1, padding = same, dilation = 2);
    C15: [3, 7, 15] conv2d(4, kernel = 5, stride = 1, padding = same, dilation = 3);
    C16: [2, 12, 6] conv2d(4, kernel = 3, stride = 3, padding = 2, dilation = 1);
    C17: [3, 15, 16] conv2d(3, kernel = 1, stride = 1, padding = 1, dilation = 2);
    C18: [2, 9, 4] conv2d(3, kernel = (1, 4), stride = (1, 2), padding = 1, dilation = 1);
    C19: [3, 9, 7] conv2d(1, kernel = 1, stride = 1, padding = 3, dilation = 1);
    C20: [1, 14, 8] conv2d(2, kernel = (4, 1), stride = (1, 3), padding = 3, dilation = 1);
    C21: [3, 7, 3] conv2d(4, kernel = 2, stride = 1, padding = same, dilation = 2);
    C22: [3, 11, 12] conv2d(2, kernel = 1, stride = (1, 2), padding = 0, dilation = 1);
    C23: [1, 15, 16] conv2d(3, kernel = 3, stride = 1, padding = 0, dilation = 2);
    C24: [1, 11, 10] conv2d(3, kernel = (1, 4), stride = 2, padding = (2, 3), dilation = (2, 1));
    C25: [2, 8, 6] conv2d(1, kernel = 2, stride = 2, padding = 2, dilation = 1);
    C26: [2, 7, 7] conv2d(3, kernel = (3, 5), stride = (1, 2), padding = 0, dilation = (3, 1));
    C27: [2, 9, 14] conv2d(2, kernel = (5, 1), stride = 1, padding = same, dilation = (3, 2));
    C28: [1, 11, 9] conv2d(2, kernel = (2, 4), stride = (1, 2), padding = 0, dilation = (3, 2));
    C29: [1, 4, 4] conv2d(2, kernel = 2, stride = 3, padding = 2, dilation = 1);
    C30: [2, 11, 5] conv2d(3, kernel = 2, stride = 1, padding = 2, dilation = 1);
    C31: [2, 3, 11] conv2d(2, kernel = 2, stride = 3, padding = 2, dilation = 1);
    C32: [2, 7, 14] conv2d(1, kernel = (1, 2), stride = (3, 2), padding = (2, 1), dilation = 1);
    C33: [3, 6, 10] conv2d(4, kernel = (1, 5), stride = 2, padding = 1, dilation = 1);
    C34: [1, 6, 14] conv2d(2, kernel = (2, 4), stride = 3, padding = (2, 0), dilation = (2, 1));
    C35: [1, 11, 15] conv2d(3, kernel = (5, 2), stride = (1, 2), padding = (2, 3), dilation = 1);
    C36: [2, 14, 11] conv2d(4, kernel = 1, stride = 1, padding = same, dilation = 1);
    C37: [2, 5, 16] conv2d(4, kernel = (4, 3), stride = (2, 1), padding = (2, 1), dilation = 1);
    C38: [1, 3, 4] conv2d(4, kernel = (1, 4), stride = (1, 3), padding = (3, 2), dilation = 1);
    C39: [3, 5, 11] conv2d(4, kernel = 2, stride = 3, padding = 0, dilation = 2);
    C40: [3, 15, 10] conv2d(1, kernel = (1, 4), stride = (1, 2), padding = 0, dilation = 1);
    C41: [2, 8, 6] conv2d(4, kernel = (5, 1), stride = 1, padding = 0, dilation = 1);
    C42: [2, 10, 15] conv2d(2, kernel = (1, 5), stride = 1, padding = (1, 0), dilation = (3, 1));
    C43: [1, 6, 15] conv2d(2, kernel = (2, 3), stride = 1, padding = (3, 1), dilation = 1);
    C44: [1, 14, 16] conv2d(1, kernel = (3, 5), stride = (2, 1), padding = 0, dilation = (2, 1));
    C45: [1, 8, 8] conv2d(3, kernel = 1, stride = 2, padding = 1, dilation = 3);
    C46: [2, 16, 10] conv2d(2, kernel = 1, stride = (1, 3), padding = (3, 2), dilation = (1, 2));
    C47: [2, 14, 7] conv2d(3, kernel = 1, stride = 1, padding = 1, dilation = 2);
    C48: [1, 15, 14] conv2d(3, kernel = (3, 2), stride = (1, 3), padding = (0, 2), dilation = (3, 1));
    C49: [2, 8, 13] conv2d(2, kernel = 4, stride = 1, padding = 3, dilation = 1);
    C50: [2, 13, 5] conv2d(2, kernel = 3, stride = 2, padding = 0, dilation = 2);
    C51: [1, 15, 10] conv2d(4, kernel = 3, stride = 1, padding = 1, dilation = 2);
    C52: [2, 13, 9] conv2d(3, kernel = 2, stride = 1, padding = 3, dilation = 1);
    C53: [1, 3, 8] conv2d(2, kernel = 2, stride = 1, padding = 1, dilation = 1);
    C54: [2, 14, 4] conv2d(3, kernel = (5, 1), stride = 1, padding = same, dilation = (1, 2));
    C55: [1, 7, 15] conv2d(3, kernel = (4, 5), stride = (3, 2), padding = (1, 2), dilation = 1);
    C56: [3, 11, 13] conv2d(2, kernel = (3, 5), stride = (1, 2), padding = (0, 1), dilation = (1, 2));
    C57: [2, 13, 11] conv2d(4, kernel = 5, stride = 1, padding = 1, dilation = 1);
    C58: [3, 11, 8] conv2d(4, kernel = 5, stride = 1, padding = same, dilation = 1);
    C59: [2, 8, 10] conv2d(2, kernel = 5, stride = 2, padding = 2, dilation = 1);
}

/// PyTorch's `Conv2d` output size along one axis.
fn pytorch_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: Option<usize>,
    dilation: usize,
) -> usize {
    let padding = padding.unwrap_or(dilation * (kernel - 1) / 2);
    (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
}

#[test]
fn output_shapes_follow_the_convolution_arithmetic() {
    let rows = rows();
    assert!(rows.len() >= 50);
    for (name, shape, params, case) in rows {
        let (c, h, w) = case.input;
        let oh = pytorch_size(
            h,
            case.kernel.0,
            case.stride.0,
            case.padding.map(|p| p.0),
            case.dilation.0,
        );
        let ow = pytorch_size(
            w,
            case.kernel.1,
            case.stride.1,
            case.padding.map(|p| p.1),
            case.dilation.1,
        );
        assert_eq!(shape, Shape::image(case.out_channels, oh, ow), "{name}");
        if case.padding.is_none() {
            assert_eq!((oh, ow), (h, w), "{name}: `same` keeps the size");
        }
        // weight [out, in, kh, kw] and bias [out]
        assert_eq!(
            params,
            case.out_channels * (c * case.kernel.0 * case.kernel.1 + 1),
            "{name}"
        );
    }
}
