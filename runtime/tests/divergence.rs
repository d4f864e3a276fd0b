//! Divergence is never silent: a step whose loss or gradient is not finite returns an error
//! and leaves the network as it was, for both trainers.

mod common;

use common::{flat, regression_data, Tiny};
use stacknet_runtime::loss::Mse;
use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::optim::Sgd;
use stacknet_runtime::rng::SplitMix64;
use stacknet_runtime::train::{BatchTrainer, Diverged, Trainer};

type Net = Tiny<f64>;

#[test]
fn a_huge_learning_rate_stops_with_an_error_and_keeps_the_last_finite_network() {
    let mut net = Net::new(&mut SplitMix64::new(1));
    let (xs, ts) = regression_data();
    let mut trainer = Trainer::<Net>::new();
    let mut opt = Sgd::new(1e200);
    let mut failed = None;
    for step in 0..20 {
        let before = flat(&net);
        match trainer.step(&mut net, &mut opt, &Mse, xs.iter().zip(&ts)) {
            Ok(loss) => assert!(loss.is_finite(), "step {step}: Ok({loss})"),
            Err(e) => {
                // The failing step changed nothing.
                assert_eq!(flat(&net), before, "step {step}");
                failed = Some(e);
                break;
            }
        }
    }
    let e = failed.expect("SGD at lr 1e200 diverges within 20 steps");
    let text = e.to_string();
    assert!(text.starts_with("training diverged: "), "{text}");
    assert!(text.contains("; lower the learning rate"), "{text}");
}

#[test]
fn a_nan_input_is_a_non_finite_loss() {
    let mut net = Net::new(&mut SplitMix64::new(2));
    let before = flat(&net);
    let x = SVector::from([0.1, f64::NAN, 0.3]);
    let t = SVector::from([0.0, 0.0]);
    let mut trainer = Trainer::<Net>::new();
    let got = trainer.step(&mut net, &mut Sgd::new(0.1), &Mse, [(&x, &t)]);
    match got {
        Err(Diverged::Loss(l)) => assert!(l.is_nan()),
        other => panic!("expected a NaN loss, got {other:?}"),
    }
    assert_eq!(flat(&net), before);
}

#[test]
fn a_non_finite_gradient_with_a_finite_loss_is_caught() {
    // The hook poisons one gradient value: the loss stays finite, the update must not run.
    let mut net = Net::new(&mut SplitMix64::new(3));
    let before = flat(&net);
    let (xs, ts) = regression_data();
    let mut trainer = Trainer::<Net>::new();
    let got = trainer.step_with(
        &mut net,
        &mut Sgd::new(0.1),
        &Mse,
        xs.iter().zip(&ts),
        |_, grad| {
            use stacknet_runtime::Params;
            grad.tensor_mut(2)[1] = f64::INFINITY;
            0.0
        },
    );
    match got {
        Err(e @ Diverged::Gradient { value, .. }) => {
            assert_eq!(value, f64::INFINITY);
            assert!(e.to_string().contains("`out.weight`"), "{e}");
        }
        other => panic!("expected a non-finite gradient, got {other:?}"),
    }
    assert_eq!(flat(&net), before);
}

#[test]
fn the_batch_trainer_reports_divergence_too() {
    let mut net = Net::new(&mut SplitMix64::new(4));
    let (xs, ts) = regression_data();
    let xs: [SVector<f64, 3>; 4] = core::array::from_fn(|i| xs[i]);
    let mut ts: [SVector<f64, 2>; 4] = core::array::from_fn(|i| ts[i]);
    let mut trainer = BatchTrainer::<Net, 4>::new();
    let mut opt = Sgd::new(0.1);
    assert!(trainer.step(&mut net, &mut opt, &Mse, &xs, &ts).is_ok());
    ts[2][0] = f64::NAN;
    let before = flat(&net);
    let got = trainer.step(&mut net, &mut opt, &Mse, &xs, &ts);
    assert!(
        matches!(got, Err(Diverged::Loss(l)) if l.is_nan()),
        "{got:?}"
    );
    assert_eq!(flat(&net), before);
}
