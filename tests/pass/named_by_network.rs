//! Trainers and optimisers named by the network alone: their scalar defaults to the network's
//! (`Model::Scalar`), so `Trainer<Mlp>` is `Trainer<Mlp, f32>` and `Trainer<Mlp<f64>>` is
//! `Trainer<Mlp<f64>, f64>`, in type position as well as in expressions.
#![deny(warnings)]

use stacknet::prelude::*;

network! {
    struct Mlp(input: [4]) {
        fc1: dense(8), tanh,
        fc2: dense(3),
    }
}

network! {
    struct Normed(input: [4]) {
        fc1: dense(8), batch_norm, relu,
        fc2: dense(3),
    }
}

/// Compiles only if both are one type: the short name's default scalar is the long one's.
fn same_type<A>(_: &A, _: &A) {}

fn inputs() -> [SVector<f32, 4>; 4] {
    core::array::from_fn(|i| SVector::from_fn(|j, _| (i * 4 + j) as f32 * 0.1 - 0.7))
}

fn per_sample() {
    let mut net: Mlp = Mlp::new(&mut SplitMix64::new(1));
    let mut trainer: Trainer<Mlp> = Trainer::new();
    let mut adam: Adam<Mlp> = Adam::new(1e-2);
    let (xs, ts) = (inputs(), [0usize, 2, 1, 0]);
    let before = net.forward(&xs[0]);
    let loss: f32 = trainer
        .step(
            &mut net,
            &mut adam,
            &SoftmaxCrossEntropy,
            xs.iter().zip(&ts),
        )
        .unwrap();
    assert!(loss.is_finite());
    assert_eq!(adam.steps, 1);
    assert_ne!(net.forward(&xs[0]), before);
    same_type(&trainer, &Trainer::<Mlp, f32>::new());
    same_type(&adam, &Adam::<Mlp, f32>::new(1e-2));

    // Optimisers chosen at run time, behind one name.
    let mut opts: [Box<dyn Optimizer<Mlp>>; 3] = [
        Box::new(Sgd::new(0.1)),
        Box::new(SgdMomentum::<Mlp>::new(0.1, 0.9)),
        Box::new(AdamW::<Mlp>::new(1e-3)),
    ];
    for opt in &mut opts {
        opt.set_learning_rate(opt.learning_rate() / 2.0);
        trainer
            .step(
                &mut net,
                &mut **opt,
                &SoftmaxCrossEntropy,
                xs.iter().zip(&ts),
            )
            .unwrap();
    }
}

fn batches() {
    let mut net: Normed = Normed::new(&mut SplitMix64::new(2));
    let mut trainer: Box<BatchTrainer<Normed, 4>> = Box::new(BatchTrainer::new());
    let mut adam: Adam<Normed> = Adam::new(1e-2);
    let (xs, ts) = (inputs(), [0u8, 1, 2, 1]);
    let before = net.forward(&xs[0]);
    let loss: f32 = trainer
        .step(&mut net, &mut adam, &SoftmaxCrossEntropy, &xs, &ts)
        .unwrap();
    assert!(loss.is_finite());
    assert_ne!(net.forward(&xs[0]), before);
    same_type(&*trainer, &BatchTrainer::<Normed, 4, f32>::new());
}

fn in_f64() {
    let mut net = Mlp::<f64>::new(&mut SplitMix64::new(3));
    // `T` is inferred as f64 from the network: the loss and learning rate come back as f64.
    let mut trainer: Trainer<Mlp<f64>> = Trainer::new();
    let mut opt: Box<dyn Optimizer<Mlp<f64>>> = Box::new(Adam::<Mlp<f64>>::new(1e-2));
    let x = SVector::from([0.5, -0.2, 0.1, 0.9]);
    let loss: f64 = trainer
        .step(&mut net, &mut *opt, &SoftmaxCrossEntropy, [(&x, 1usize)])
        .unwrap();
    let lr: f64 = opt.learning_rate();
    assert!(loss.is_finite() && lr == 1e-2);
    same_type(&trainer, &Trainer::<Mlp<f64>, f64>::new());
    let scalar: <Mlp<f64> as Model>::Scalar = loss;
    let _ = scalar;
}

fn main() {
    per_sample();
    batches();
    in_f64();
}
