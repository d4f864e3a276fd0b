//! Pooling tests: values by hand, a naive reference written from the formulas (loops in f64),
//! finite-difference gradients, and the overwrite contract.

use super::*;
use crate::gradcheck::check_layer;
use crate::layer::contract::check_overwrites;
use crate::rng::{uniform_sym, SplitMix64};
use crate::Params;
use rand_core::RngCore;
use std::vec::Vec;

/// Floor-mode output size `⌊(i + lo + hi − k) / s⌋ + 1`, written out independently of the layer.
const fn floor(i: usize, k: usize, s: usize, lo: usize, hi: usize) -> usize {
    (i + lo + hi - k) / s + 1
}

/// Ceil-mode output size: `⌈(i + lo + hi − k) / s⌉ + 1`, less one if that last window would
/// start at or past `i + lo` (PyTorch's `pooling_output_shape`).
const fn ceil(i: usize, k: usize, s: usize, lo: usize, hi: usize) -> usize {
    let o = (i + lo + hi - k).div_ceil(s) + 1;
    if (o - 1) * s >= i + lo {
        o - 1
    } else {
        o
    }
}

/// The pool type for a (C, H, W) input, window (KH, KW), stride, padding (top, bottom, left,
/// right) and mode (`floor` or `ceil`), with average pooling's `COUNT_PAD` last if given;
/// `p(ph, pw)` is symmetric padding in floor mode.
macro_rules! pool {
    ($kind:ident; $c:literal, $h:literal, $w:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($pt:literal, $pb:literal, $pl:literal, $pr:literal)
     $mode:ident $(, $count_pad:literal)?) => {
        $kind<
            $c,
            $h,
            $w,
            $kh,
            $kw,
            $sh,
            $sw,
            $pt,
            $pb,
            $pl,
            $pr,
            { $mode($h, $kh, $sh, $pt, $pb) },
            { $mode($w, $kw, $sw, $pl, $pr) },
            { $c * $h * $w },
            { $c * $mode($h, $kh, $sh, $pt, $pb) * $mode($w, $kw, $sw, $pl, $pr) },
            $($count_pad)?
        >
    };
    ($kind:ident; $c:literal, $h:literal, $w:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($ph:literal, $pw:literal)) => {
        pool!($kind; $c, $h, $w; k($kh, $kw) s($sh, $sw) p($ph, $ph, $pw, $pw) floor)
    };
}

fn vec<const N: usize>(v: [f64; N]) -> SVector<f64, N> {
    SVector::from(v)
}

#[test]
fn output_sizes_follow_pytorch() {
    // GoogLeNet (torchvision): max pools of 3 at stride 2 in ceil mode take 112 → 56,
    // 56 → 28, 28 → 14 (floor mode would give 55, 27, 13), and 2 at stride 2 takes 14 → 7.
    assert_eq!(out_sizes(112, 3, 2, 0, 0), (55, 56));
    assert_eq!(out_sizes(56, 3, 2, 0, 0), (27, 28));
    assert_eq!(out_sizes(28, 3, 2, 0, 0), (13, 14));
    assert_eq!(out_sizes(14, 2, 2, 0, 0), (7, 7));
    // 7 inputs, windows of 2 at stride 2: the fourth window holds the last input alone.
    assert_eq!(out_sizes(7, 2, 2, 0, 0), (3, 4));
    // 3 inputs padded by 1 each side, windows of 2 at stride 2: rounding up gives a third
    // window at padded position 4, the bottom padding alone, so it is dropped.
    assert_eq!(out_sizes(3, 2, 2, 1, 1), (2, 2));
    // Asymmetric padding only adds up: 5 + 1 + 0 − 3 = 3 positions to step over.
    assert_eq!(out_sizes(5, 3, 2, 1, 0), (2, 3));
    assert_eq!(out_sizes(5, 3, 2, 0, 1), (2, 3));
}

#[test]
fn max_pool_by_hand() {
    // Two 4×4 channels, 2×2 windows at stride 2.
    #[rustfmt::skip]
    let x = vec([
        1.0, 3.0, 2.0, 0.0,
        4.0, 2.0, 1.0, 5.0,
        0.0, 0.0, 9.0, 8.0,
        7.0, 6.0, 1.0, 1.0,
        // channel 1
        -1.0, -2.0, -3.0, -4.0,
        -5.0, -6.0, -7.0, -0.5,
        -9.0, -8.0, -7.0, -6.0,
        -5.0, -4.0, -3.0, -2.0,
    ]);
    let mut pool = <pool!(MaxPool2d; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0))>::default();
    let mut y = SVector::zeros();
    let mut arg = [0u32; 8];
    Layer::<f64>::forward_train(&mut pool, &x, &mut y, &mut arg);
    assert_eq!(y, vec([4.0, 5.0, 7.0, 9.0, -1.0, -0.5, -4.0, -2.0]));
    assert_eq!(arg, [4, 7, 12, 10, 16, 23, 29, 31]);
    let mut y2 = SVector::zeros();
    pool.forward(&x, &mut y2);
    assert_eq!(y2, y);

    let dy = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let mut dx = SVector::repeat(f64::NAN);
    pool.backward(&x, &y, &arg, &dy, Some(&mut dx), &mut NoParams);
    let mut want = [0.0; 32];
    for (i, d) in [
        (4, 1.0),
        (7, 2.0),
        (12, 3.0),
        (10, 4.0),
        (16, 5.0),
        (23, 6.0),
        (29, 7.0),
        (31, 8.0),
    ] {
        want[i] = d;
    }
    assert_eq!(dx, vec(want));
}

#[test]
fn max_pool_overlapping_windows_accumulate() {
    // 2×2 windows at stride 1 over a 3×3 image: the centre 9 wins all four windows.
    let x = vec([1.0, 2.0, 3.0, 4.0, 9.0, 5.0, 6.0, 7.0, 8.0]);
    let mut pool = <pool!(MaxPool2d; 1, 3, 3; k(2, 2) s(1, 1) p(0, 0))>::default();
    let (mut y, mut arg) = (SVector::zeros(), [0u32; 4]);
    Layer::<f64>::forward_train(&mut pool, &x, &mut y, &mut arg);
    assert_eq!(y, vec([9.0; 4]));
    assert_eq!(arg, [4; 4]);
    let mut dx = SVector::zeros();
    pool.backward(
        &x,
        &y,
        &arg,
        &vec([1.0, 2.0, 3.0, 4.0]),
        Some(&mut dx),
        &mut NoParams,
    );
    assert_eq!(dx, vec([0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0]));
}

#[test]
fn max_pool_padding_never_wins() {
    // 3×3 windows, stride 2, padding 1 over an all-negative 3×3 image: zero padding would
    // give 0 everywhere; −∞ padding gives the largest real value of each window.
    let x = vec([-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0]);
    let mut pool = <pool!(MaxPool2d; 1, 3, 3; k(3, 3) s(2, 2) p(1, 1))>::default();
    let (mut y, mut arg) = (SVector::zeros(), [0u32; 4]);
    Layer::<f64>::forward_train(&mut pool, &x, &mut y, &mut arg);
    // Windows: rows/cols {0,1}×{0,1}, {0,1}×{1,2}, {1,2}×{0,1}, {1,2}×{1,2}.
    assert_eq!(y, vec([-1.0, -2.0, -4.0, -5.0]));
    assert_eq!(arg, [0, 1, 3, 4]);
}

#[test]
fn max_pool_propagates_nan() {
    // A NaN beats every number, and a later NaN beats an earlier one (PyTorch's rule).
    let x = vec([f64::NAN, 3.0, f64::NAN, 2.0, 1.0, 2.0, 4.0, f64::NAN]);
    let (mut y, mut arg) = (SVector::<f64, 2>::zeros(), [0u32; 2]);
    let mut pool = <pool!(MaxPool2d; 2, 2, 2; k(2, 2) s(2, 2) p(0, 0))>::default();
    pool.forward_train(&x, &mut y, &mut arg);
    assert!(y[0].is_nan() && y[1].is_nan());
    assert_eq!(arg, [2, 7]);
}

#[test]
fn avg_pool_counts_padding_in_the_divisor() {
    // 2×2 windows, stride 2, padding 1 over x = 1..9 (3×3): the windows hold the real
    // inputs {x00}, {x01, x02}, {x10, x20}, {x11, x12, x21, x22}, each divided by 4.
    let x = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let pool = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(2, 2) p(1, 1))>::default();
    let mut y = SVector::zeros();
    Layer::<f64>::forward(&pool, &x, &mut y);
    assert_eq!(y, vec([0.25, 1.25, 2.75, 7.0]));
    let mut dx = SVector::zeros();
    let dy = vec([4.0, 8.0, 12.0, 16.0]);
    pool.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
    assert_eq!(dx, vec([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 3.0, 4.0, 4.0]));

    // Without count_include_pad, each window divides by its real inputs: 1, 2, 2, 4.
    let pool = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(2, 2) p(1, 1, 1, 1) floor, false)>::default();
    Layer::<f64>::forward(&pool, &x, &mut y);
    assert_eq!(y, vec([1.0, 2.5, 5.5, 7.0]));
    pool.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
    assert_eq!(dx, vec([4.0, 4.0, 4.0, 6.0, 4.0, 4.0, 6.0, 4.0, 4.0]));
}

#[test]
fn avg_pool_by_hand_with_rectangular_windows() {
    // One channel 2×4 and a second one; 1×2 windows at stride (1, 2): pairwise means.
    let x = vec([
        1.0, 3.0, 5.0, 9.0, 2.0, 2.0, -4.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0, 3.0, 8.0, 6.0,
    ]);
    let pool = <pool!(AvgPool2d; 2, 2, 4; k(1, 2) s(1, 2) p(0, 0))>::default();
    let mut y = SVector::zeros();
    Layer::<f64>::forward(&pool, &x, &mut y);
    assert_eq!(y, vec([2.0, 7.0, 2.0, -2.0, 0.5, 1.0, 3.0, 7.0]));
}

#[test]
fn ceil_mode_by_hand() {
    // x = 1..9 (3×3), 2×2 windows at stride 2, no padding, ceil mode: 2×2 outputs over rows
    // and columns {0, 1} and {2}; the last row and column of windows overhang by one.
    let x = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let mut max = <pool!(MaxPool2d; 1, 3, 3; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil)>::default();
    let (mut y, mut arg) = (SVector::zeros(), [0u32; 4]);
    max.forward_train(&x, &mut y, &mut arg);
    assert_eq!(y, vec([5.0, 6.0, 8.0, 9.0]));
    assert_eq!(arg, [4, 5, 7, 8]);
    let mut dx = SVector::zeros();
    max.backward(
        &x,
        &y,
        &arg,
        &vec([1.0, 2.0, 3.0, 4.0]),
        Some(&mut dx),
        &mut NoParams,
    );
    assert_eq!(dx, vec([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 4.0]));

    // Average: the overhang lies past the (empty) padding, so it counts in neither divisor;
    // the windows hold 4, 2, 2 and 1 inputs: (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9/1. Backward
    // sends 4/4, 6/2, 8/2 and 5/1 to them.
    let want = vec([3.0, 4.5, 7.5, 9.0]);
    let dy = vec([4.0, 6.0, 8.0, 5.0]);
    let want_dx = vec([1.0, 1.0, 3.0, 1.0, 1.0, 3.0, 4.0, 4.0, 5.0]);
    let pad = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil)>::default();
    Layer::<f64>::forward(&pad, &x, &mut y);
    assert_eq!(y, want);
    pad.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
    assert_eq!(dx, want_dx);
    let no_pad = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil, false)>::default();
    Layer::<f64>::forward(&no_pad, &x, &mut y);
    assert_eq!(y, want);
    no_pad.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
    assert_eq!(dx, want_dx);
}

#[test]
fn padded_ceil_mode_by_hand() {
    // x[r][c] = 4r + c + 1 (4×4), 3×3 windows at stride 2, padding 1, ceil mode: 3×3 outputs
    // (floor mode: 2×2). Along each axis the windows start at padded 0, 2, 4 and cover the
    // real rows {0, 1}, {1, 2, 3}, {3}; the padded input has 6 rows, so the last window has
    // 2 positions inside it (row 3 and the bottom padding) and one past it.
    let x = SVector::<f64, 16>::from_fn(|i, _| i as f64 + 1.0);
    type Max = pool!(MaxPool2d; 1, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil);
    let mut max = Max::default();
    let (mut y, mut arg) = (SVector::zeros(), [0u32; 9]);
    max.forward_train(&x, &mut y, &mut arg);
    // The maximum sits at each window's last real row and column.
    assert_eq!(y, vec([6.0, 8.0, 8.0, 14.0, 16.0, 16.0, 14.0, 16.0, 16.0]));
    assert_eq!(arg, [5, 7, 7, 13, 15, 15, 13, 15, 15]);

    // Window sums: 1+2+5+6 = 14, … ; the last one is x[3][3] = 16 alone.
    let sums = [14.0, 30.0, 12.0, 57.0, 99.0, 36.0, 27.0, 45.0, 16.0];
    // count_include_pad: the windows count 3, 3, 2 positions per axis.
    let pad_div = [9.0, 9.0, 6.0, 9.0, 9.0, 6.0, 6.0, 6.0, 4.0];
    // Without it: 2, 3, 1 real inputs per axis.
    let real_div = [4.0, 6.0, 2.0, 6.0, 9.0, 3.0, 2.0, 3.0, 1.0];
    let pad = <pool!(AvgPool2d; 1, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil)>::default();
    Layer::<f64>::forward(&pad, &x, &mut y);
    assert_eq!(y, SVector::<f64, 9>::from_fn(|i, _| sums[i] / pad_div[i]));
    let no_pad = <pool!(AvgPool2d; 1, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil, false)>::default();
    Layer::<f64>::forward(&no_pad, &x, &mut y);
    assert_eq!(y, SVector::<f64, 9>::from_fn(|i, _| sums[i] / real_div[i]));
}

#[test]
fn asymmetric_padding_by_hand() {
    // x = 1..9 (3×3), 2×2 windows at stride 1, one padding row on top and one padding
    // column on the right: 3×3 outputs. Window rows {0}, {0, 1}, {1, 2}; columns {0, 1},
    // {1, 2}, {2}.
    let x = vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let mut max = <pool!(MaxPool2d; 1, 3, 3; k(2, 2) s(1, 1) p(1, 0, 0, 1) floor)>::default();
    let (mut y, mut arg) = (SVector::zeros(), [0u32; 9]);
    max.forward_train(&x, &mut y, &mut arg);
    assert_eq!(y, vec([2.0, 3.0, 3.0, 5.0, 6.0, 6.0, 8.0, 9.0, 9.0]));
    assert_eq!(arg, [1, 2, 2, 4, 5, 5, 7, 8, 8]);

    let sums = [3.0, 5.0, 3.0, 12.0, 16.0, 9.0, 24.0, 28.0, 15.0];
    // Every window lies inside the padded input: divisor 4 with count_include_pad, the
    // number of real inputs (2, 2, 1, 4, 4, 2, 4, 4, 2) without.
    let real = [2.0, 2.0, 1.0, 4.0, 4.0, 2.0, 4.0, 4.0, 2.0];
    let pad = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(1, 1) p(1, 0, 0, 1) floor)>::default();
    Layer::<f64>::forward(&pad, &x, &mut y);
    assert_eq!(y, SVector::<f64, 9>::from_fn(|i, _| sums[i] / 4.0));
    let no_pad = <pool!(AvgPool2d; 1, 3, 3; k(2, 2) s(1, 1) p(1, 0, 0, 1) floor, false)>::default();
    Layer::<f64>::forward(&no_pad, &x, &mut y);
    assert_eq!(y, SVector::<f64, 9>::from_fn(|i, _| sums[i] / real[i]));
}

/// A pooling geometry, for the references.
#[derive(Clone, Copy, Debug)]
struct Geom {
    c: usize,
    h: usize,
    w: usize,
    k: (usize, usize),
    s: (usize, usize),
    /// Top, bottom, left, right.
    p: (usize, usize, usize, usize),
    /// Output size.
    o: (usize, usize),
}

impl Geom {
    /// Calls `f(output, input)` for every position of every window in row-major order, with
    /// `input` the flat index of a real input or `Err((row, col))`, the padded-input
    /// coordinates (from 0 at the top left of the padding) of a position outside the input.
    fn walk(&self, mut f: impl FnMut(usize, Result<usize, (usize, usize)>)) {
        let mut o = 0;
        for ch in 0..self.c {
            for i in 0..self.o.0 {
                for j in 0..self.o.1 {
                    for u in 0..self.k.0 {
                        for v in 0..self.k.1 {
                            let (pr, pc) = (i * self.s.0 + u, j * self.s.1 + v);
                            let (r, q) = (
                                pr as isize - self.p.0 as isize,
                                pc as isize - self.p.2 as isize,
                            );
                            if r < 0 || q < 0 || r >= self.h as isize || q >= self.w as isize {
                                f(o, Err((pr, pc)));
                            } else {
                                f(o, Ok((ch * self.h + r as usize) * self.w + q as usize));
                            }
                        }
                    }
                    o += 1;
                }
            }
        }
    }

    fn outputs(&self) -> usize {
        self.c * self.o.0 * self.o.1
    }
}

/// The textbook max pooling, one window at a time in row-major order: the first maximum
/// wins, a NaN beats everything and the last NaN wins; positions outside the input are skipped.
fn reference_max(x: &[f64], g: Geom) -> (Vec<f64>, Vec<u32>) {
    let mut best: Vec<Option<(f64, usize)>> = std::vec![None; g.outputs()];
    g.walk(|o, at| {
        let Ok(at) = at else { return };
        let val = x[at];
        let take = match best[o] {
            None => true,
            Some((m, _)) => val.is_nan() || (!m.is_nan() && val > m),
        };
        if take {
            best[o] = Some((val, at));
        }
    });
    best.into_iter()
        .map(|b| {
            let (m, at) = b.expect("every window holds a real input");
            (m, at as u32)
        })
        .unzip()
}

/// The textbook average pooling and its backward at `dy`: the sum of each window's real
/// inputs over its divisor, which counts the window's positions that are real inputs or,
/// with `count_pad`, padding (not those past the padding).
fn reference_avg(x: &[f64], dy: &[f64], g: Geom, count_pad: bool) -> (Vec<f64>, Vec<f64>) {
    let (mut sum, mut div) = (std::vec![0.0; g.outputs()], std::vec![0usize; g.outputs()]);
    let (padded_h, padded_w) = (g.p.0 + g.h + g.p.1, g.p.2 + g.w + g.p.3);
    g.walk(|o, at| match at {
        Ok(at) => {
            sum[o] += x[at];
            div[o] += 1;
        }
        Err((r, c)) => div[o] += (count_pad && r < padded_h && c < padded_w) as usize,
    });
    let y = sum.iter().zip(&div).map(|(s, &d)| s / d as f64).collect();
    let mut dx = std::vec![0.0; x.len()];
    g.walk(|o, at| {
        if let Ok(at) = at {
            dx[at] += dy[o] / div[o] as f64;
        }
    });
    (y, dx)
}

/// Inputs drawn from a few values, so that windows hold ties, and (in odd rounds) some NaNs.
fn tie_prone<const N: usize>(rng: &mut SplitMix64, round: usize) -> SVector<f64, N> {
    SVector::from_fn(|_, _| {
        let r = rng.next_u64();
        if round % 2 == 1 && r.is_multiple_of(13) {
            f64::NAN
        } else {
            (r % 4) as f64 - 1.0
        }
    })
}

/// Forward (with and without the record) against [`reference_max`], on tie-prone inputs.
macro_rules! max_case {
    ($rng:expr; $c:literal, $h:literal, $w:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($pt:literal, $pb:literal, $pl:literal, $pr:literal)
     $mode:ident) => {{
    type L = pool!(MaxPool2d; $c, $h, $w; k($kh, $kw) s($sh, $sw) p($pt, $pb, $pl, $pr) $mode);
        let g = Geom {
            c: $c,
            h: $h,
            w: $w,
            k: ($kh, $kw),
            s: ($sh, $sw),
            p: ($pt, $pb, $pl, $pr),
            o: ($mode($h, $kh, $sh, $pt, $pb), $mode($w, $kw, $sw, $pl, $pr)),
        };
        for round in 0..10 {
            let x = tie_prone::<{ $c * $h * $w }>($rng, round);
            let (want, want_arg) = reference_max(x.as_slice(), g);
            let mut pool = L::default();
            let (mut y, mut y2, mut arg) = (SVector::zeros(), SVector::zeros(), [0u32; _]);
            pool.forward_train(&x, &mut y, &mut arg);
            pool.forward(&x, &mut y2);
            let same = |a: &[f64], b: &[f64]| {
                a.iter()
                    .zip(b)
                    .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
            };
            assert!(same(y.as_slice(), &want), "{g:?}: {y:?} vs {want:?}");
            assert!(same(y2.as_slice(), &want), "{g:?}");
            assert_eq!(&arg[..], &want_arg[..], "{g:?}");
        }
    }};
}

#[test]
fn max_pool_matches_the_reference_on_ties_and_nans() {
    let rng = &mut SplitMix64::new(41);
    // Tiled windows (the two-pass path), square and rectangular, with a leftover row.
    max_case!(rng; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0, 0, 0) floor);
    max_case!(rng; 3, 6, 6; k(3, 3) s(3, 3) p(0, 0, 0, 0) floor);
    max_case!(rng; 2, 4, 6; k(2, 3) s(2, 3) p(0, 0, 0, 0) floor);
    max_case!(rng; 2, 5, 4; k(2, 2) s(2, 2) p(0, 0, 0, 0) floor);
    max_case!(rng; 1, 3, 4; k(1, 4) s(1, 4) p(0, 0, 0, 0) floor);
    max_case!(rng; 6, 28, 28; k(2, 2) s(2, 2) p(0, 0, 0, 0) floor);
    max_case!(rng; 16, 10, 10; k(2, 2) s(2, 2) p(0, 0, 0, 0) floor);
    // Ceil mode where it changes nothing stays tiled.
    max_case!(rng; 2, 6, 6; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    // Window by window: overlap, gaps, leftover columns, padding.
    max_case!(rng; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1, 1, 1) floor);
    max_case!(rng; 2, 5, 5; k(2, 2) s(2, 2) p(0, 0, 0, 0) floor);
    max_case!(rng; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1, 1, 1) floor);
    max_case!(rng; 2, 7, 7; k(2, 2) s(3, 3) p(0, 0, 0, 0) floor);
    // Ceil mode with an overhanging last window: both axes, rows only, columns only.
    max_case!(rng; 2, 7, 7; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    max_case!(rng; 2, 5, 4; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    max_case!(rng; 2, 4, 5; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    max_case!(rng; 1, 9, 8; k(3, 3) s(2, 2) p(0, 0, 0, 0) ceil);
    // GoogLeNet's stem pool: 112 → 56.
    max_case!(rng; 1, 112, 112; k(3, 3) s(2, 2) p(0, 0, 0, 0) ceil);
    // Padding with ceil mode, and asymmetric padding in both modes.
    max_case!(rng; 2, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil);
    max_case!(rng; 2, 6, 5; k(3, 2) s(2, 2) p(1, 0, 0, 1) floor);
    max_case!(rng; 2, 5, 6; k(3, 2) s(2, 2) p(0, 1, 1, 0) ceil);
    max_case!(rng; 1, 8, 7; k(4, 3) s(3, 2) p(2, 1, 0, 1) ceil);
}

/// Forward and backward against [`reference_avg`], on random inputs.
macro_rules! avg_case {
    ($rng:expr; $c:literal, $h:literal, $w:literal; k($kh:literal, $kw:literal)
     s($sh:literal, $sw:literal) p($pt:literal, $pb:literal, $pl:literal, $pr:literal)
     $mode:ident) => {{
        avg_case!(@ $rng, true; $c, $h, $w; k($kh, $kw) s($sh, $sw) p($pt, $pb, $pl, $pr) $mode);
        avg_case!(@ $rng, false; $c, $h, $w; k($kh, $kw) s($sh, $sw) p($pt, $pb, $pl, $pr) $mode);
    }};
    (@ $rng:expr, $count_pad:literal; $c:literal, $h:literal, $w:literal;
     k($kh:literal, $kw:literal) s($sh:literal, $sw:literal)
     p($pt:literal, $pb:literal, $pl:literal, $pr:literal) $mode:ident) => {{
        type L = pool!(AvgPool2d; $c, $h, $w; k($kh, $kw) s($sh, $sw) p($pt, $pb, $pl, $pr)
            $mode, $count_pad);
        let g = Geom {
            c: $c,
            h: $h,
            w: $w,
            k: ($kh, $kw),
            s: ($sh, $sw),
            p: ($pt, $pb, $pl, $pr),
            o: ($mode($h, $kh, $sh, $pt, $pb), $mode($w, $kw, $sw, $pl, $pr)),
        };
        let x: <L as Layer<f64>>::Input = SVector::from_fn(|_, _| uniform_sym($rng, 1.0));
        let dy: <L as Layer<f64>>::Output = SVector::from_fn(|_, _| uniform_sym($rng, 1.0));
        let (want, want_dx) = reference_avg(x.as_slice(), dy.as_slice(), g, $count_pad);
        let pool = L::default();
        let (mut y, mut dx) = (SVector::zeros(), SVector::zeros());
        Layer::<f64>::forward(&pool, &x, &mut y);
        pool.backward(&x, &y, &NoRecord, &dy, Some(&mut dx), &mut NoParams);
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| (a - b).abs() <= 1e-12)
        };
        assert!(close(y.as_slice(), &want), "{g:?} count_pad {}: {y:?} vs {want:?}", $count_pad);
        assert!(close(dx.as_slice(), &want_dx), "{g:?} count_pad {}: {dx:?} vs {want_dx:?}", $count_pad);
    }};
}

#[test]
fn avg_pool_matches_the_reference() {
    let rng = &mut SplitMix64::new(43);
    // Windows inside the input: the constant divisor.
    avg_case!(rng; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0, 0, 0) floor);
    avg_case!(rng; 2, 5, 6; k(3, 2) s(1, 2) p(0, 0, 0, 0) floor);
    // Symmetric padding: the divisors differ near the border.
    avg_case!(rng; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1, 1, 1) floor);
    avg_case!(rng; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1, 1, 1) floor);
    // Ceil mode without padding: the overhang counts in neither divisor.
    avg_case!(rng; 2, 7, 7; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    avg_case!(rng; 1, 112, 112; k(3, 3) s(2, 2) p(0, 0, 0, 0) ceil);
    // Ceil mode with padding: the last windows hold padding and overhang, the divisors differ.
    avg_case!(rng; 2, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil);
    avg_case!(rng; 1, 7, 6; k(4, 3) s(3, 2) p(2, 2, 1, 1) ceil);
    // Asymmetric padding in both modes.
    avg_case!(rng; 2, 6, 5; k(3, 2) s(2, 2) p(1, 0, 0, 1) floor);
    avg_case!(rng; 2, 5, 6; k(3, 2) s(2, 2) p(0, 1, 1, 0) ceil);
    avg_case!(rng; 1, 8, 7; k(4, 3) s(3, 2) p(2, 1, 0, 1) ceil);
}

#[test]
fn tiled_path_only_where_windows_tile_the_input() {
    macro_rules! tiled {
        ($($spec:tt)*) => {
            <pool!(MaxPool2d; $($spec)*)>::TILED
        };
    }
    let cases = [
        // The two-pass kernels: no padding, stride = window, whole windows.
        (tiled!(6, 28, 28; k(2, 2) s(2, 2) p(0, 0)), true),
        (tiled!(16, 10, 10; k(2, 2) s(2, 2) p(0, 0)), true),
        // A leftover row in floor mode is never read; in ceil mode it is a window of its own.
        (tiled!(2, 5, 4; k(2, 2) s(2, 2) p(0, 0)), true),
        (tiled!(2, 5, 4; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil), false),
        (tiled!(2, 7, 7; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil), false),
        // Ceil mode where it adds no window.
        (tiled!(2, 6, 6; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil), true),
        // Padding (on one side is enough) or overlap: window by window.
        (tiled!(2, 6, 6; k(2, 2) s(2, 2) p(0, 0, 0, 1) floor), false),
        (tiled!(2, 6, 6; k(2, 2) s(1, 1) p(0, 0)), false),
    ];
    for (i, (tiled, want)) in cases.into_iter().enumerate() {
        assert_eq!(tiled, want, "case {i}");
    }
}

#[test]
fn no_parameters() {
    type Max = pool!(MaxPool2d; 1, 4, 4; k(2, 2) s(2, 2) p(0, 0));
    assert_eq!(<Max as Params<f32>>::TENSORS, 0);
    assert_eq!(<Max as Layer<f32>>::MACS, 0);
    assert_eq!(core::mem::size_of::<<Max as Layer<f32>>::Record>(), 4 * 4);
    type Avg = pool!(AvgPool2d; 1, 4, 4; k(2, 2) s(2, 2) p(1, 1, 1, 1) ceil, false);
    assert_eq!(<Avg as Params<f32>>::TENSORS, 0);
    assert_eq!(<Avg as Params<f32>>::LEN, 0);
}

#[test]
fn gradients_match_finite_differences() {
    // Random inputs in [−1, 1] have no ties, so the max is differentiable there.
    let mut rng = SplitMix64::new(17);
    macro_rules! check {
        ($($spec:tt)*) => {
            check_layer(&<pool!($($spec)*)>::default(), &mut rng)
        };
    }
    check!(MaxPool2d; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0));
    check!(MaxPool2d; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1));
    check!(MaxPool2d; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1));
    check!(MaxPool2d; 3, 4, 5; k(3, 2) s(1, 1) p(0, 1));
    check!(MaxPool2d; 2, 7, 7; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    check!(MaxPool2d; 2, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil);
    check!(MaxPool2d; 2, 6, 5; k(3, 2) s(2, 2) p(1, 0, 0, 1) floor);
    check!(MaxPool2d; 1, 8, 7; k(4, 3) s(3, 2) p(2, 1, 0, 1) ceil);
    check!(AvgPool2d; 2, 4, 4; k(2, 2) s(2, 2) p(0, 0));
    check!(AvgPool2d; 2, 5, 5; k(3, 3) s(2, 2) p(1, 1));
    check!(AvgPool2d; 1, 5, 6; k(2, 3) s(1, 2) p(1, 1));
    check!(AvgPool2d; 3, 4, 5; k(3, 2) s(1, 1) p(0, 1));
    check!(AvgPool2d; 2, 7, 7; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil);
    check!(AvgPool2d; 2, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil);
    check!(AvgPool2d; 2, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil, false);
    check!(AvgPool2d; 2, 6, 5; k(3, 2) s(2, 2) p(1, 0, 0, 1) floor, false);
    check!(AvgPool2d; 1, 8, 7; k(4, 3) s(3, 2) p(2, 1, 0, 1) ceil);
    check!(AvgPool2d; 1, 8, 7; k(4, 3) s(3, 2) p(2, 1, 0, 1) ceil, false);
}

#[test]
fn forward_and_backward_overwrite_their_outputs() {
    // Tiled (both kernels: `forward` and the recording `forward_train`) and window by window.
    check_overwrites(
        &<pool!(MaxPool2d; 6, 28, 28; k(2, 2) s(2, 2) p(0, 0))>::default(),
        1,
    );
    check_overwrites(
        &<pool!(MaxPool2d; 2, 7, 7; k(2, 2) s(2, 2) p(0, 0, 0, 0) ceil)>::default(),
        2,
    );
    check_overwrites(
        &<pool!(MaxPool2d; 2, 5, 5; k(3, 3) s(2, 2) p(1, 0, 1, 1) floor)>::default(),
        3,
    );
    check_overwrites(
        &<pool!(AvgPool2d; 6, 28, 28; k(2, 2) s(2, 2) p(0, 0))>::default(),
        4,
    );
    check_overwrites(
        &<pool!(AvgPool2d; 2, 4, 4; k(3, 3) s(2, 2) p(1, 1, 1, 1) ceil)>::default(),
        5,
    );
    // Gaps between windows: inputs that no window reads still get a zero gradient.
    check_overwrites(
        &<pool!(AvgPool2d; 2, 7, 7; k(2, 2) s(3, 3) p(0, 0, 0, 0) floor, false)>::default(),
        6,
    );
    check_overwrites(
        &<pool!(MaxPool2d; 2, 7, 7; k(2, 2) s(3, 3) p(0, 0))>::default(),
        7,
    );
}
