//! Compares training setups for LeNet-5 on the bundled digits, to choose the flagship
//! example's default: plain SGD, SGD with momentum, RMSProp, Adam and AdamW, with and without a
//! cosine learning-rate schedule. Prints one line per setup with its final test accuracy.
//!
//! `cargo run --release --example lenet_setups [-- --epochs N --seed N]`

mod common;

use stacknet::data::{Args, Mnist};
use stacknet::prelude::*;

network! {
    /// LeNet-5, as in the `lenet` example.
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

type Net = LeNet5<f32>;

fn run<O: Optimizer<Net>>(name: &str, opt: &mut O, lr: f32, cosine: bool, data: &Data) {
    let args = &data.args;
    let mut net = Box::new(Net::new(&mut SplitMix64::new(args.seed)));
    let schedule = Cosine::new(lr, args.epochs);
    let fit = Fit::new(args.epochs)
        .batch(args.batch)
        .seed(args.seed)
        .schedule(move |e| if cosine { schedule.lr(e) } else { lr });
    let trained = fit.run(
        &mut *net,
        opt,
        &SoftmaxCrossEntropy,
        &data.train.inputs,
        &data.train.labels,
    );
    if let Err(e) = trained {
        println!("{name:<28} lr {lr:<7} {e}");
        return;
    }
    let test = &data.test;
    let eval = evaluate_classifier(&*net, &SoftmaxCrossEntropy, &test.inputs, &test.labels)
        .expect("the test digits are not empty");
    let sched = if cosine { "cosine" } else { "constant" };
    println!(
        "{name:<28} lr {lr:<7} {sched:<9} test accuracy {:.2}%",
        100.0 * eval.accuracy().unwrap_or_default()
    );
}

struct Data {
    args: Args,
    train: common::Samples,
    test: common::Samples,
}

fn main() {
    let defaults = Args {
        epochs: 30,
        batch: 32,
        seed: 1,
        ..Args::default()
    };
    let args = Args::from_env_or_exit(
        "lenet_setups",
        "Compares LeNet-5 training setups.",
        defaults,
    );
    let mnist = Mnist::load_bundled(Mnist::bundled_dir()).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    let data = Data {
        train: common::Samples::of(&mnist.train),
        test: common::Samples::of(&mnist.test),
        args,
    };
    println!(
        "LeNet-5, {} epochs, batch {}, seed {}",
        data.args.epochs, data.args.batch, data.args.seed
    );
    run("sgd", &mut *Box::new(Sgd::new(0.05)), 0.05, false, &data);
    run("sgd", &mut *Box::new(Sgd::new(0.05)), 0.05, true, &data);
    run(
        "sgd momentum 0.9",
        &mut *Box::new(SgdMomentum::new(0.01, 0.9)),
        0.01,
        true,
        &data,
    );
    run(
        "sgd momentum 0.9",
        &mut *Box::new(SgdMomentum::new(0.02, 0.9)),
        0.02,
        true,
        &data,
    );
    run(
        "rmsprop",
        &mut *Box::new(RmsProp::new(1e-3)),
        1e-3,
        true,
        &data,
    );
    run("adam", &mut *Box::new(Adam::new(1e-3)), 1e-3, false, &data);
    run("adam", &mut *Box::new(Adam::new(1e-3)), 1e-3, true, &data);
    run("adam", &mut *Box::new(Adam::new(2e-3)), 2e-3, true, &data);
    run(
        "adamw (decay 0.01)",
        &mut *Box::new(AdamW::new(1e-3)),
        1e-3,
        true,
        &data,
    );
}
