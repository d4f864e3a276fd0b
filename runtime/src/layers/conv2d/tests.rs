//! [`Conv2d`] against references written directly from the formula of the module docs, path
//! by path, and against finite differences.

use super::*;
use crate::gradcheck::check_layer;
use crate::rng::{uniform_sym, SplitMix64};
use crate::simd::{lanes, Native, V128, V256, V512};
use crate::Flat;
use std::vec;
use std::vec::Vec;

/// o = ⌊(i + pad − d(k − 1) − 1) / s⌋ + 1 for `pad` the padding on both sides together,
/// written out independently of the layer.
const fn out(i: usize, k: usize, s: usize, pad: usize, d: usize) -> usize {
    (i + pad - d * (k - 1) - 1) / s + 1
}

/// The `Conv2d` type for a geometry, deriving OH, OW, K, P, IN, OUT (`f64` unless given):
/// `c, h, w => oc; k(kh, kw) s(sh, sw) p(pt, pb, pl, pr) d(dh, dw) g(groups) bias`, or with
/// symmetric padding `p(ph, pw)` and one group (no `g`).
macro_rules! conv {
    ($c:literal, $($rest:tt)*) => {
        conv!(f64; $c, $($rest)*)
    };
    ($t:ty; $c:literal, $h:literal, $w:literal => $oc:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($pt:literal, $pb:literal, $pl:literal, $pr:literal)
     d($dh:literal, $dw:literal) g($g:literal) $bias:literal) => {
        Conv2d<
            $t,
            $c,
            $h,
            $w,
            $oc,
            $kh,
            $kw,
            $sh,
            $sw,
            $pt,
            $pb,
            $pl,
            $pr,
            $dh,
            $dw,
            $g,
            { out($h, $kh, $sh, $pt + $pb, $dh) },
            { out($w, $kw, $sw, $pl + $pr, $dw) },
            { $c / $g * $kh * $kw },
            { out($h, $kh, $sh, $pt + $pb, $dh) * out($w, $kw, $sw, $pl + $pr, $dw) },
            { $c * $h * $w },
            { $oc * out($h, $kh, $sh, $pt + $pb, $dh) * out($w, $kw, $sw, $pl + $pr, $dw) },
            $bias,
        >
    };
    ($t:ty; $c:literal, $h:literal, $w:literal => $oc:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($ph:literal, $pw:literal) d($dh:literal, $dw:literal)
     $bias:literal) => {
        conv!($t; $c, $h, $w => $oc; k($kh, $kw) s($sh, $sw) p($ph, $ph, $pw, $pw)
              d($dh, $dw) g(1) $bias)
    };
}

/// The [`Geometry`] of the same notation as [`conv!`] (without the scalar).
macro_rules! geometry {
    ($c:literal, $h:literal, $w:literal => $oc:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($pt:literal, $pb:literal, $pl:literal, $pr:literal)
     d($dh:literal, $dw:literal) g($g:literal) $bias:literal) => {
        Geometry {
            c: $c,
            h: $h,
            w: $w,
            oc: $oc,
            k: ($kh, $kw),
            s: ($sh, $sw),
            p: ($pt, $pb, $pl, $pr),
            d: ($dh, $dw),
            g: $g,
        }
    };
    ($c:literal, $h:literal, $w:literal => $oc:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($ph:literal, $pw:literal) d($dh:literal, $dw:literal)
     $bias:literal) => {
        geometry!($c, $h, $w => $oc; k($kh, $kw) s($sh, $sw) p($ph, $ph, $pw, $pw)
                  d($dh, $dw) g(1) $bias)
    };
}

/// A convolution's geometry for the references.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    oc: usize,
    k: (usize, usize),
    s: (usize, usize),
    /// Top, bottom, left, right.
    p: (usize, usize, usize, usize),
    d: (usize, usize),
    g: usize,
}

impl Geometry {
    fn out(&self) -> (usize, usize) {
        let oh = (self.h + self.p.0 + self.p.1 - self.d.0 * (self.k.0 - 1) - 1) / self.s.0 + 1;
        let ow = (self.w + self.p.2 + self.p.3 - self.d.1 * (self.k.1 - 1) - 1) / self.s.1 + 1;
        (oh, ow)
    }

    /// Every term of the sum of the formula that reads a real input value, as (output index,
    /// weight index, input index) into the flat PyTorch-order tensors:
    /// y[o, i, j] gets w[o, c − g·C/G, u, v] · x[c, i·SH + u·DH − PT, j·SW + v·DW − PL] for
    /// c in o's group g = o / (OC/G), padding terms (outside the image) dropped.
    fn terms(&self) -> Vec<(usize, usize, usize)> {
        let (oh, ow) = self.out();
        let (cg, og) = (self.c / self.g, self.oc / self.g);
        let mut terms = Vec::new();
        for o in 0..self.oc {
            let group = o / og;
            for i in 0..oh {
                for j in 0..ow {
                    for cc in 0..cg {
                        let c = group * cg + cc;
                        for u in 0..self.k.0 {
                            for v in 0..self.k.1 {
                                let r = (i * self.s.0 + u * self.d.0) as isize - self.p.0 as isize;
                                let q = (j * self.s.1 + v * self.d.1) as isize - self.p.2 as isize;
                                if r < 0 || q < 0 || r >= self.h as isize || q >= self.w as isize {
                                    continue;
                                }
                                let (r, q) = (r as usize, q as usize);
                                terms.push((
                                    (o * oh + i) * ow + j,
                                    ((o * cg + cc) * self.k.0 + u) * self.k.1 + v,
                                    (c * self.h + r) * self.w + q,
                                ));
                            }
                        }
                    }
                }
            }
        }
        terms
    }
}

/// The formula, naively: y = b + the sum of [`Geometry::terms`].
fn reference(g: Geometry, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
    let (oh, ow) = g.out();
    let mut y: Vec<f64> = (0..g.oc * oh * ow)
        .map(|n| b.map_or(0.0, |b| b[n / (oh * ow)]))
        .collect();
    for (yi, wi, xi) in g.terms() {
        y[yi] += w[wi] * x[xi];
    }
    y
}

/// Its adjoint, naively: every term w·x of output yi adds δ[yi]·x to the weight's gradient
/// and δ[yi]·w to the input's; the bias gradient sums δ over each channel.
fn reference_backward(
    g: Geometry,
    x: &[f64],
    w: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (oh, ow) = g.out();
    let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
    let mut db = vec![0.0; g.oc];
    for (n, d) in dy.iter().enumerate() {
        db[n / (oh * ow)] += d;
    }
    for (yi, wi, xi) in g.terms() {
        dw[wi] += dy[yi] * x[xi];
        dx[xi] += dy[yi] * w[wi];
    }
    (dw, db, dx)
}

/// A layer with random parameters and a random input, at scalar type `T`.
fn random_layer<T: Scalar, L: Layer<T, Input: Flat<T>> + Zeros>(
    rng: &mut SplitMix64,
) -> (L, L::Input) {
    let mut layer = L::zeros();
    for i in 0..L::TENSORS {
        layer
            .tensor_mut(i)
            .iter_mut()
            .for_each(|v| *v = T::of(uniform_sym(rng, 1.0)));
    }
    let mut x = L::Input::zeros();
    x.flat_mut()
        .iter_mut()
        .for_each(|v| *v = T::of(uniform_sym(rng, 1.0)));
    (layer, x)
}

fn to_f64<T: Scalar>(v: &[T]) -> Vec<f64> {
    v.iter().map(|v| v.to_f64()).collect()
}

/// Asserts `|found − expected| ≤ tol·(1 + |expected|)` entry by entry (which a NaN fails).
fn assert_close<T: Scalar>(what: &str, g: Geometry, found: &[T], expected: &[f64], tol: f64) {
    assert_eq!(found.len(), expected.len(), "{what} {g:?}");
    for (n, (a, b)) in found.iter().zip(expected).enumerate() {
        let a = a.to_f64();
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what} {g:?}: [{n}] = {a}, expected {b}"
        );
    }
}

/// The forward paths.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Forward {
    Direct,
    Channels,
    Im2col,
}

/// The weight-gradient paths.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Weights {
    Dots,
    Channels,
    Columns,
}

/// Every computation path of a convolution, whichever `forward` and `backward` choose.
trait Paths<T: Scalar>: Layer<T, Input: Flat<T>> + Zeros {
    /// The paths `forward` and `backward` take at a vector width of `vb` bytes.
    fn chosen_at(vb: usize) -> (Forward, Weights);
    /// Forward by `path` at width `V`; `false` (and nothing done) where the path does not
    /// apply.
    fn forward_by<V: Width>(&self, path: Forward, x: &Self::Input, y: &mut Self::Output) -> bool;
    /// Adds the weight gradient into `grad` by `path` at width `V`; `false` where it does not
    /// apply.
    fn weight_grad_by<V: Width>(
        path: Weights,
        x: &Self::Input,
        dy: &Self::Output,
        grad: &mut [T],
    ) -> bool;
    /// Backward's input gradient at width `V`.
    fn input_grad_at<V: Width>(&self, dy: &Self::Output, dx: &mut Self::Input);
}

impl<
        T: Scalar,
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
        const BIAS: bool,
    > Paths<T>
    for Conv2d<
        T,
        C,
        H,
        W,
        OC,
        KH,
        KW,
        SH,
        SW,
        PT,
        PB,
        PL,
        PR,
        DH,
        DW,
        G,
        OH,
        OW,
        K,
        P,
        IN,
        OUT,
        BIAS,
    >
{
    fn chosen_at(vb: usize) -> (Forward, Weights) {
        (
            if Self::DIRECT {
                Forward::Direct
            } else if Self::channels_forward(vb) {
                Forward::Channels
            } else {
                Forward::Im2col
            },
            if Self::dot_weights(vb) {
                Weights::Dots
            } else if Self::channels_weights(vb) {
                Weights::Channels
            } else {
                Weights::Columns
            },
        )
    }

    fn forward_by<V: Width>(
        &self,
        path: Forward,
        x: &SVector<T, IN>,
        y: &mut SVector<T, OUT>,
    ) -> bool {
        let (x, y) = (x.as_slice(), y.as_mut_slice());
        match path {
            Forward::Direct if Self::DIRECT_FITS => self.forward_direct::<V>(x, y),
            Forward::Channels if Self::CHANNELS_FORWARD_FITS => self.forward_channels::<V>(x, y),
            Forward::Im2col => self.forward_im2col::<V>(x, y),
            _ => return false,
        }
        true
    }

    fn weight_grad_by<V: Width>(
        path: Weights,
        x: &SVector<T, IN>,
        dy: &SVector<T, OUT>,
        grad: &mut [T],
    ) -> bool {
        let (x, dy) = (x.as_slice(), dy.as_slice());
        match path {
            Weights::Dots if Self::dots_fit(V::BYTES) => Self::weight_grad_dots::<V>(x, dy, grad),
            Weights::Channels if Self::CHANNELS_WEIGHTS_FITS => {
                Self::weight_grad_channels::<V>(x, dy, grad)
            }
            Weights::Columns => {
                let mut buf = SMatrix::<T, K, P>::zeros();
                Self::weight_grad_by_columns::<V>(x, dy, grad, buf.as_mut_slice());
            }
            _ => return false,
        }
        true
    }

    fn input_grad_at<V: Width>(&self, dy: &SVector<T, OUT>, dx: &mut SVector<T, IN>) {
        self.input_grad::<V>(dy.as_slice(), dx.as_mut_slice());
    }
}

/// The layer's forward, and every path's that applies, against [`reference`], at random
/// parameters and input, each into an output filled with NaN first (the generated code
/// reuses buffers without zeroing them: forward must write every entry).
fn check_forward<T: Scalar, L: Paths<T>>(g: Geometry, rng: &mut SplitMix64, tol: f64) {
    let (layer, x) = random_layer::<T, L>(rng);
    let mut y = L::Output::zeros();
    y.flat_mut().fill(T::of(f64::NAN));
    layer.forward(&x, &mut y);
    let bias = (L::TENSORS == 2).then(|| to_f64(layer.tensor(1)));
    let want = reference(
        g,
        &to_f64(x.flat()),
        &to_f64(layer.tensor(0)),
        bias.as_deref(),
    );
    assert_close("y", g, y.flat(), &want, tol);
    for path in [Forward::Im2col, Forward::Direct, Forward::Channels] {
        let mut y = L::Output::zeros();
        y.flat_mut().fill(T::of(f64::NAN));
        if layer.forward_by::<Native>(path, &x, &mut y) {
            assert_close(&std::format!("y {path:?}"), g, y.flat(), &want, tol);
        }
    }
}

/// The layer's backward, and every weight-gradient path that applies, against
/// [`reference_backward`], starting from parameter gradients of one (backward adds) and a
/// NaN `dx` (backward writes every entry).
fn check_backward<T: Scalar, L: Paths<T>>(g: Geometry, rng: &mut SplitMix64, tol: f64) {
    let (layer, x) = random_layer::<T, L>(rng);
    let mut dy = L::Output::zeros();
    dy.flat_mut()
        .iter_mut()
        .for_each(|v| *v = T::of(uniform_sym(rng, 1.0)));
    let mut grad = L::Grad::zeros();
    for i in 0..L::TENSORS {
        grad.tensor_mut(i).fill(T::one());
    }
    let mut dx = L::Input::zeros();
    dx.flat_mut().fill(T::of(f64::NAN));
    layer.backward(
        &x,
        &L::Output::zeros(),
        &L::Record::zeros(),
        &dy,
        Some(&mut dx),
        &mut grad,
    );
    let (dw, db, dx_want) = reference_backward(
        g,
        &to_f64(x.flat()),
        &to_f64(layer.tensor(0)),
        &to_f64(dy.flat()),
    );
    let plus_one = |v: &[f64]| v.iter().map(|v| v + 1.0).collect::<Vec<_>>();
    assert_close("dW", g, grad.tensor(0), &plus_one(&dw), tol);
    if L::TENSORS == 2 {
        assert_close("db", g, grad.tensor(1), &plus_one(&db), tol);
    }
    assert_close("dx", g, dx.flat(), &dx_want, tol);
    for path in [Weights::Columns, Weights::Dots, Weights::Channels] {
        let mut gw = vec![T::one(); layer.tensor(0).len()];
        if L::weight_grad_by::<Native>(path, &x, &dy, &mut gw) {
            assert_close(&std::format!("dW {path:?}"), g, &gw, &plus_one(&dw), tol);
        }
    }
}

macro_rules! forward_case {
    ($rng:expr; $($geometry:tt)*) => {
        check_forward::<f64, conv!($($geometry)*)>(geometry!($($geometry)*), $rng, 1e-12)
    };
}

#[test]
fn forward_matches_the_textbook_formula() {
    let rng = &mut SplitMix64::new(7);
    forward_case!(rng; 1, 5, 5 => 1; k(3, 3) s(1, 1) p(0, 0) d(1, 1) true);
    forward_case!(rng; 2, 6, 7 => 3; k(3, 2) s(2, 1) p(1, 0) d(1, 1) true);
    forward_case!(rng; 3, 7, 6 => 2; k(2, 3) s(1, 2) p(2, 1) d(2, 1) false);
    forward_case!(rng; 1, 8, 8 => 2; k(3, 3) s(2, 2) p(2, 2) d(2, 2) true);
    forward_case!(rng; 2, 5, 9 => 1; k(1, 4) s(1, 3) p(0, 2) d(1, 2) true);
    forward_case!(rng; 3, 9, 5 => 3; k(5, 1) s(2, 1) p(1, 0) d(1, 1) false);
    forward_case!(rng; 2, 4, 4 => 2; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
    forward_case!(rng; 2, 3, 3 => 2; k(3, 3) s(1, 1) p(2, 2) d(1, 1) true);
    forward_case!(rng; 2, 7, 7 => 2; k(2, 2) s(3, 3) p(1, 1) d(1, 1) true);
    forward_case!(rng; 3, 6, 5 => 3; k(2, 2) s(2, 2) p(1, 2) d(2, 1) true);
    // A tap that reads padding at every output column (W = 1, PW = 2, KW = 5).
    forward_case!(rng; 1, 3, 1 => 2; k(1, 5) s(1, 1) p(0, 2) d(1, 1) true);
    // More rows and columns than one register block, with ragged edges.
    forward_case!(rng; 2, 9, 11 => 11; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
    // LeNet-5's two convolutions.
    forward_case!(rng; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
    forward_case!(rng; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
}

#[test]
fn grouped_forward_matches_the_textbook_formula() {
    let rng = &mut SplitMix64::new(11);
    // Two groups of 2 → 3 channels, with and without padding, at strides 1 and 2.
    forward_case!(rng; 4, 6, 5 => 6; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(2) true);
    forward_case!(rng; 4, 7, 7 => 6; k(3, 3) s(2, 2) p(0, 0, 0, 0) d(1, 1) g(2) false);
    forward_case!(rng; 4, 7, 6 => 6; k(2, 3) s(2, 1) p(1, 0, 2, 1) d(1, 1) g(2) true);
    // Depthwise (G = C = OC), and with a depth multiplier of 2 (OC = 2C).
    forward_case!(rng; 3, 6, 6 => 3; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(3) true);
    forward_case!(rng; 3, 6, 6 => 3; k(3, 3) s(1, 1) p(0, 0, 0, 0) d(1, 1) g(3) false);
    forward_case!(rng; 3, 7, 5 => 6; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(3) true);
    forward_case!(rng; 3, 6, 6 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(3) true);
    // Asymmetric padding: (0, 1, 0, 1) at stride 2, on 5×5 (2×2 out) and on 6×6, where it is
    // TensorFlow's 'SAME' for kernel 3 (3×3 out; on 5×5 'SAME' pads 1 on every side).
    forward_case!(rng; 2, 5, 5 => 2; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(1) true);
    forward_case!(rng; 2, 6, 6 => 2; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(1) true);
    forward_case!(rng; 2, 6, 6 => 4; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(2) true);
    // Only bottom or right padding, and padding larger than the kernel reaches.
    forward_case!(rng; 2, 5, 4 => 2; k(3, 2) s(1, 1) p(0, 3, 0, 0) d(1, 1) g(1) true);
    forward_case!(rng; 2, 4, 5 => 4; k(2, 3) s(1, 2) p(0, 0, 3, 2) d(1, 1) g(2) true);
    // Dilation with groups.
    forward_case!(rng; 4, 9, 8 => 4; k(3, 2) s(1, 1) p(2, 1, 0, 2) d(2, 3) g(2) true);
    forward_case!(rng; 6, 9, 9 => 6; k(3, 3) s(2, 1) p(2, 2, 2, 2) d(2, 2) g(6) true);
    // Many output channels per group (the paths vectorised over channels).
    forward_case!(rng; 4, 10, 10 => 32; k(5, 5) s(1, 1) p(1, 0, 0, 1) d(1, 1) g(2) true);
    forward_case!(rng; 2, 9, 7 => 34; k(3, 3) s(1, 1) p(0, 0, 0, 0) d(1, 1) g(2) false);
}

/// Forward and backward against the references at scalar `$t` with tolerance `$tol`.
macro_rules! both_case {
    ($rng:expr, $t:ty, $tol:expr; $($geometry:tt)*) => {{
        type L = conv!($t; $($geometry)*);
        let g = geometry!($($geometry)*);
        check_forward::<$t, L>(g, $rng, $tol);
        check_backward::<$t, L>(g, $rng, $tol);
    }};
}

macro_rules! for_both_scalars {
    ($case:ident, $rng:expr; $($geometry:tt)*) => {
        $case!($rng, f64, 1e-12; $($geometry)*);
        $case!($rng, f32, 2e-5; $($geometry)*);
    };
}

#[test]
fn backward_matches_the_textbook_formula() {
    let rng = &mut SplitMix64::new(13);
    // f64 and f32 take different register-block sizes.
    for_both_scalars!(both_case, rng; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
    for_both_scalars!(both_case, rng; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
    for_both_scalars!(both_case, rng; 2, 9, 11 => 11; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
    for_both_scalars!(both_case, rng; 3, 7, 6 => 2; k(2, 3) s(1, 2) p(2, 1) d(2, 1) false);
    for_both_scalars!(both_case, rng; 2, 8, 9 => 3; k(3, 3) s(2, 2) p(1, 1) d(1, 1) true);
    for_both_scalars!(both_case, rng; 1, 3, 1 => 2; k(1, 5) s(1, 1) p(0, 2) d(1, 1) true);
    for_both_scalars!(both_case, rng; 3, 9, 5 => 3; k(5, 1) s(2, 1) p(1, 0) d(2, 1) true);
    // Long wide rows (the weight gradient by dot products), with dilation and padding.
    for_both_scalars!(both_case, rng; 2, 24, 24 => 3; k(3, 3) s(1, 1) p(1, 1) d(2, 2) true);
}

/// The grouped and asymmetric geometries of [`grouped_backward_matches_the_textbook_formula`]
/// and the paths they choose (see [`paths_for_groups_and_asymmetric_padding`]).
macro_rules! grouped_geometries {
    ($m:ident!($($pre:tt)*)) => {
        // A: depthwise 3×3 at stride 1: direct forward, weights through colᵀ.
        $m!($($pre)* 3, 8, 8 => 3; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(3) true);
        // B: depthwise, long rows, bottom padding only: direct, weights by dot products
        // (on AVX-512).
        $m!($($pre)* 2, 24, 24 => 2; k(3, 3) s(1, 1) p(0, 2, 1, 1) d(1, 1) g(2) true);
        // C: two groups of 16 output channels: both paths by channels.
        $m!($($pre)* 4, 10, 10 => 32; k(5, 5) s(1, 1) p(1, 0, 0, 1) d(1, 1) g(2) true);
        // D: two groups of 2 → 3 at stride 2, 'SAME'-style padding: im2col, colᵀ.
        $m!($($pre)* 4, 7, 7 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(2) false);
        // E: depth multiplier 2, TensorFlow's 'SAME' at stride 2: im2col, colᵀ.
        $m!($($pre)* 3, 6, 6 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(3) true);
        // F: C = 4, OC = 6, G = 2 at stride 1: direct, colᵀ.
        $m!($($pre)* 4, 6, 5 => 6; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(2) true);
        // G: dilation with groups, asymmetric padding: direct, colᵀ.
        $m!($($pre)* 4, 9, 8 => 4; k(3, 2) s(1, 1) p(2, 1, 0, 2) d(2, 3) g(2) true);
        // H: depthwise without padding (the direct path on the input itself), and a 2×2
        // kernel (K = 4 taps, fewer than one block of ∂L/∂col).
        $m!($($pre)* 4, 6, 6 => 4; k(3, 3) s(1, 1) p(0, 0, 0, 0) d(1, 1) g(4) true);
        $m!($($pre)* 2, 5, 5 => 4; k(2, 2) s(1, 1) p(0, 1, 0, 1) d(1, 1) g(2) true);
        // I: one group, asymmetric padding, LeNet's second convolution otherwise: both
        // paths by channels.
        $m!($($pre)* 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 1, 1, 0) d(1, 1) g(1) true);
        // J: the 5×5 stride-2 case of the asymmetric padding (0, 1, 0, 1).
        $m!($($pre)* 2, 5, 5 => 2; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(1) true);
    };
}

#[test]
fn grouped_backward_matches_the_textbook_formula() {
    let rng = &mut SplitMix64::new(17);
    grouped_geometries!(for_both_scalars!(both_case, rng;));
}

/// Which paths each geometry of [`grouped_geometries`] takes: every path is chosen by at
/// least one of them (the dot products on AVX-512 only), and every path that applies to a
/// geometry is also run on it by the checks above.
#[test]
fn paths_for_groups_and_asymmetric_padding() {
    use Forward as F;
    use Weights as Wg;
    let (f64_lanes, f32_lanes) = (lanes::<Native, f64>(), lanes::<Native, f32>());
    let wide = <Native as Width>::BYTES == 64;
    let by_channels = |og: usize, lanes: usize| {
        if og >= lanes {
            Wg::Channels
        } else {
            Wg::Columns
        }
    };
    macro_rules! chosen {
        ($t:ty; $($geometry:tt)*) => {
            <conv!($t; $($geometry)*) as Paths<$t>>::chosen_at(<Native as Width>::BYTES)
        };
    }
    // A: Q = 7·10 + 8 = 78 wide rows for 64 outputs, one channel per group.
    let a = chosen!(f64; 3, 8, 8 => 3; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(3) true);
    assert_eq!(a, (F::Direct, by_channels(1, f64_lanes)));
    // B: 622 wide rows.
    let b = chosen!(f64; 2, 24, 24 => 2; k(3, 3) s(1, 1) p(0, 2, 1, 1) d(1, 1) g(2) true);
    assert_eq!(b, (F::Direct, if wide { Wg::Dots } else { Wg::Columns }));
    // C: 16 channels per group fill whole vectors of f32 and f64 on AVX-512.
    let c64 = chosen!(f64; 4, 10, 10 => 32; k(5, 5) s(1, 1) p(1, 0, 0, 1) d(1, 1) g(2) true);
    let c32 = chosen!(f32; 4, 10, 10 => 32; k(5, 5) s(1, 1) p(1, 0, 0, 1) d(1, 1) g(2) true);
    assert_eq!(c64, (F::Channels, Wg::Channels));
    assert_eq!(c32, (F::Channels, Wg::Channels));
    // D, E: stride 2.
    let d = chosen!(f64; 4, 7, 7 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(2) false);
    assert_eq!(d, (F::Im2col, by_channels(3, f64_lanes)));
    let e = chosen!(f32; 3, 6, 6 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(3) true);
    assert_eq!(e, (F::Im2col, by_channels(2, f32_lanes)));
    // F, G, H: stride 1, few channels per group.
    let f = chosen!(f64; 4, 6, 5 => 6; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(2) true);
    assert_eq!(f, (F::Direct, by_channels(3, f64_lanes)));
    let g = chosen!(f64; 4, 9, 8 => 4; k(3, 2) s(1, 1) p(2, 1, 0, 2) d(2, 3) g(2) true);
    assert_eq!(g, (F::Direct, Wg::Columns), "dilation 3 along the rows");
    let h = chosen!(f64; 4, 6, 6 => 4; k(3, 3) s(1, 1) p(0, 0, 0, 0) d(1, 1) g(4) true);
    assert_eq!(h.0, F::Direct);
    // I: one group, asymmetric padding.
    let i = chosen!(f32; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 1, 1, 0) d(1, 1) g(1) true);
    assert_eq!(i, (F::Channels, by_channels(16, f32_lanes)));
    // Every forward path and every weight path (the dot products need AVX-512).
    let chosen = [a, b, c64, c32, d, e, f, g, h, i];
    for path in [F::Direct, F::Channels, F::Im2col] {
        assert!(chosen.iter().any(|c| c.0 == path), "{path:?} never chosen");
    }
    for path in [Wg::Channels, Wg::Columns] {
        assert!(chosen.iter().any(|c| c.1 == path), "{path:?} never chosen");
    }
    assert_eq!(chosen.iter().any(|c| c.1 == Wg::Dots), wide);
}

/// Forward and backward into NaN-filled `y` and `dx` (as the generated code's reused,
/// unzeroed buffers may be), on each path chosen by [`grouped_geometries`] and the paths
/// forced by [`check_forward`]: every entry is overwritten with a finite value.
#[test]
fn outputs_prefilled_with_nan_are_overwritten() {
    macro_rules! overwrite_case {
        ($($geometry:tt)*) => {{
            type L = conv!(f32; $($geometry)*);
            let rng = &mut SplitMix64::new(23);
            let (layer, x) = random_layer::<f32, L>(rng);
            let mut y = <L as Layer<f32>>::Output::zeros();
            y.flat_mut().fill(f32::NAN);
            layer.forward(&x, &mut y);
            assert!(y.iter().all(|v| v.is_finite()), "y {:?}", geometry!($($geometry)*));
            for path in [Forward::Im2col, Forward::Direct, Forward::Channels] {
                y.flat_mut().fill(f32::NAN);
                if layer.forward_by::<Native>(path, &x, &mut y) {
                    assert!(y.iter().all(|v| v.is_finite()), "y by {path:?}");
                }
            }
            let mut dy = <L as Layer<f32>>::Output::zeros();
            dy.flat_mut().iter_mut().for_each(|v| *v = uniform_sym(rng, 1.0) as f32);
            let mut dx = <L as Layer<f32>>::Input::zeros();
            dx.flat_mut().fill(f32::NAN);
            let mut grad = L::zeros();
            layer.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut grad);
            assert!(dx.iter().all(|v| v.is_finite()), "dx {:?}", geometry!($($geometry)*));
            assert!(grad.weight.iter().all(|v| v.is_finite()));
        }};
    }
    grouped_geometries!(overwrite_case!());
    // Input values no tap reads (stride 3 skips columns and rows), whose gradient is zero.
    overwrite_case!(2, 7, 7 => 2; k(1, 1) s(3, 3) p(0, 0, 0, 0) d(1, 1) g(2) true);
    overwrite_case!(1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
    overwrite_case!(6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
}

/// x = 1..9 as a 3×3 image, w = [[1, 2], [3, 4]].
const X9: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
const W4: [f64; 4] = [1.0, 2.0, 3.0, 4.0];

#[test]
fn lenet_takes_the_direct_paths_where_they_pay() {
    type Conv1 = conv!(f32; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
    type Conv2 = conv!(f32; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
    type Strided = conv!(f32; 2, 8, 9 => 3; k(3, 3) s(2, 2) p(1, 1) d(1, 1) true);
    // 892 wide rows for 784 outputs; 136 for 100; no direct path at stride 2.
    // (The dot products need AVX-512; see `dot_weights`.)
    assert_eq!(
        (
            Conv1::Q,
            Conv1::DIRECT,
            Conv2::Q,
            Conv2::DIRECT,
            Strided::DIRECT
        ),
        (892, true, 136, false, false)
    );
    for vb in [16, 32, 64] {
        assert_eq!(Conv1::dot_weights(vb), vb == 64, "{vb}");
        assert!(!Conv2::dot_weights(vb) && !Strided::dot_weights(vb));
        // The second convolution's 16 channels fill whole vectors instead, at every width.
        assert!(
            Conv2::channels_forward(vb) && Conv2::channels_weights(vb),
            "{vb}"
        );
    }
}

/// Every path at every vector width, not only the build's own: forward, the weight gradient
/// and the input gradient of LeNet's convolutions, a grouped and a strided one, blocked for
/// 128-, 256- and 512-bit vectors (the widths a dispatching build may run), against the
/// formula.
#[test]
fn every_width_computes_the_formula() {
    fn at_width<V: Width, L: Paths<f64>>(g: Geometry, rng: &mut SplitMix64) {
        let tol = 1e-12;
        let (layer, x) = random_layer::<f64, L>(rng);
        let bias = (L::TENSORS == 2).then(|| to_f64(layer.tensor(1)));
        let w = to_f64(layer.tensor(0));
        let want = reference(g, &to_f64(x.flat()), &w, bias.as_deref());
        for path in [Forward::Im2col, Forward::Direct, Forward::Channels] {
            let mut y = L::Output::zeros();
            y.flat_mut().fill(f64::NAN);
            if layer.forward_by::<V>(path, &x, &mut y) {
                assert_close(
                    &std::format!("y {path:?} {}", V::NAME),
                    g,
                    y.flat(),
                    &want,
                    tol,
                );
            }
        }
        let mut dy = L::Output::zeros();
        dy.flat_mut()
            .iter_mut()
            .for_each(|v| *v = uniform_sym(rng, 1.0));
        let (dw, _, dx_want) = reference_backward(g, &to_f64(x.flat()), &w, &to_f64(dy.flat()));
        for path in [Weights::Columns, Weights::Dots, Weights::Channels] {
            let mut gw = vec![0.0; w.len()];
            if L::weight_grad_by::<V>(path, &x, &dy, &mut gw) {
                assert_close(&std::format!("dW {path:?} {}", V::NAME), g, &gw, &dw, tol);
            }
        }
        let mut dx = L::Input::zeros();
        dx.flat_mut().fill(f64::NAN);
        layer.input_grad_at::<V>(&dy, &mut dx);
        assert_close(&std::format!("dx {}", V::NAME), g, dx.flat(), &dx_want, tol);
    }
    macro_rules! every_width {
        ($rng:expr; $($geometry:tt)*) => {{
            type L = conv!(f64; $($geometry)*);
            let g = geometry!($($geometry)*);
            at_width::<V128, L>(g, $rng);
            at_width::<V256, L>(g, $rng);
            at_width::<V512, L>(g, $rng);
        }};
    }
    let rng = &mut SplitMix64::new(41);
    every_width!(rng; 1, 28, 28 => 6; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
    every_width!(rng; 6, 14, 14 => 16; k(5, 5) s(1, 1) p(0, 0) d(1, 1) true);
    every_width!(rng; 4, 10, 10 => 32; k(5, 5) s(1, 1) p(1, 0, 0, 1) d(1, 1) g(2) true);
    every_width!(rng; 3, 6, 6 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(3) true);
}

#[test]
fn forward_by_hand() {
    let x = SVector::from(X9);

    // Stride 1, no padding, bias 0.5: y00 = 1·1 + 2·2 + 3·4 + 4·5 + 0.5, and so on.
    let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(1, 1) p(0, 0) d(1, 1) true)>::zeros();
    conv.tensor_mut(0).copy_from_slice(&W4);
    conv.tensor_mut(1)[0] = 0.5;
    let mut y = SVector::zeros();
    conv.forward(&x, &mut y);
    assert_eq!(y.as_slice(), [37.5, 47.5, 67.5, 77.5]);

    // Stride 2, padding 1: the four windows see x00·4; x01·3 + x02·4; x10·2 + x20·4;
    // x11·1 + x12·2 + x21·3 + x22·4.
    let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(2, 2) p(1, 1) d(1, 1) false)>::zeros();
    conv.tensor_mut(0).copy_from_slice(&W4);
    let mut y = SVector::zeros();
    conv.forward(&x, &mut y);
    assert_eq!(y.as_slice(), [4.0, 18.0, 36.0, 77.0]);

    // Dilation 2: the 2×2 kernel reads the four corners, 1·1 + 3·2 + 7·3 + 9·4.
    let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(1, 1) p(0, 0) d(2, 2) false)>::zeros();
    conv.tensor_mut(0).copy_from_slice(&W4);
    let mut y = SVector::zeros();
    conv.forward(&x, &mut y);
    assert_eq!(y.as_slice(), [64.0]);

    // Padding only at the bottom and right, stride 2: windows at (0, 0), (0, 2), (2, 0),
    // (2, 2) see 1·1 + 2·2 + 4·3 + 5·4; 3·1 + 6·3; 7·1 + 8·2; 9·1.
    let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(1) false)>::zeros();
    conv.tensor_mut(0).copy_from_slice(&W4);
    let mut y = SVector::zeros();
    conv.forward(&x, &mut y);
    assert_eq!(y.as_slice(), [37.0, 21.0, 23.0, 9.0]);

    // Depthwise over two channels (x and 10·x), kernels [[1, 2], [3, 4]] and [[1, 0], [0, 0]]:
    // channel 0 as in the first case, channel 1 = 10·x[i][j].
    let x2 = SVector::<f64, 18>::from_fn(|n, _| if n < 9 { X9[n] } else { 10.0 * X9[n - 9] });
    let mut conv = <conv!(2, 3, 3 => 2; k(2, 2) s(1, 1) p(0, 0, 0, 0) d(1, 1) g(2) false)>::zeros();
    conv.tensor_mut(0)[..4].copy_from_slice(&W4);
    conv.tensor_mut(0)[4] = 1.0;
    let mut y = SVector::zeros();
    conv.forward(&x2, &mut y);
    assert_eq!(
        y.as_slice(),
        [37.0, 47.0, 67.0, 77.0, 10.0, 20.0, 40.0, 50.0]
    );
}

#[test]
fn backward_by_hand() {
    let x = SVector::from(X9);
    let mut conv = <conv!(1, 3, 3 => 1; k(2, 2) s(1, 1) p(0, 0) d(1, 1) true)>::zeros();
    conv.tensor_mut(0).copy_from_slice(&W4);
    let dy = SVector::from([1.0; 4]);
    let mut dx = SVector::repeat(f64::NAN);
    let mut g = Zeros::zeros();
    conv.backward(&x, &SVector::zeros(), &NoRecord, &dy, Some(&mut dx), &mut g);
    // dW[u, v] = Σ over the four windows of x[i + u, j + v]; db = 4.
    assert_eq!(g.tensor(0), [12.0, 16.0, 24.0, 28.0]);
    assert_eq!(g.tensor(1), [4.0]);
    // dx[r, q] = sum of the weights whose tap lands on (r, q) in some window.
    assert_eq!(
        dx.as_slice(),
        [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]
    );
    // Parameter gradients accumulate; dx is optional.
    conv.backward(&x, &SVector::zeros(), &NoRecord, &dy, None, &mut g);
    assert_eq!(g.tensor(0), [24.0, 32.0, 48.0, 56.0]);
    assert_eq!(g.tensor(1), [8.0]);
}

#[test]
fn weight_is_in_pytorch_order() {
    // OC = 2, C = 3, KH = 2, KW = 3 over 3×4 images: one nonzero weight at
    // [oc = 1][c = 2][ky = 1][kx = 0], flat index ((1·3 + 2)·2 + 1)·3 + 0 = 33.
    type L = conv!(3, 3, 4 => 2; k(2, 3) s(1, 1) p(0, 0) d(1, 1) true);
    let mut conv = L::zeros();
    conv.tensor_mut(0)[33] = 1.0;
    assert_eq!(
        conv.weight[(15, 1)],
        1.0,
        "column oc, row (c·KH + ky)·KW + kx"
    );
    let x = SVector::<f64, 36>::from_fn(|i, _| i as f64);
    let mut y = SVector::zeros();
    conv.forward(&x, &mut y);
    // y[1, i, j] = x[2, i + 1, j]; channel 0 sees nothing.
    for i in 0..2 {
        for j in 0..2 {
            assert_eq!(y[(i * 2) + j], 0.0);
            assert_eq!(y[4 + i * 2 + j], x[2 * 12 + (i + 1) * 4 + j]);
        }
    }
    let info = <L as Params<f64>>::tensor_info(0);
    assert_eq!(
        (info.name, info.shape, info.kind),
        ("weight", Shape::rank4(2, 3, 2, 3), TensorKind::Weight)
    );
    assert_eq!((info.fan_in, info.fan_out), (18, 12));
    let info = <L as Params<f64>>::tensor_info(1);
    assert_eq!(
        (info.name, info.shape, info.kind),
        ("bias", Shape::vector(2), TensorKind::Bias)
    );
    assert_eq!(<L as Params<f64>>::LEN, 38);
    assert_eq!(<L as Layer<f64>>::MACS, 2 * 4 * 18);
    // The 4 × 18 im2col matrix of backward and an 8-column packed block of
    // max(K, P, OC) = 18 rows.
    assert_eq!(<L as Layer<f64>>::SCRATCH_BYTES, (4 * 18 + 8 * 18) * 8);
    type NoBias = conv!(3, 3, 4 => 2; k(2, 3) s(1, 1) p(0, 0) d(1, 1) false);
    assert_eq!(<NoBias as Params<f64>>::TENSORS, 1);
    assert_eq!(<NoBias as Params<f64>>::LEN, 36);
}

#[test]
fn grouped_weight_is_in_pytorch_order() {
    // C = 4, OC = 6 in G = 2 groups: weight [6, 2, 3, 3], K = 18 taps per output channel.
    // One nonzero weight at [oc = 4][c = 1][ky = 2][kx = 0], flat ((4·2 + 1)·3 + 2)·3 = 87:
    // output channel 4 (group 1) reads input channel 2 + 1 = 3.
    type L = conv!(4, 5, 5 => 6; k(3, 3) s(1, 1) p(0, 0, 0, 0) d(1, 1) g(2) true);
    let mut conv = L::zeros();
    conv.tensor_mut(0)[87] = 1.0;
    assert_eq!(
        conv.weight[(15, 4)],
        1.0,
        "column oc, row (c·KH + ky)·KW + kx"
    );
    let x = SVector::<f64, 100>::from_fn(|i, _| i as f64);
    let mut y = SVector::zeros();
    conv.forward(&x, &mut y);
    // y[4, i, j] = x[3, i + 2, j]; every other channel sees nothing.
    for (n, &v) in y.iter().enumerate() {
        let (o, i, j) = (n / 9, n / 3 % 3, n % 3);
        let want = if o == 4 {
            x[3 * 25 + (i + 2) * 5 + j]
        } else {
            0.0
        };
        assert_eq!(v, want, "y[{o}, {i}, {j}]");
    }
    // PyTorch's shapes and fans: fan_in = (C/G)·KH·KW = 18, fan_out = OC·KH·KW = 54 (what
    // `torch.nn.init._calculate_fan_in_and_fan_out` computes from the [6, 2, 3, 3] weight).
    let info = <L as Params<f64>>::tensor_info(0);
    assert_eq!(
        (info.name, info.shape, info.kind),
        ("weight", Shape::rank4(6, 2, 3, 3), TensorKind::Weight)
    );
    assert_eq!((info.fan_in, info.fan_out), (18, 54));
    let info = <L as Params<f64>>::tensor_info(1);
    assert_eq!((info.name, info.shape), ("bias", Shape::vector(6)));
    assert_eq!((info.fan_in, info.fan_out), (18, 54));
    assert_eq!(<L as Params<f64>>::LEN, 6 * 18 + 6);
    assert_eq!(<L as Layer<f64>>::MACS, 6 * 9 * 18);
    // Depthwise: weight [3, 1, 3, 3].
    type Dw = conv!(3, 6, 6 => 3; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(3) true);
    let info = <Dw as Params<f64>>::tensor_info(0);
    assert_eq!(info.shape, Shape::rank4(3, 1, 3, 3));
    assert_eq!((info.fan_in, info.fan_out), (9, 27));
    // Direct forward (twice the input for the padded image, 216 values), backward through
    // colᵀ (K × P = 9·36 = 324) and ∂L/∂col (P × 8 = 288), with an 8-column block of
    // max(K, P, OC) = 36 rows.
    assert_eq!(
        <Dw as Paths<f64>>::chosen_at(<Native as Width>::BYTES).0,
        Forward::Direct
    );
    if <Dw as Paths<f64>>::chosen_at(<Native as Width>::BYTES).1 == Weights::Columns {
        assert_eq!(<Dw as Layer<f64>>::SCRATCH_BYTES, (324 + 8 * 36) * 8);
    }
}

#[test]
fn new_draws_weights_and_zeroes_the_bias() {
    type L = conv!(2, 5, 5 => 3; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
    let conv = L::new(Init::Constant(0.25), &mut SplitMix64::new(1));
    assert!(conv.tensor(0).iter().all(|&v| v == 0.25));
    assert!(conv.tensor(1).iter().all(|&v| v == 0.0));
    // He-uniform bound √(6 / fan_in) with fan_in = C·KH·KW = 18.
    let conv = L::new(Init::HeUniform, &mut SplitMix64::new(1));
    let bound = (6.0f64 / 18.0).sqrt();
    assert!(conv.tensor(0).iter().all(|v| v.abs() <= bound));
    assert!(conv.tensor(0).iter().any(|v| v.abs() > 0.8 * bound));
    // Grouped: fan_in = (C/G)·KH·KW = 9 (depthwise 3×3), so the bound is √(6 / 9).
    type Dw = conv!(4, 5, 5 => 4; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(4) true);
    let conv = Dw::new(Init::HeUniform, &mut SplitMix64::new(1));
    let bound = (6.0f64 / 9.0).sqrt();
    assert!(conv.tensor(0).iter().all(|v| v.abs() <= bound));
    assert!(conv.tensor(0).iter().any(|v| v.abs() > 0.8 * bound));
}

macro_rules! grad_case {
    ($rng:expr; $($geometry:tt)*) => {
        check_layer(&<conv!($($geometry)*)>::new(Init::Uniform(1.0), $rng), $rng);
        // Nonzero biases too: `new` leaves them at zero.
        let mut layer = <conv!($($geometry)*)>::new(Init::Uniform(1.0), $rng);
        for b in layer.tensor_mut(1).iter_mut() {
            *b = 0.5;
        }
        check_layer(&layer, $rng);
    };
}

#[test]
fn gradients_match_finite_differences() {
    let rng = &mut SplitMix64::new(29);
    // `same` padding p = d(k − 1)/2 at dilations 1 and 2.
    grad_case!(rng; 2, 5, 5 => 3; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
    grad_case!(rng; 1, 6, 6 => 2; k(3, 3) s(1, 1) p(2, 2) d(2, 2) true);
    grad_case!(rng; 1, 5, 5 => 3; k(5, 5) s(1, 1) p(2, 2) d(1, 1) true);
    grad_case!(rng; 2, 5, 7 => 2; k(3, 5) s(1, 1) p(1, 2) d(1, 1) true);
    // Strides, rectangular kernels, unequal padding along the axes, dilation, no bias.
    grad_case!(rng; 3, 7, 5 => 2; k(3, 2) s(2, 1) p(1, 0) d(1, 1) false);
    grad_case!(rng; 2, 6, 7 => 1; k(2, 3) s(2, 2) p(0, 1) d(2, 1) true);
    grad_case!(rng; 2, 8, 6 => 2; k(1, 3) s(3, 1) p(0, 2) d(1, 2) true);
    grad_case!(rng; 3, 4, 4 => 3; k(2, 2) s(1, 1) p(0, 0) d(1, 1) true);
    grad_case!(rng; 1, 3, 1 => 2; k(1, 5) s(1, 1) p(0, 2) d(1, 1) true);
    // Ragged register blocks in every product.
    grad_case!(rng; 2, 3, 7 => 11; k(3, 3) s(1, 1) p(1, 1) d(1, 1) true);
}

#[test]
fn grouped_gradients_match_finite_differences() {
    let rng = &mut SplitMix64::new(31);
    // Two groups (C = 4, OC = 6), at strides 1 and 2.
    grad_case!(rng; 4, 5, 5 => 6; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(2) true);
    grad_case!(rng; 4, 6, 5 => 6; k(3, 2) s(2, 1) p(0, 1, 1, 0) d(1, 1) g(2) false);
    // Depthwise, and with a depth multiplier of 2.
    grad_case!(rng; 3, 5, 5 => 3; k(3, 3) s(1, 1) p(1, 1, 1, 1) d(1, 1) g(3) true);
    grad_case!(rng; 3, 6, 6 => 6; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(3) true);
    // Asymmetric padding at stride 2, TensorFlow's 'SAME' on 6×6 and (0, 1, 0, 1) on 5×5.
    grad_case!(rng; 2, 6, 6 => 2; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(1) true);
    grad_case!(rng; 2, 5, 5 => 2; k(3, 3) s(2, 2) p(0, 1, 0, 1) d(1, 1) g(1) true);
    grad_case!(rng; 2, 5, 4 => 3; k(2, 3) s(1, 1) p(0, 3, 2, 0) d(1, 1) g(1) true);
    // Dilation with groups.
    grad_case!(rng; 4, 6, 6 => 4; k(3, 2) s(1, 1) p(2, 1, 0, 2) d(2, 3) g(2) true);
    grad_case!(rng; 2, 7, 7 => 4; k(3, 3) s(2, 1) p(2, 2, 1, 1) d(2, 2) g(2) true);
    // Many channels per group (by channels), fewer taps than one block of ∂L/∂col.
    // (Small layers only: with a few hundred outputs the rounding error of the differences
    // alone, about 10⁻⁹ at ε = 10⁻⁶, exceeds the tolerance on gradients near 10⁻³.)
    grad_case!(rng; 2, 4, 4 => 16; k(3, 3) s(1, 1) p(0, 1, 1, 0) d(1, 1) g(2) true);
    grad_case!(rng; 2, 4, 5 => 4; k(2, 2) s(1, 1) p(0, 1, 0, 1) d(1, 1) g(2) true);
}
