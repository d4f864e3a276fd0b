//! A small residual network on the bundled MNIST digits: the same split and training loop as
//! the LeNet example (`cargo run --release --example resnet`), two residual stages instead of
//! LeNet's plain stack, and a better test accuracy.
//!
//! The first stage keeps 8 channels at 28×28 with an identity shortcut; the second halves the
//! size and doubles the channels, so its shortcut is a strided 1×1 projection. Batch norm
//! after every convolution (inside the residuals too) trains through the minibatch path. `--help` lists
//! the flags (`--epochs`, `--lr`, `--seed`, `--limit`, `--save`, `--load`, `--data`).

mod common;

use stacknet::data::{load_network, save_network, Args, ConfusionMatrix, Mnist};
use stacknet::prelude::*;

network! {
    /// Two residual stages with batch norm for 28×28 grayscale digits.
    #[derive(Clone)]
    pub struct ResNet(input: [1, 28, 28]) {
        stem: conv2d(8, kernel = 3, padding = 1, bias = false), bn: batch_norm, relu,
        stage1: residual {
            conv1: conv2d(8, kernel = 3, padding = 1, bias = false), bn1: batch_norm, relu,
            conv2: conv2d(8, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
        },
        relu,
        max_pool2d(2),
        stage2: residual(shortcut = { conv2d(16, kernel = 1, stride = 2, bias = false), batch_norm }) {
            conv1: conv2d(16, kernel = 3, stride = 2, padding = 1, bias = false), bn1: batch_norm, relu,
            conv2: conv2d(16, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
        },
        relu,
        flatten,
        fc1: dense(64), relu, dropout(0.5),
        fc2: dense(10),
    }
}

fn main() {
    let defaults = Args {
        epochs: 20,
        batch: 32,
        lr: 0.02,
        seed: 1,
        ..Args::default()
    };
    let about = "Trains a small residual network on MNIST digits and reports its test accuracy.";
    let mut args = Args::from_env_or_exit("resnet", about, defaults);
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

    print!("{}", ResNet::<f32>::summary());
    let mut net = Box::new(ResNet::<f32>::new(&mut SplitMix64::new(args.seed)));
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
        let mut opt = Box::new(SgdMomentum::<ResNet>::new(args.lr, 0.9));
        // Batch norm needs whole minibatches: the batch path, 32 samples per step (a final
        // partial minibatch is dropped each epoch).
        let history = Fit::new(args.epochs)
            .batch(args.batch)
            .seed(args.seed)
            .schedule(Cosine::new(args.lr, args.epochs))
            .validation(&test.inputs, &test.labels)
            .metric(Accuracy::default())
            .run_batches::<32>(
                &mut *net,
                &mut *opt,
                &SoftmaxCrossEntropy,
                &train.inputs,
                &train.labels,
            )
            .unwrap_or_else(|e| fail(e));
        eprintln!("trained in {:.1} s", history.seconds);
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
