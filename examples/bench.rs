//! The LeNet-5 benchmark of DESIGN.md §5: inference at batch 1, a training step at batch 1
//! (forward + softmax cross-entropy + backward + SGD), training at batch 32 per sample, heap
//! allocations per call and peak memory, measured as the peer programs in ../shared/bench do
//! (same warm-up, repetitions, median, data generator and learning rate).
//!
//! `cargo run --release --features bench --example bench [-- --json | --layers]`; `bench/compare.sh` runs it beside
//! the peers (built with `-C target-cpu=native`, as they are). `--layers` times every layer's
//! kernels on their own (forward, training forward, backward with and without the input
//! gradient): the profile that says where a training step goes.

use stacknet::prelude::*;
use stacknet::runtime::rand_core::RngCore;
use stacknet::runtime::{Flat, Layer, Zeros};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

network! {
    /// LeNet-5 for 28×28 grayscale digits, with its int8 twin.
    #[derive(Clone)]
    #[int8]
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

/// Counts heap allocations (alloc, alloc_zeroed and realloc calls), as the peers' harness does.
struct CountingAlloc;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a side effect.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        System.realloc(p, l, n)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocs_per_call(n: usize, mut f: impl FnMut()) -> f64 {
    let before = ALLOCS.load(Relaxed);
    for _ in 0..n {
        f();
    }
    (ALLOCS.load(Relaxed) - before) as f64 / n as f64
}

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Warm up, then the median over `reps` repetitions of µs per call.
fn median_us(warmup: usize, iters: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut v: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / iters as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident memory of this process (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One training step's worth of state: the trainer's buffers and plain SGD with lr 0.01.
struct Step<'a> {
    net: &'a mut LeNet5<f32>,
    trainer: &'a mut Trainer<LeNet5>,
    opt: Sgd<f32>,
}

impl Step<'_> {
    fn run(&mut self, xs: &[SVector<f32, 784>], ys: &[usize]) -> f32 {
        self.trainer
            .step(
                self.net,
                &mut self.opt,
                &SoftmaxCrossEntropy,
                xs.iter().zip(ys),
            )
            .unwrap()
    }
}

/// Times one layer's kernels on `x` and returns its output, for the next layer.
fn profile_layer<L: Layer<f32>>(
    name: &str,
    layer: &mut L,
    x: &L::Input,
    (iters, reps): (usize, usize),
    total: &mut [f64; 4],
) -> L::Output {
    let (mut y, mut rec, mut grad) = (L::Output::zeros(), L::Record::zeros(), L::Grad::zeros());
    let (mut dx, mut dy) = (L::Input::zeros(), L::Output::zeros());
    let warm = iters / 10;
    let fwd = median_us(warm, iters, reps, || {
        layer.forward(black_box(x), &mut y);
        black_box(&y);
    });
    let train = median_us(warm, iters, reps, || {
        layer.forward_train(black_box(x), &mut y, &mut rec);
        black_box(&y);
    });
    // A gradient of the same magnitudes as the activations.
    for (d, &v) in dy.flat_mut().iter_mut().zip(y.flat()) {
        *d = 0.01 * v;
    }
    let bwd = median_us(warm, iters, reps, || {
        layer.backward(x, &y, &rec, black_box(&dy), Some(&mut dx), &mut grad);
        black_box(&dx);
    });
    let bwd_nodx = median_us(warm, iters, reps, || {
        layer.backward(x, &y, &rec, black_box(&dy), None, &mut grad);
        black_box(&grad);
    });
    let macs = L::MACS;
    println!(
        "{name:<14} {:<11} {fwd:>8.2} {train:>8.2} {bwd:>8.2} {bwd_nodx:>9.2} {:>8.1}",
        L::KIND,
        if macs > 0 {
            2.0 * macs as f64 / (fwd * 1e3)
        } else {
            0.0
        }
    );
    for (t, v) in total.iter_mut().zip([fwd, train, bwd, bwd_nodx]) {
        *t += v;
    }
    y
}

/// `--layers`: every layer of LeNet-5 timed alone (µs per call, median).
fn profile_layers(net: &mut LeNet5<f32>, x: &SVector<f32, 784>, iters: usize, reps: usize) {
    println!("LeNet-5 layer kernels, µs per call (median of {reps} × {iters}); GFLOP/s of forward");
    println!(
        "{:<14} {:<11} {:>8} {:>8} {:>8} {:>9} {:>8}",
        "layer", "kind", "forward", "fwd_train", "backward", "bwd no dx", "GFLOP/s"
    );
    let n = (iters, reps);
    let t = &mut [0.0; 4];
    let y = profile_layer("conv1", &mut net.conv1, x, n, t);
    let y = profile_layer("relu_1", &mut net.relu_1, &y, n, t);
    let y = profile_layer("max_pool2d_2", &mut net.max_pool2d_2, &y, n, t);
    let y = profile_layer("conv2", &mut net.conv2, &y, n, t);
    let y = profile_layer("relu_4", &mut net.relu_4, &y, n, t);
    let y = profile_layer("max_pool2d_5", &mut net.max_pool2d_5, &y, n, t);
    let y = profile_layer("flatten_6", &mut net.flatten_6, &y, n, t);
    let y = profile_layer("fc1", &mut net.fc1, &y, n, t);
    let y = profile_layer("relu_8", &mut net.relu_8, &y, n, t);
    let y = profile_layer("fc2", &mut net.fc2, &y, n, t);
    let y = profile_layer("relu_10", &mut net.relu_10, &y, n, t);
    profile_layer("fc3", &mut net.fc3, &y, n, t);
    println!(
        "{:<26} {:>8.2} {:>8.2} {:>8.2} {:>9.2}",
        "sum", t[0], t[1], t[2], t[3]
    );
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let (b1, b32, reps) = (
        env("BENCH_ITERS_B1", 2000),
        env("BENCH_ITERS_B32", 100),
        env("BENCH_REPS", 5),
    );
    let (w1, w32) = (env("BENCH_WARMUP_B1", 200), env("BENCH_WARMUP_B32", 10));

    // The peers' data: uniform [0, 1) images and labels from one SplitMix64 (seed 42).
    let mut rng = SplitMix64::new(42);
    let mut uniform = || (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
    let pool: Vec<SVector<f32, 784>> = (0..64)
        .map(|_| SVector::from_fn(|_, _| uniform()))
        .collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();

    let mut net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(0)));
    let mut trainer = Box::new(Trainer::<LeNet5>::new());
    assert_eq!(LeNet5::<f32>::PARAMS, 61_706);
    if std::env::args().any(|a| a == "--layers") {
        profile_layers(&mut net, &pool[0], b1, reps);
        return;
    }

    let mut i = 0;
    let infer = median_us(w1, b1, reps, || {
        black_box(net.forward(black_box(&pool[i % 64])));
        i += 1;
    });
    let allocs_infer = allocs_per_call(100, || {
        black_box(net.forward(black_box(&pool[0])));
    });

    // The int8 twin, calibrated on the same images: float in, float out (quantising the
    // input and dequantising the output included), as onnxruntime's QDQ model is timed.
    let int8 = Box::new(net.quantize(&pool).expect("calibration"));
    let mut i = 0;
    let infer_int8 = median_us(w1, b1, reps, || {
        black_box(int8.infer(black_box(&pool[i % 64])));
        i += 1;
    });
    let allocs_int8 = allocs_per_call(100, || {
        black_box(int8.infer(black_box(&pool[0])));
    });

    let mut step = Step {
        net: &mut net,
        trainer: &mut trainer,
        opt: Sgd::new(0.01),
    };
    let mut i = 0;
    let train1 = median_us(w1, b1, reps, || {
        let k = i % 64;
        black_box(step.run(&pool[k..k + 1], &labels[k..k + 1]));
        i += 1;
    });
    let allocs_train = allocs_per_call(100, || {
        black_box(step.run(&pool[..1], &labels[..1]));
    });
    let train32 = median_us(w32, b32, reps, || {
        black_box(step.run(&pool[..32], &labels[..32]));
    }) / 32.0;

    // The same batches on two threads (`ParallelTrainer`), against the one-thread figure.
    let mut parallel = ParallelTrainer::new(&*step.net, 2, 1).expect("two training threads");
    let mut run2 = |n: usize| {
        let (net, opt) = (&mut *step.net, &mut step.opt);
        let loss = &SoftmaxCrossEntropy;
        black_box(
            parallel
                .step(net, opt, loss, &pool[..n], &labels[..n])
                .unwrap(),
        );
    };
    let train32_2 = median_us(w32, b32, reps, || run2(32)) / 32.0;
    let allocs_parallel = allocs_per_call(20, || run2(32));

    let macs = LeNet5::<f32>::LAYERS.iter().map(|l| l.macs).sum::<usize>();
    let gflops = 2.0 * macs as f64 / (infer * 1e3);
    let rss = peak_rss_mb();
    if json {
        println!(
            "{{\"infer_b1_us\": {infer:.3}, \"train_b1_us\": {train1:.3}, \
             \"train_b32_us_per_sample\": {train32:.3}, \"allocs_per_infer\": {allocs_infer}, \
             \"allocs_per_train_step\": {allocs_train}, \"peak_rss_mb\": {rss:.1}, \
             \"gflops_infer\": {gflops:.2}, \"train_b32_2threads_us_per_sample\": {train32_2:.3}, \
             \"allocs_per_parallel_step\": {allocs_parallel}, \"infer_int8_b1_us\": {infer_int8:.3}, \
             \"allocs_per_infer_int8\": {allocs_int8}}}"
        );
    } else {
        println!("LeNet-5, f32, one thread: median of {reps} repetitions ({b1} calls at batch 1, {b32} at batch 32)");
        println!("inference, batch 1        {infer:>9.2} µs   ({gflops:.1} GFLOP/s)");
        println!(
            "int8 inference, batch 1   {infer_int8:>9.2} µs   ({:.2}× the f32 time)",
            infer_int8 / infer
        );
        println!("training step, batch 1    {train1:>9.2} µs");
        println!("training, batch 32        {train32:>9.2} µs per sample");
        println!(
            "  on 2 threads             {train32_2:>9.2} µs per sample ({:.2}× the throughput)",
            train32 / train32_2
        );
        println!("heap allocations          {allocs_infer} per inference ({allocs_int8} in int8), {allocs_train} per training step, {allocs_parallel} per 2-thread step");
        println!("peak resident memory      {rss:.1} MB");
    }
}
