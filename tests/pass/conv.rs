//! Convolutional networks: LeNet-5 exactly as in DESIGN.md, a rectangular, strided, dilated,
//! padded convolution against a reference convolution written out here, and every pooling
//! layer inside whole networks whose gradients are checked in f64.
#![deny(warnings)]

use stacknet::prelude::*;
use stacknet::runtime::gradcheck::check_network;
use stacknet::runtime::Shape;

network! {
    /// LeNet-5 for 28×28 grayscale digits.
    #[derive(Clone)]
    pub struct LeNet5(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, padding = 2),
        relu,
        max_pool2d(2),
        conv2: conv2d(16, kernel = 5),
        relu,
        max_pool2d(2),
        flatten,
        fc1: dense(120), relu,
        fc2: dense(84), relu,
        fc3: dense(10),
    }
}

network! {
    /// Every axis different: h and w see different kernels, strides, paddings, dilations.
    #[derive(Clone)]
    struct Odd(input: [2, 5, 7]) {
        c: conv2d(3, kernel = (2, 3), stride = (1, 2), padding = (1, 0), dilation = (2, 1), bias = false),
    }
}

network! {
    #[derive(Clone)]
    struct AvgPools(input: [2, 6, 6]) {
        conv2d(3, kernel = 3, padding = same), tanh,
        max_pool2d(2, stride = 1, padding = 1),
        avg_pool2d((3, 2), stride = (2, 1), padding = (1, 0)),
        conv2d(4, kernel = 3, dilation = 2, padding = 2), sigmoid,
        global_avg_pool2d,
        dense(2),
    }
}

network! {
    #[derive(Clone)]
    struct MaxPools(input: [1, 5, 5]) {
        conv2d(2, kernel = (3, 1), stride = (2, 1)), leaky_relu(0.1),
        global_max_pool2d,
        dense(3),
    }
}

fn lenet() {
    let net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    assert_eq!(LeNet5::<f32>::PARAMS, 61_706);
    let rows: Vec<(&str, Shape)> = LeNet5::<f32>::LAYERS
        .iter()
        .map(|r| (r.name, r.output))
        .collect();
    assert_eq!(
        rows,
        [
            ("conv1", Shape::image(6, 28, 28)),
            ("relu_1", Shape::image(6, 28, 28)),
            ("max_pool2d_2", Shape::image(6, 14, 14)),
            ("conv2", Shape::image(16, 10, 10)),
            ("relu_4", Shape::image(16, 10, 10)),
            ("max_pool2d_5", Shape::image(16, 5, 5)),
            ("flatten_6", Shape::vector(400)),
            ("fc1", Shape::vector(120)),
            ("relu_8", Shape::vector(120)),
            ("fc2", Shape::vector(84)),
            ("relu_10", Shape::vector(84)),
            ("fc3", Shape::vector(10)),
        ]
    );
    // One forward is 416,520 multiply-adds in the convolutions and dense layers (DESIGN.md).
    let macs: usize = LeNet5::<f32>::LAYERS
        .iter()
        .filter(|r| matches!(r.kind, "conv2d" | "dense"))
        .map(|r| r.macs)
        .sum();
    assert_eq!(macs, 416_520);
    let names: Vec<String> = (0..LeNet5::<f32>::TENSORS)
        .map(|i| LeNet5::<f32>::tensor_info(i).to_string())
        .collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias"
        ]
    );
    assert_eq!(
        LeNet5::<f32>::tensor_info(0).shape,
        Shape::rank4(6, 1, 5, 5)
    );
    let x = SVector::<f32, 784>::from_fn(|i, _| (i % 17) as f32 / 17.0);
    assert!(net.forward(&x).iter().all(|v| v.is_finite()));
    assert!(LeNet5::<f32>::summary().to_string().contains("61,706"));
}

/// y[o, i, j] = Σ W[o, c, a, b] · x[c, i·sh − ph + a·dh, j·sw − pw + b·dw] (zero outside).
fn odd_reference(w: &[f64], x: &[f64]) -> Vec<f64> {
    let (c_in, h, wd, oc, kh, kw, sh, sw, ph, pw, dh, dw) = (2, 5, 7, 3, 2, 3, 1, 2, 1, 0, 2, 1);
    let oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    let ow = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    let mut y = vec![0.0; oc * oh * ow];
    for o in 0..oc {
        for i in 0..oh {
            for j in 0..ow {
                let mut sum = 0.0;
                for c in 0..c_in {
                    for a in 0..kh {
                        for b in 0..kw {
                            let (r, q) = (
                                (i * sh + a * dh) as isize - ph as isize,
                                (j * sw + b * dw) as isize - pw as isize,
                            );
                            if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < wd {
                                sum += w[((o * c_in + c) * kh + a) * kw + b]
                                    * x[(c * h + r as usize) * wd + q as usize];
                            }
                        }
                    }
                }
                y[(o * oh + i) * ow + j] = sum;
            }
        }
    }
    y
}

fn odd() {
    let mut net = Odd::<f64>::new(&mut SplitMix64::new(2));
    // h: (5 + 2 − 2·1 − 1)/1 + 1 = 5; w: (7 − 2 − 1)/2 + 1 = 3.
    assert_eq!(Odd::<f64>::OUTPUT_SHAPE, Shape::image(3, 5, 3));
    assert_eq!(Odd::<f64>::PARAMS, 3 * 2 * 2 * 3);
    let w: Vec<f64> = (0..Odd::<f64>::PARAMS)
        .map(|i| ((i * 7) % 11) as f64 / 5.0 - 1.0)
        .collect();
    net.copy_params_from(&w).unwrap();
    let x: Vec<f64> = (0..70).map(|i| ((i * 13) % 9) as f64 / 4.0 - 1.0).collect();
    let y = net.forward(&SVector::from_column_slice(&x));
    let want = odd_reference(&w, &x);
    assert_eq!(y.len(), want.len());
    for (k, (y, want)) in y.iter().zip(&want).enumerate() {
        assert!((y - want).abs() < 1e-12, "output {k}: {y} vs {want}");
    }
    let check = check_network(
        &net,
        &SVector::from_column_slice(&x),
        &SVector::zeros(),
        &Mse,
        50,
        |_, _| {},
    );
    assert!(check.passes(1e-6), "{check:?}");
}

fn pools() {
    let rows: Vec<Shape> = AvgPools::<f64>::LAYERS.iter().map(|r| r.output).collect();
    // same: 6×6; max 2, stride 1, padding 1: 7×7; avg (3, 2), stride (2, 1), padding (1, 0):
    // (7 + 2 − 3)/2 + 1 = 4, (7 − 2)/1 + 1 = 6; conv k̂ = 5, padding 2: 4×6.
    assert_eq!(
        rows,
        [
            Shape::image(3, 6, 6),
            Shape::image(3, 6, 6),
            Shape::image(3, 7, 7),
            Shape::image(3, 4, 6),
            Shape::image(4, 4, 6),
            Shape::image(4, 4, 6),
            Shape::vector(4),
            Shape::vector(2),
        ]
    );
    let net = AvgPools::<f64>::new(&mut SplitMix64::new(3));
    let x = SVector::<f64, 72>::from_fn(|i, _| ((i * 29) % 31) as f64 / 15.0 - 1.0);
    let check = check_network(&net, &x, &1, &SoftmaxCrossEntropy, 50, |_, _| {});
    assert!(check.passes(1e-6), "{check:?}");

    // (5 − 3)/2 + 1 = 2 rows, 5 columns, then one maximum per channel.
    assert_eq!(MaxPools::<f64>::LAYERS[0].output, Shape::image(2, 2, 5));
    let net = MaxPools::<f64>::new(&mut SplitMix64::new(4));
    let x = SVector::<f64, 25>::from_fn(|i, _| ((i * 11) % 25) as f64 / 12.0 - 1.0);
    let check = check_network(&net, &x, &2, &SoftmaxCrossEntropy, 50, |_, _| {});
    assert!(check.passes(1e-6), "{check:?}");
}

fn main() {
    lenet();
    odd();
    pools();
}
