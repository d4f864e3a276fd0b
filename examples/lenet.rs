//! LeNet-5 trained on real MNIST digits: the flagship example.
//!
//! `cargo run --release --example lenet` trains on the bundled digits (first 8,000 to train,
//! last 2,000 to test), prints the summary, a progress bar per epoch, the test accuracy and a
//! confusion matrix, and saves the weights. `--load FILE` starts from saved weights (and only
//! evaluates them unless `--epochs` is given); `--data DIR` trains on the standard MNIST IDX
//! files instead. `--help` lists every flag.

mod common;

use stacknet::data::{load_network, save_network, Args, ConfusionMatrix, Mnist};
use stacknet::prelude::*;
use std::path::PathBuf;

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

fn main() {
    let defaults = Args {
        epochs: 30,
        batch: 32,
        lr: 0.02,
        seed: 1,
        save: Some(PathBuf::from("target/lenet.safetensors")),
        ..Args::default()
    };
    let about = "Trains LeNet-5 on MNIST digits and reports its test accuracy.";
    let mut args = Args::from_env_or_exit("lenet", about, defaults);
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

    print!("{}", LeNet5::<f32>::summary());
    let mut net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(args.seed)));
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
        // SGD with momentum 0.9 and a cosine schedule: the best of the setups that
        // `examples/lenet_setups.rs` compares (see the README).
        let schedule = Cosine::new(args.lr, args.epochs);
        let mut opt = Box::new(SgdMomentum::<f32, LeNet5<f32>>::new(args.lr, 0.9));
        common::fit(
            &mut *net,
            &mut *opt,
            |e| schedule.lr(e),
            &train,
            &test,
            &args,
        )
        // Diverged weights are not worth saving: stop with the reason and a failure status.
        .unwrap_or_else(|e| fail(e));
        if let Some(path) = &args.save {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(e));
            }
            save_network(path, &*net).unwrap_or_else(|e| fail(e));
            println!(
                "saved weights to {} (evaluate them with --load)",
                path.display()
            );
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
