//! A multilayer perceptron on the bundled MNIST digits (first 8,000 to train, last 2,000 to
//! test).
//!
//! `cargo run --release --example mnist_mlp [-- --epochs N --batch N --lr X --seed N]`

mod common;

use stacknet::data::{Args, Mnist};
use stacknet::prelude::*;

network! {
    /// A digit classifier on flattened 28×28 images.
    pub struct Mlp(input: [1, 28, 28]) {
        flatten,
        hidden: dense(128), relu,
        out: dense(10),
    }
}

fn main() {
    let defaults = Args {
        epochs: 20,
        batch: 32,
        lr: 0.1,
        seed: 1,
        ..Args::default()
    };
    let args = Args::from_env_or_exit("mnist_mlp", "Trains an MLP on MNIST digits.", defaults);
    let mnist = match &args.data {
        Some(dir) => Mnist::load_dir(dir),
        None => Mnist::load_bundled(Mnist::bundled_dir()),
    };
    let mnist = mnist.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    let (mut train, test) = (
        common::Samples::of(&mnist.train),
        common::Samples::of(&mnist.test),
    );
    if let Some(n) = args.limit {
        train.truncate(n);
    }

    print!("{}", Mlp::<f32>::summary());
    println!(
        "training on {} digits, testing on {}",
        train.len(),
        test.len()
    );
    let mut net = Mlp::<f32>::new(&mut SplitMix64::new(args.seed));
    // SGD with momentum 0.9 and a cosine decay of the learning rate.
    let mut opt = Box::new(SgdMomentum::<Mlp>::new(args.lr, 0.9));
    let history = Fit::new(args.epochs)
        .batch(args.batch)
        .seed(args.seed)
        .schedule(Cosine::new(args.lr, args.epochs))
        .validation(&test.inputs, &test.labels)
        .metric(Accuracy::default())
        .run(
            &mut net,
            &mut *opt,
            &SoftmaxCrossEntropy,
            &train.inputs,
            &train.labels,
        )
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1)
        });
    eprintln!("trained in {:.1} s", history.seconds);
    let eval = evaluate_classifier(&net, &SoftmaxCrossEntropy, &test.inputs, &test.labels)
        .expect("the test digits are not empty");
    println!(
        "test accuracy: {:.2}%",
        100.0 * eval.accuracy().unwrap_or_default()
    );
}
