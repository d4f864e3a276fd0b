//! Training paths of generated networks: dropout (identity at inference, masked in training,
//! gradients through the mask), and the minibatch path giving the per-sample gradients.
#![deny(warnings)]

use stacknet::prelude::*;
use stacknet::runtime::gradcheck::check_network;

network! {
    #[derive(Clone)]
    struct Dropped(input: [6]) {
        fc: dense(200), relu,
        drop: dropout(0.25),
        out: dense(3),
    }
}

network! {
    #[derive(Clone)]
    struct Small(input: [1, 2, 2]) {
        flatten,
        a: dense(3), tanh,
        b: dense(2),
    }
}

fn dropout_behaves() {
    let mut net = Dropped::<f64>::new(&mut SplitMix64::new(5));
    assert_eq!(Dropped::<f64>::LAYERS[2].kind, "dropout");
    let x = SVector::from([0.5, -0.2, 0.9, 0.1, -0.7, 0.3]);
    // Inference skips dropout: the output is the dense stack's.
    let mut hidden = SVector::<f64, 200>::zeros();
    stacknet::runtime::Layer::forward(&net.fc, &x, &mut hidden);
    let relu = hidden.map(|v| v.max(0.0));
    let mut want = SVector::<f64, 3>::zeros();
    stacknet::runtime::Layer::forward(&net.out, &relu, &mut want);
    assert!((net.forward(&x) - want).norm() < 1e-12);

    // Training: the network's dropout field zeroes about p of its inputs and scales the
    // others by 1/(1 − p) = 4/3.
    let drop_in = relu;
    let mut drop_out = SVector::<f64, 200>::zeros();
    let mut mask = Zeros::zeros();
    stacknet::runtime::Layer::forward_train(&mut net.drop, &drop_in, &mut drop_out, &mut mask);
    let mut rec = <Dropped<f64> as Network<f64>>::Record::zeros();
    net.forward_train(&x, &mut rec);
    assert!(Dropped::<f64>::output(&rec).iter().all(|v| v.is_finite()));
    let active = drop_in.iter().filter(|v| **v > 0.0).count();
    let dropped = drop_in
        .iter()
        .zip(drop_out.iter())
        .filter(|(i, o)| **i > 0.0 && **o == 0.0)
        .count();
    let kept_scaled = drop_in
        .iter()
        .zip(drop_out.iter())
        .filter(|(i, o)| **i > 0.0 && **o != 0.0)
        .all(|(i, o)| (o / i - 4.0 / 3.0).abs() < 1e-12);
    assert!(kept_scaled);
    let rate = dropped as f64 / active as f64;
    assert!((rate - 0.25).abs() < 0.12, "dropped {dropped} of {active}");

    // Gradients through the mask (each check repeats the clone's mask).
    let check = check_network(&net, &x, &2, &SoftmaxCrossEntropy, 50, |_, _| {});
    assert!(check.passes(1e-6), "{check:?}");
}

fn batch_path_matches_per_sample() {
    let net = Small::<f64>::new(&mut SplitMix64::new(6));
    assert!(!<Small<f64> as Network<f64>>::NEEDS_BATCH);
    let xs: [SVector<f64, 4>; 3] =
        core::array::from_fn(|i| SVector::from([0.3 * i as f64, -0.5, 1.0, 0.2 - 0.1 * i as f64]));
    let ts: [usize; 3] = [0, 1, 1];
    let (mut a, mut b) = (net.clone(), net.clone());
    let mut one = Trainer::<Small<f64>>::new();
    let mut all = BatchTrainer::<Small<f64>, 3>::new();
    let la = one.step(
        &mut a,
        &mut Sgd::new(0.1),
        &SoftmaxCrossEntropy,
        xs.iter().zip(ts.iter()),
    ).unwrap();
    let lb = all.step(&mut b, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &xs, &ts).unwrap();
    assert!((la - lb).abs() < 1e-14, "{la} vs {lb}");
    let mut pa = vec![0.0; Small::<f64>::PARAMS];
    let mut pb = vec![0.0; Small::<f64>::PARAMS];
    a.copy_params_to(&mut pa).unwrap();
    b.copy_params_to(&mut pb).unwrap();
    assert!(pa.iter().zip(&pb).all(|(x, y)| (x - y).abs() < 1e-14));
    // The step moved the parameters.
    let mut p0 = vec![0.0; Small::<f64>::PARAMS];
    net.copy_params_to(&mut p0).unwrap();
    assert!(p0.iter().zip(&pa).any(|(x, y)| x != y));
}

fn main() {
    dropout_behaves();
    batch_path_matches_per_sample();
}
