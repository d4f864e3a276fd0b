//! Dense networks through the macro: forward against a reference written out in this test,
//! parameter order and names, gradients against finite differences (f64), a training step.
#![deny(warnings)]

use stacknet::prelude::*;
use stacknet::runtime::gradcheck::check_network;

network! {
    /// The runtime's hand-expanded `Tiny`, now generated.
    #[derive(Clone, Debug)]
    pub struct Tiny(input: [3]) {
        hidden: dense(4), tanh,
        out: dense(2),
    }
}

network! {
    /// An image input flattened, every activation, bias off, positional and named arguments.
    #[derive(Clone)]
    struct Mixed(input: [2, 2, 2]) {
        flatten,
        a: dense(5, bias = false), sigmoid,
        b: dense(4, true), leaky_relu(slope = 0.2),
        c: dense(units = 3), relu,
        dense(3), softmax,
    }
}

/// y = W x + b with W read row-major `[out, in]` from `params` (PyTorch's layout).
fn linear(params: &mut &[f64], x: &[f64], outputs: usize, bias: bool) -> Vec<f64> {
    let (w, rest) = params.split_at(outputs * x.len());
    let (b, rest) = if bias {
        rest.split_at(outputs)
    } else {
        rest.split_at(0)
    };
    *params = rest;
    (0..outputs)
        .map(|o| {
            let dot: f64 = x
                .iter()
                .enumerate()
                .map(|(i, xi)| w[o * x.len() + i] * xi)
                .sum();
            dot + b.get(o).copied().unwrap_or(0.0)
        })
        .collect()
}

fn mixed_reference(mut params: &[f64], x: &[f64]) -> Vec<f64> {
    let p = &mut params;
    let a: Vec<f64> = linear(p, x, 5, false)
        .iter()
        .map(|v| 1.0 / (1.0 + (-v).exp()))
        .collect();
    let b: Vec<f64> = linear(p, &a, 4, true)
        .iter()
        .map(|&v| if v > 0.0 { v } else { 0.2 * v })
        .collect();
    let c: Vec<f64> = linear(p, &b, 3, true).iter().map(|&v| v.max(0.0)).collect();
    let z = linear(p, &c, 3, true);
    let m = z.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn tiny_checks() {
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(1));
    assert_eq!(Tiny::<f64>::PARAMS, 3 * 4 + 4 + 4 * 2 + 2);
    assert_eq!(Tiny::<f32>::PARAM_BYTES, 26 * 4);
    assert_eq!(
        Tiny::<f64>::INPUT_SHAPE,
        stacknet::runtime::Shape::vector(3)
    );
    assert_eq!(
        Tiny::<f64>::OUTPUT_SHAPE,
        stacknet::runtime::Shape::vector(2)
    );
    let rows: Vec<(&str, &str)> = Tiny::<f64>::LAYERS
        .iter()
        .map(|r| (r.name, r.kind))
        .collect();
    assert_eq!(
        rows,
        [("hidden", "dense"), ("tanh_1", "tanh"), ("out", "dense")]
    );

    // Known parameters: 0.1·i − 1 in order; forward by hand with the reference.
    let params: Vec<f64> = (0..Tiny::<f64>::PARAMS)
        .map(|i| 0.1 * i as f64 - 1.0)
        .collect();
    net.copy_params_from(&params).unwrap();
    let x = [0.3, -0.8, 0.5];
    let mut p = params.as_slice();
    let h: Vec<f64> = linear(&mut p, &x, 4, true)
        .iter()
        .map(|v| v.tanh())
        .collect();
    let want = linear(&mut p, &h, 2, true);
    let y = net.forward(&SVector::from(x));
    for (y, want) in y.iter().zip(&want) {
        assert!((y - want).abs() < 1e-12, "{y} vs {want}");
    }

    let mut names = Vec::new();
    let check = check_network(
        &net,
        &SVector::from(x),
        &1,
        &SoftmaxCrossEntropy,
        100,
        |info, err| {
            names.push(info.to_string());
            assert!(err < 1e-6, "{info}: {err}");
        },
    );
    assert!(check.passes(1e-6), "{check:?}");
    assert_eq!(
        names,
        ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    );

    // A few SGD steps on one sample, from a fresh initialisation, reduce its loss.
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(4));
    let mut trainer = Trainer::<Tiny<f64>>::new();
    let mut opt = Sgd::new(0.1);
    let (x, t) = (SVector::from(x), SVector::from([1.0, -1.0]));
    let first = trainer.step(&mut net, &mut opt, &Mse, [(&x, &t)]).unwrap();
    let mut last = first;
    for _ in 0..50 {
        last = trainer.step(&mut net, &mut opt, &Mse, [(&x, &t)]).unwrap();
    }
    assert!(last < first / 10.0, "loss {first} → {last}");
}

fn mixed_checks() {
    let mut net = Mixed::<f64>::new(&mut SplitMix64::new(2));
    assert_eq!(
        Mixed::<f64>::PARAMS,
        8 * 5 + (5 * 4 + 4) + (4 * 3 + 3) + (3 * 3 + 3)
    );
    let names: Vec<&str> = Mixed::<f64>::LAYERS.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "flatten_0",
            "a",
            "sigmoid_2",
            "b",
            "leaky_relu_4",
            "c",
            "relu_6",
            "dense_7",
            "softmax_8"
        ]
    );
    assert_eq!(
        Mixed::<f64>::INPUT_SHAPE,
        stacknet::runtime::Shape::image(2, 2, 2)
    );
    assert_eq!(
        Mixed::<f64>::LAYERS[0].output,
        stacknet::runtime::Shape::vector(8)
    );

    // Parameters chosen so every ReLU and leaky ReLU sees both signs.
    let params: Vec<f64> = (0..Mixed::<f64>::PARAMS)
        .map(|i| ((i * 37 % 23) as f64 - 11.0) / 10.0)
        .collect();
    net.copy_params_from(&params).unwrap();
    let x = [0.5, -1.0, 0.25, 2.0, -0.75, 1.5, 0.0, -0.3];
    let y = net.forward(&SVector::from(x));
    let want = mixed_reference(&params, &x);
    for (y, want) in y.iter().zip(&want) {
        assert!((y - want).abs() < 1e-12, "{y} vs {want}");
    }

    let target = SVector::from([0.2, 0.3, 0.5]);
    let check = check_network(&net, &SVector::from(x), &target, &Mse, 100, |_, _| {});
    assert!(check.passes(1e-6), "{check:?}");
}

fn main() {
    tiny_checks();
    mixed_checks();
    // f32 is the default scalar.
    let net: Tiny = Tiny::new(&mut SplitMix64::new(3));
    let y: SVector<f32, 2> = net.forward(&SVector::from([1.0, 2.0, 3.0]));
    assert!(y.iter().all(|v| v.is_finite()));
    let _ = format!("{:?}", net.clone());
}
