//! Tests of the network written by hand exactly as `network!` expands it (`common/mod.rs`),
//! so the runtime's contract is tested without the macro, and the expansion has a reference.
//!
//! ```text
//! network! {
//!     pub struct Tiny(input: [3]) {
//!         hidden: dense(4), tanh,
//!         out: dense(2),
//!     }
//! }
//! ```

mod common;

use common::Tiny;
use stacknet_runtime::gradcheck::check_network;
use stacknet_runtime::loss::{Mse, SoftmaxCrossEntropy};
use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::optim::Sgd;
use stacknet_runtime::rng::SplitMix64;
use stacknet_runtime::train::{BatchTrainer, Trainer};
use stacknet_runtime::{Network, Params};

#[test]
fn whole_network_gradients_match_finite_differences() {
    let net = Tiny::<f64>::new(&mut SplitMix64::new(1));
    let x = SVector::from([0.3, -0.8, 0.5]);
    let mut names = Vec::new();
    let check = check_network(&net, &x, &1, &SoftmaxCrossEntropy, 100, |info, err| {
        names.push(format!("{info}"));
        assert!(err < 1e-6, "{info}: {err}");
    });
    assert!(check.passes(1e-6), "{check:?}");
    assert_eq!(
        names,
        ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    );
}

#[test]
fn flat_parameter_copy_follows_pytorch_order() {
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(2));
    assert_eq!(Tiny::<f64>::PARAMS, 3 * 4 + 4 + 4 * 2 + 2);
    let values: Vec<f64> = (0..Tiny::<f64>::PARAMS).map(|i| i as f64).collect();
    net.copy_params_from(&values).unwrap();
    // hidden.weight is [4, 3] row-major: W[1][2] is the 6th value.
    assert_eq!(net.hidden.weight[(2, 1)], 5.0);
    assert_eq!(net.hidden.bias[0], 12.0);
    assert_eq!(net.out.bias[1], 25.0);
    let mut back = vec![0.0; Tiny::<f64>::PARAMS];
    net.copy_params_to(&mut back).unwrap();
    assert_eq!(back, values);
    assert!(net.copy_params_from(&values[1..]).is_err());
    assert_eq!(net.hidden.bias[0], 12.0, "a failed copy changes nothing");
}

#[test]
fn trains_a_linear_target_with_sgd() {
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(3));
    let xs: Vec<SVector<f64, 3>> = (0..16)
        .map(|i| SVector::from([i as f64 / 16.0, 0.5, -(i as f64) / 32.0]))
        .collect();
    let ts: Vec<SVector<f64, 2>> = xs
        .iter()
        .map(|x| SVector::from([x[0] - x[2], 0.5 * x[1]]))
        .collect();
    let mut trainer = Trainer::<Tiny<f64>>::new();
    let mut opt = Sgd::new(0.5);
    let first = trainer
        .step(&mut net, &mut opt, &Mse, xs.iter().zip(ts.iter()))
        .unwrap();
    let mut last = first;
    for _ in 0..500 {
        last = trainer
            .step(&mut net, &mut opt, &Mse, xs.iter().zip(ts.iter()))
            .unwrap();
    }
    assert!(last < first / 20.0 && last < 1e-3, "loss {first} → {last}");
}

#[test]
fn batch_path_gives_the_per_sample_gradients() {
    let net = Tiny::<f64>::new(&mut SplitMix64::new(4));
    let xs: [SVector<f64, 3>; 5] =
        core::array::from_fn(|i| SVector::from([i as f64 * 0.3, -0.2, 1.0 - i as f64 * 0.1]));
    let ts: [usize; 5] = [0, 1, 1, 0, 1];
    let (mut a, mut b) = (net.clone(), net.clone());
    let mut one = Trainer::<Tiny<f64>>::new();
    let mut all = BatchTrainer::<Tiny<f64>, 5>::new();
    let la = one
        .step(
            &mut a,
            &mut Sgd::new(0.1),
            &SoftmaxCrossEntropy,
            xs.iter().zip(ts.iter()),
        )
        .unwrap();
    let lb = all
        .step(&mut b, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &xs, &ts)
        .unwrap();
    assert!((la - lb).abs() < 1e-14);
    for i in 0..Tiny::<f64>::TENSORS {
        for (ga, gb) in one.grad.tensor(i).iter().zip(all.grad.tensor(i)) {
            assert!((ga - gb).abs() < 1e-14, "tensor {i}: {ga} vs {gb}");
        }
    }
}
