//! stacknet in a user's crate, built for the x86-64 baseline as `cargo build --release` builds
//! it: which instruction set the kernels chose, and at every level the CPU has, LeNet-5's
//! logits against PyTorch's (a committed fixture), its gradients against finite differences
//! in f64, and a few training steps against the portable level's; and the same checks of a
//! sequence model (a 1-D convolution, a dense layer at every step).
//!
//! `run.sh` builds and runs it; the argument is the directory of the repository's fixtures,
//! or `--hint` to make a trainer and exit (in a debug build, that prints a note on stderr).

use stacknet::data::load_safetensors;
use stacknet::prelude::*;
use stacknet::runtime::gradcheck::{check_network, TOLERANCE};
use stacknet::runtime::safetensors::SafeTensors;
use stacknet::runtime::simd::{self, Level};
use std::path::PathBuf;
use std::process::ExitCode;

network! {
    /// LeNet-5 as the examples declare it.
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

network! {
    /// A small sequence model whose products run through the dispatched kernels: a 1-D
    /// convolution over time and a dense layer applied at every step.
    #[derive(Clone)]
    pub struct Series(input: [12, 3]) {
        conv1d(8, 3, padding = same),
        relu,
        dense(6),
        mean_over_time,
        dense(2),
    }
}

/// What one level computed: the f32 logits, the worst gradient error, the training losses,
/// and the sequence model's f32 outputs and worst gradient error.
struct Run {
    level: Level,
    logits_error: f64,
    gradient_error: f64,
    losses: Vec<f32>,
    series: Vec<f32>,
    series_gradient_error: f64,
}

fn run(level: Level, fixtures: &PathBuf) -> Run {
    let io = std::fs::read(fixtures.join("lenet_io.safetensors")).expect("lenet_io fixture");
    let io = SafeTensors::parse(&io).expect("lenet_io parses");
    let values = |name: &str| -> Vec<f64> { io.get(name).expect(name).values().collect() };
    let (input, want) = (values("input"), values("output"));

    // PyTorch's LeNet-5 in f32, against PyTorch's float64 logits.
    let mut net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    load_safetensors(fixtures.join("lenet.safetensors"), &mut net).expect("lenet fixture");
    let x = SVector::<f32, 784>::from_fn(|i, _| input[i] as f32);
    let logits = net.forward(&x);
    let logits_error = logits
        .iter()
        .zip(&want)
        .map(|(&y, &w)| (y as f64 - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max);

    // The f64 network's backward against central differences of its forward.
    let mut net64 = LeNet5::<f64>::new(&mut SplitMix64::new(1));
    load_safetensors(fixtures.join("lenet.safetensors"), &mut net64).expect("lenet fixture");
    let x64 = SVector::<f64, 784>::from_fn(|i, _| input[i]);
    let check = check_network(&net64, &x64, &3, &SoftmaxCrossEntropy, 24, |_, _| {});
    let gradient_error = check.worst.max(check.input_worst);

    // Ten SGD steps on shifted copies of the digit, in f32.
    let mut trainer = Trainer::new();
    let mut opt = Sgd::new(0.01);
    let losses = (0..10)
        .map(|k| {
            let xk = SVector::<f32, 784>::from_fn(|i, _| input[(i + 28 * k) % 784] as f32);
            let batch = [(&xk, k % 10)];
            trainer
                .step(&mut net, &mut opt, &SoftmaxCrossEntropy, batch)
                .expect("a finite loss")
        })
        .collect();
    // The sequence model: its f64 gradients against central differences, its f32 outputs
    // compared across levels below.
    let series64 = Series::<f64>::new(&mut SplitMix64::new(2));
    let xs = SVector::<f64, 36>::from_fn(|i, _| ((i * 7 % 11) as f64 - 5.0) / 5.0);
    let check = check_network(&series64, &xs, &1, &SoftmaxCrossEntropy, 24, |_, _| {});
    let series_gradient_error = check.worst.max(check.input_worst);
    let series32 = Series::<f32>::new(&mut SplitMix64::new(2));
    let series = series32
        .forward(&xs.map(|v| v as f32))
        .iter()
        .copied()
        .collect();
    Run {
        level,
        logits_error,
        gradient_error,
        losses,
        series,
        series_gradient_error,
    }
}

fn main() -> ExitCode {
    let arg = std::env::args()
        .nth(1)
        .expect("usage: FIXTURES_DIR | --hint");
    if arg == "--hint" {
        // A debug build's first trainer prints the note on unoptimised builds (run.sh reads
        // stderr); a second prints nothing.
        let _first = Trainer::<LeNet5>::new();
        let _second = Trainer::<LeNet5>::new();
        println!(
            "unoptimised build: {}",
            stacknet::runtime::hint::IS_UNOPTIMIZED
        );
        return ExitCode::SUCCESS;
    }
    let fixtures = PathBuf::from(arg);
    println!("kernels: {}", simd::describe());
    let best = simd::best_level();
    let levels = [Level::Portable, Level::Avx2, Level::Avx512];
    let runs: Vec<Run> = levels
        .into_iter()
        .filter(|&l| l <= best)
        .map(|l| run(simd::set_level(l), &fixtures))
        .collect();
    let mut ok = simd::DISPATCH;
    if !ok {
        println!("FAIL: this build does not choose its instruction set at run time");
    }
    let first = &runs[0];
    for r in &runs {
        let drift = r
            .losses
            .iter()
            .zip(&first.losses)
            .map(|(a, b)| ((a - b).abs() / b.abs().max(1.0)) as f64)
            .fold(0.0, f64::max);
        let series_drift = r
            .series
            .iter()
            .zip(&first.series)
            .map(|(a, b)| ((a - b).abs() / b.abs().max(1.0)) as f64)
            .fold(0.0, f64::max);
        let pass = r.logits_error < 1e-5
            && r.gradient_error < TOLERANCE
            && drift < 1e-5
            && r.series_gradient_error < TOLERANCE
            && series_drift < 1e-5;
        ok &= pass;
        println!(
            "{:<9} logits vs PyTorch {:.1e}, gradients vs finite differences {:.1e}, \
             losses vs portable {:.1e}, last loss {:.6}; sequence model: gradients {:.1e}, \
             outputs vs portable {:.1e}: {}",
            r.level.name(),
            r.logits_error,
            r.gradient_error,
            drift,
            r.losses[9],
            r.series_gradient_error,
            series_drift,
            if pass { "ok" } else { "FAIL" }
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
