//! LeNet-5 trained on real MNIST digits: the flagship example.
//!
//! `cargo run --release --example lenet` trains on the bundled digits (first 8,000 to train,
//! last 2,000 to test) with the library's `Fit`, prints the summary, a progress bar per epoch,
//! the test accuracy and a confusion matrix, saves the weights, and draws the learning curves
//! and the confusion matrix as SVG under `target/`. `--load FILE` starts from saved weights (and only
//! evaluates them unless `--epochs` is given); `--data DIR` trains on the standard MNIST IDX
//! files instead. `--help` lists every flag.

mod common;

use stacknet::data::{load_network, save_network, Args, ConfusionMatrix, Mnist};
use stacknet::prelude::*;
use std::path::{Path, PathBuf};

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
        train.truncate(n);
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
        // `examples/lenet_setups.rs` compares (see the README). The test digits are watched
        // after every epoch, as the validation set, but nothing is chosen by them (no early
        // stopping), so the final test accuracy stays an honest estimate.
        let mut opt = Box::new(SgdMomentum::<LeNet5>::new(args.lr, 0.9));
        let history = Fit::new(args.epochs)
            .batch(args.batch)
            .seed(args.seed)
            .schedule(Cosine::new(args.lr, args.epochs))
            .validation(&test.inputs, &test.labels)
            .metric(Accuracy::default())
            // Each minibatch split across the cores: the same weights for any thread count.
            .run_threads(
                args.threads,
                &mut *net,
                &mut *opt,
                &SoftmaxCrossEntropy,
                &train.inputs,
                &train.labels,
            )
            // Diverged weights are not worth saving: stop with the reason and a failure status.
            .unwrap_or_else(|e| fail(e));
        eprintln!("trained in {:.1} s", history.seconds);
        let curves = Path::new("target/lenet-curves.svg");
        history.write_svg(curves).unwrap_or_else(|e| fail(e));
        println!("learning curves: {}", curves.display());
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
    let heat_map = Path::new("target/lenet-confusion.svg");
    confusion.write_svg(heat_map).unwrap_or_else(|e| fail(e));
    println!("confusion heat map: {}", heat_map.display());
    let eval = evaluate_classifier(&*net, &SoftmaxCrossEntropy, &test.inputs, &test.labels)
        .unwrap_or_else(|e| fail(e));
    println!("test loss: {:.4}", eval.loss);
    println!(
        "test accuracy: {:.2}% ({} digits)",
        100.0 * eval.accuracy().unwrap_or_default(),
        eval.samples
    );
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1)
}
