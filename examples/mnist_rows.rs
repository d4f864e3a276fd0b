//! The bundled MNIST digits read by an LSTM as 28 steps of 28 pixels, one image row per step
//! (`cargo run --release --example mnist_rows`): the sequence model of the benchmark.
//!
//! The same split as the LeNet example (first 8,000 digits to train, last 2,000 to test). An
//! image stored row by row is already a `[28, 28]` sequence in stacknet's step-major layout,
//! so the inputs are the LeNet example's unchanged. Adam with clipping of the gradient norm,
//! as recurrent networks want. `--help` lists the flags.

mod common;

use stacknet::data::{
    load_network, save_network, Args, ConfusionMatrix, Minibatches, Mnist, Progress,
};
use stacknet::prelude::*;
use stacknet::runtime::regularize::clip_grad_norm;
use std::time::Instant;

network! {
    /// An LSTM over the 28 rows of a digit, its last hidden state classified by a dense layer.
    pub struct MnistRows(input: [28, 28]) {
        lstm: lstm(128),
        fc: dense(10),
    }
}

fn main() {
    let defaults = Args {
        epochs: 12,
        batch: 32,
        lr: 0.002,
        seed: 1,
        ..Args::default()
    };
    let about = "Trains an LSTM on MNIST digits read row by row and reports its test accuracy.";
    let mut args = Args::from_env_or_exit("mnist_rows", about, defaults);
    if args.load.is_some() && !std::env::args().any(|a| a.starts_with("--epochs")) {
        args.epochs = 0;
    }
    let mnist = match &args.data {
        Some(dir) => Mnist::load_dir(dir),
        None => Mnist::load_bundled(Mnist::bundled_dir()),
    };
    let mnist = mnist.unwrap_or_else(|e| fail(e));
    let (mut train, test) = (
        common::Samples::of(&mnist.train),
        common::Samples::of(&mnist.test),
    );
    if let Some(n) = args.limit {
        train.inputs.truncate(n);
        train.labels.truncate(n);
    }

    print!("{}", MnistRows::<f32>::summary());
    let mut net = Box::new(MnistRows::<f32>::new(&mut SplitMix64::new(args.seed)));
    if let Some(path) = &args.load {
        load_network(path, &mut *net).unwrap_or_else(|e| fail(e));
        println!("loaded weights from {}", path.display());
    }
    if args.epochs > 0 {
        println!(
            "training on {} digits, testing on {}",
            train.len(),
            test.len()
        );
        let schedule = Cosine::new(args.lr, args.epochs);
        let mut opt = Box::new(Adam::<MnistRows>::new(args.lr));
        let mut trainer: Box<Trainer<MnistRows>> = Box::new(Trainer::new());
        let mut batches = Minibatches::new(train.len(), args.batch, args.seed);
        let mut progress = Progress::new(args.epochs, train.len());
        let started = Instant::now();
        for epoch in 0..args.epochs {
            opt.set_learning_rate(schedule.lr(epoch));
            progress.start_epoch(epoch);
            for batch in batches.epoch() {
                let pairs = batch.iter().map(|&i| (&train.inputs[i], &train.labels[i]));
                let loss = trainer
                    .step_with(
                        &mut net,
                        &mut *opt,
                        &SoftmaxCrossEntropy,
                        pairs,
                        |_, grad| {
                            clip_grad_norm(grad, 1.0);
                            0.0
                        },
                    )
                    // Diverged weights are not worth saving: stop with the reason.
                    .unwrap_or_else(|e| fail(e));
                progress.update(batch.len(), loss as f64);
            }
            let acc = accuracy(&*net, test.pairs());
            progress.finish_epoch_with(format_args!("test accuracy {:.2}%", 100.0 * acc));
        }
        eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
        if let Some(path) = &args.save {
            save_network(path, &*net).unwrap_or_else(|e| fail(e));
            println!("saved weights to {}", path.display());
        }
    }
    let confusion = ConfusionMatrix::<10>::of_network(&*net, test.pairs());
    println!("\n{confusion}");
    println!(
        "test accuracy: {:.2}% ({} digits)",
        100.0 * confusion.accuracy(),
        test.len()
    );
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1)
}
