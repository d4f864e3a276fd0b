//! MLPerf Tiny's ResNet-8 (CIFAR-10) and DS-CNN (keyword spotting), and the `mnist_rows` LSTM,
//! as stacknet networks: inference at batch 1, a training step at batch 1 and training at batch 32 (per sample), heap
//! allocations per call, on one thread. Structured as `examples/bench.rs` (the LeNet-5
//! benchmark), but timed as the Python peers time: the median of per-call times after a warm-up.
//!
//! `cargo run --release --features bench --example bench_tiny [-- --json] [--write DIR] [--layers] [--model M]`;
//! `bench/compare_tiny.sh` runs it beside onnxruntime and PyTorch on the same weights and inputs.
//!
//! - `--write DIR` writes, per model, what the Python peers need to run the *same* model: the
//!   parameters from `SplitMix64::new(0)` in PyTorch's `state_dict` order and layout (raw
//!   little-endian f32), the input pool, the inference output on the first input, and the
//!   parameters after one SGD step at batch 32 (the training parity check), with a JSON manifest.
//! - `--layers` times every layer's kernels on their own: inference at batch 1, and the
//!   training forward and backward through the minibatch path at batch 32, per sample.
//! - `--model resnet8`, `--model dscnn` or `--model lstm` runs one model (default: all three).
//!
//! The models follow the reference Keras models of github.com/mlcommons/tiny
//! (`benchmark/training/image_classification/keras_model.py` with 16 filters, and
//! `keyword_spotting/keras_model.py`'s `ds_cnn`): Keras's batch-norm ε = 1e-3 and momentum 0.99
//! (0.01 in PyTorch's convention), TensorFlow's `SAME` padding (`same_upper`: the odd padding
//! row and column at the bottom and right), biases on every convolution. DS-CNN's dropout layers
//! are left out: they are the identity at inference, and the training figures are for the
//! network without them on every side. DS-CNN averages over its whole 25×5 map
//! (`global_avg_pool2d`); the reference's `AveragePooling2D(pool_size=(24, 5))` leaves out the
//! last row, a difference of 5 additions in 8,000 values.
//!
//! `lstm` is `examples/mnist_rows.rs`'s model (issue 9's sequence benchmark): PyTorch's
//! `nn.LSTM(28, 128, batch_first=True)` over 28 steps of 28 features, its last hidden state into
//! `nn.Linear(128, 10)`; the inputs are uniform [0, 1) like the pixels it reads.

use stacknet::prelude::*;
use stacknet::runtime::rand_core::RngCore;
use stacknet::runtime::{Flat, Layer, Zeros};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

network! {
    /// ResNet-8 of MLPerf Tiny's image classification benchmark (CIFAR-10, 32×32 RGB).
    #[derive(Clone)]
    pub struct ResNet8(input: [3, 32, 32]) {
        conv: conv2d(16, kernel = 3, padding = same),
        bn: batch_norm(momentum = 0.01, eps = 1e-3), relu,
        stage1: residual {
            conv1: conv2d(16, kernel = 3, padding = same),
            bn1: batch_norm(momentum = 0.01, eps = 1e-3), relu,
            conv2: conv2d(16, kernel = 3, padding = same),
            bn2: batch_norm(momentum = 0.01, eps = 1e-3),
        },
        relu,
        stage2: residual(shortcut = { conv: conv2d(32, kernel = 1, stride = 2) }) {
            conv1: conv2d(32, kernel = 3, stride = 2, padding = same_upper),
            bn1: batch_norm(momentum = 0.01, eps = 1e-3), relu,
            conv2: conv2d(32, kernel = 3, padding = same),
            bn2: batch_norm(momentum = 0.01, eps = 1e-3),
        },
        relu,
        stage3: residual(shortcut = { conv: conv2d(64, kernel = 1, stride = 2) }) {
            conv1: conv2d(64, kernel = 3, stride = 2, padding = same_upper),
            bn1: batch_norm(momentum = 0.01, eps = 1e-3), relu,
            conv2: conv2d(64, kernel = 3, padding = same),
            bn2: batch_norm(momentum = 0.01, eps = 1e-3),
        },
        relu,
        global_avg_pool2d,
        fc: dense(10),
    }
}

network! {
    /// DS-CNN (small) of MLPerf Tiny's keyword spotting benchmark: 49 frames × 10 MFCC
    /// coefficients; a 10×4 convolution with stride 2 (25×5 out), four depthwise-separable
    /// blocks, average pooling over the whole 25×5 map, dense 12; no dropout (the module docs
    /// say why, and how the pooling window differs from the reference's).
    #[derive(Clone)]
    pub struct DsCnn(input: [1, 49, 10]) {
        conv: conv2d(64, kernel = (10, 4), stride = 2, padding = same_upper),
        bn: batch_norm(momentum = 0.01, eps = 1e-3), relu,
        blocks: repeat(4) {
            dw: conv2d(64, kernel = 3, padding = same, groups = 64),
            dw_bn: batch_norm(momentum = 0.01, eps = 1e-3), relu,
            pw: conv2d(64, kernel = 1),
            pw_bn: batch_norm(momentum = 0.01, eps = 1e-3), relu,
        },
        global_avg_pool2d,
        fc: dense(12),
    }
}

network! {
    /// `examples/mnist_rows.rs`'s LSTM: 28 steps of 28 features, LSTM(128), the last hidden
    /// state into a dense layer of 10.
    #[derive(Clone)]
    pub struct MnistRows(input: [28, 28]) {
        lstm: lstm(128),
        fc: dense(10),
    }
}

/// Counts heap allocations (alloc, alloc_zeroed and realloc calls), as `examples/bench.rs` does.
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

/// Warm up, then the median of `iters × reps` per-call times, in µs: what the Python peers
/// report (bench/tiny/tiny_common.py's `bench`). A call takes 0.1 ms or more here, so the clock
/// costs nothing, and a call that another process on the shared core interrupted counts as one
/// slow call, not as a slower repetition.
fn median_us(warmup: usize, iters: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut v: Vec<f64> = (0..iters.max(1) * reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Iteration counts: calls per repetition and warm-up calls, at batch 1 and at batch 32.
#[derive(Clone, Copy)]
struct Counts {
    b1: usize,
    b32: usize,
    w1: usize,
    w32: usize,
    reps: usize,
}

impl Counts {
    fn from_env() -> Self {
        Counts {
            b1: env("BENCH_ITERS_B1", 200),
            b32: env("BENCH_ITERS_B32", 10),
            w1: env("BENCH_WARMUP_B1", 20),
            w32: env("BENCH_WARMUP_B32", 2),
            reps: env("BENCH_REPS", 5),
        }
    }
}

/// Uniform [0, 1) values from one SplitMix64 (seed 42), as `examples/bench.rs` draws its images.
fn input_pool<const I: usize>(n: usize) -> Vec<SVector<f32, I>> {
    let mut rng = SplitMix64::new(42);
    let mut uniform = || (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
    (0..n).map(|_| SVector::from_fn(|_, _| uniform())).collect()
}

const POOL: usize = 64;

/// One model's figures, as the `--json` line reports them.
struct Figures {
    infer: f64,
    train1: f64,
    train32: f64,
    allocs_infer: f64,
    allocs_train1: f64,
    allocs_train32: f64,
}

fn write_f32(path: &Path, values: impl IntoIterator<Item = f32>) {
    let bytes: Vec<u8> = values.into_iter().flat_map(f32::to_le_bytes).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn params_of<N: Network<f32>>(net: &N) -> Vec<f32> {
    let mut p = vec![0.0; N::PARAMS];
    net.copy_params_to(&mut p).expect("PARAMS values");
    p
}

/// Writes the files the Python peers read (see the module docs) for model `name`; `net64` is the
/// same network in f64 (any parameters: they are overwritten with `net`'s).
fn write_model<N, N64, const I: usize, const O: usize>(
    dir: &Path,
    name: &str,
    net: &N,
    net64: &mut N64,
    pool: &[SVector<f32, I>],
    labels: &[usize],
) where
    N: BatchNetwork<f32, Input = SVector<f32, I>, Output = SVector<f32, O>> + Clone,
    N64: BatchNetwork<f64, Input = SVector<f64, I>, Output = SVector<f64, O>>,
{
    std::fs::create_dir_all(dir).expect("output directory");
    let file = |suffix: &str| dir.join(format!("{name}.{suffix}"));
    write_f32(&file("params.f32"), params_of(net));
    write_f32(
        &file("inputs.f32"),
        pool.iter().flat_map(|x| x.iter().copied()),
    );
    write_f32(&file("logits.f32"), net.forward(&pool[0]).iter().copied());

    // One SGD step (lr 0.01) at batch 32 on the first 32 inputs from the same weights, batch
    // norm in training mode: the loss and the parameters after it.
    let mut fresh = Box::new(net.clone());
    let mut trainer = Box::new(BatchTrainer::<N, 32>::new());
    let xs: &[SVector<f32, I>; 32] = pool[..32].try_into().expect("32 inputs");
    let ys: &[usize; 32] = labels[..32].try_into().expect("32 labels");
    let loss = trainer
        .step(
            &mut *fresh,
            &mut Sgd::new(0.01),
            &SoftmaxCrossEntropy,
            xs,
            ys,
        )
        .unwrap();
    write_f32(&file("params_after_step.f32"), params_of(&*fresh));

    // The same step in f64 from the same (f32) weights: the update, raw little-endian f64, so
    // that the peers can tell f32 rounding from a different formula.
    let start: Vec<f64> = params_of(net).iter().map(|&v| f64::from(v)).collect();
    net64.copy_params_from(&start).expect("PARAMS values");
    let xs64: Vec<SVector<f64, I>> = pool[..32].iter().map(|x| x.cast()).collect();
    let xs64: &[SVector<f64, I>; 32] = xs64.as_slice().try_into().expect("32 inputs");
    let mut trainer64 = Box::new(BatchTrainer::<N64, 32>::new());
    trainer64
        .step(
            &mut *net64,
            &mut Sgd::new(0.01),
            &SoftmaxCrossEntropy,
            xs64,
            ys,
        )
        .unwrap();
    let mut after = vec![0.0; N64::PARAMS];
    net64.copy_params_to(&mut after).expect("PARAMS values");
    let bytes: Vec<u8> = after
        .iter()
        .zip(&start)
        .flat_map(|(a, s)| (a - s).to_le_bytes())
        .collect();
    std::fs::write(file("update_b32.f64"), bytes).expect("update");

    let tensors: Vec<String> = (0..N::TENSORS)
        .map(|i| {
            let t = N::tensor_info(i);
            let dims: Vec<String> = t.shape.dims().iter().map(|d| d.to_string()).collect();
            format!("[\"{t}\", [{}]]", dims.join(", "))
        })
        .collect();
    let dims: Vec<String> = N::INPUT_SHAPE
        .dims()
        .iter()
        .map(|d| d.to_string())
        .collect();
    let manifest = format!(
        "{{\n  \"model\": \"{name}\",\n  \"input_shape\": [{}],\n  \"classes\": {O},\n  \
         \"pool\": {},\n  \"params\": {},\n  \"labels\": \"i % classes\",\n  \
         \"sgd_lr\": 0.01,\n  \"loss_after_step_b32\": {loss:e},\n  \"tensors\": [\n    {}\n  ]\n}}\n",
        dims.join(", "),
        pool.len(),
        N::PARAMS,
        tensors.join(",\n    ")
    );
    std::fs::write(file("json"), manifest).expect("manifest");
}

/// Times one model; writes the peers' files first when `dir` is given.
fn bench_model<N, N64, const I: usize, const O: usize>(
    name: &str,
    net: Box<N>,
    net64: impl FnOnce() -> Box<N64>,
    dir: Option<&Path>,
    n: Counts,
) -> Figures
where
    N: BatchNetwork<f32, Input = SVector<f32, I>, Output = SVector<f32, O>> + Clone,
    N64: BatchNetwork<f64, Input = SVector<f64, I>, Output = SVector<f64, O>>,
{
    let pool = input_pool::<I>(POOL);
    let labels: Vec<usize> = (0..POOL).map(|i| i % O).collect();
    if let Some(dir) = dir {
        write_model(dir, name, &*net, &mut *net64(), &pool, &labels);
    }
    let mut net = net;

    let mut i = 0;
    let infer = median_us(n.w1, n.b1, n.reps, || {
        black_box(net.forward(black_box(&pool[i % POOL])));
        i += 1;
    });
    let allocs_infer = allocs_per_call(20, || {
        black_box(net.forward(black_box(&pool[0])));
    });

    // Batch norm trains on the minibatch path only; batch 1 is a minibatch of one.
    let mut opt = Sgd::new(0.01);
    let mut t1 = Box::new(BatchTrainer::<N, 1>::new());
    let mut i = 0;
    let mut step1 = |net: &mut N, k: usize| {
        let x = std::array::from_ref(&pool[k]);
        let y = std::array::from_ref(&labels[k]);
        black_box(t1.step(net, &mut opt, &SoftmaxCrossEntropy, x, y).unwrap());
    };
    let train1 = median_us(n.w1, n.b1, n.reps, || {
        step1(&mut net, i % POOL);
        i += 1;
    });
    let allocs_train1 = allocs_per_call(20, || step1(&mut net, 0));

    let mut t32 = Box::new(BatchTrainer::<N, 32>::new());
    let xs: &[SVector<f32, I>; 32] = pool[..32].try_into().expect("32 inputs");
    let ys: &[usize; 32] = labels[..32].try_into().expect("32 labels");
    let mut step32 = |net: &mut N| {
        black_box(
            t32.step(net, &mut opt, &SoftmaxCrossEntropy, xs, ys)
                .unwrap(),
        );
    };
    let train32 = median_us(n.w32, n.b32, n.reps, || step32(&mut net)) / 32.0;
    let allocs_train32 = allocs_per_call(2, || step32(&mut net));

    Figures {
        infer,
        train1,
        train32,
        allocs_infer,
        allocs_train1,
        allocs_train32,
    }
}

fn report<N: Network<f32>>(name: &str, f: &Figures, n: Counts, json: bool) {
    let macs = N::LAYERS.iter().map(|l| l.macs).sum::<usize>();
    let gflops = 2.0 * macs as f64 / (f.infer * 1e3);
    if json {
        println!(
            "{{\"model\": \"{name}\", \"params\": {}, \"macs\": {macs}, \
             \"infer_b1_us\": {:.3}, \"train_b1_us\": {:.3}, \"train_b32_us_per_sample\": {:.3}, \
             \"allocs_per_infer\": {}, \"allocs_per_train_step_b1\": {}, \
             \"allocs_per_train_step_b32\": {}, \"gflops_infer\": {gflops:.2}}}",
            N::PARAMS,
            f.infer,
            f.train1,
            f.train32,
            f.allocs_infer,
            f.allocs_train1,
            f.allocs_train32
        );
    } else {
        println!(
            "{name}: {} parameters, {macs} MACs; f32, one thread, median of {} calls at batch 1 \
             and {} steps at batch 32",
            N::PARAMS,
            n.b1 * n.reps,
            n.b32 * n.reps
        );
        println!(
            "  inference, batch 1        {:>10.2} µs   ({gflops:.1} GFLOP/s)",
            f.infer
        );
        println!("  training step, batch 1    {:>10.2} µs", f.train1);
        println!(
            "  training, batch 32        {:>10.2} µs per sample",
            f.train32
        );
        println!(
            "  heap allocations          {} per inference, {} per step at batch 1, {} at batch 32",
            f.allocs_infer, f.allocs_train1, f.allocs_train32
        );
    }
}

/// Per-layer totals, µs: inference, training forward per sample, backward per sample.
type Totals = [f64; 3];

/// Times one layer's kernels on random inputs: inference at batch 1, and the minibatch path
/// (forward_train_batch, backward_batch with input gradients) at batch 32, per sample.
fn profile_layer<L: Layer<f32, Input: Flat<f32>>>(
    name: &str,
    layer: &mut L,
    n: Counts,
    total: &mut Totals,
) {
    const B: usize = 32;
    let mut rng = SplitMix64::new(7);
    let mut random = |v: &mut [f32]| {
        for x in v {
            *x = (rng.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
        }
    };
    let mut xs: Vec<L::Input> = (0..B).map(|_| L::Input::zeros()).collect();
    for x in &mut xs {
        random(x.flat_mut());
    }
    let mut ys: Vec<L::Output> = (0..B).map(|_| L::Output::zeros()).collect();
    let mut dys: Vec<L::Output> = (0..B).map(|_| L::Output::zeros()).collect();
    for d in &mut dys {
        random(d.flat_mut());
    }
    let mut dxs: Vec<L::Input> = (0..B).map(|_| L::Input::zeros()).collect();
    let mut recs: Vec<L::Record> = (0..B).map(|_| L::Record::zeros()).collect();
    let mut grad = L::Grad::zeros();
    let mut y = L::Output::zeros();
    let infer = median_us(n.w1, n.b1, n.reps, || {
        layer.forward(black_box(&xs[0]), &mut y);
        black_box(&y);
    });
    let fwd = median_us(n.w32, n.b32, n.reps, || {
        layer.forward_train_batch(black_box(&xs), &mut ys, &mut recs);
        black_box(&ys);
    }) / B as f64;
    let bwd = median_us(n.w32, n.b32, n.reps, || {
        layer.backward_batch(&xs, &ys, &recs, black_box(&dys), Some(&mut dxs), &mut grad);
        black_box(&dxs);
    }) / B as f64;
    let gflops = if L::MACS > 0 {
        2.0 * L::MACS as f64 / (infer * 1e3)
    } else {
        0.0
    };
    println!(
        "{name:<22} {:<18} {infer:>9.2} {fwd:>11.2} {bwd:>11.2} {gflops:>8.1}",
        L::KIND
    );
    for (t, v) in total.iter_mut().zip([infer, fwd, bwd]) {
        *t += v;
    }
}

/// `--layers`: each listed field of a network timed alone.
macro_rules! profile {
    ($net:expr, $n:expr, [$($field:ident),* $(,)?]) => {{
        let n: Counts = $n;
        println!(
            "{:<22} {:<18} {:>9} {:>11} {:>11} {:>8}",
            "layer", "kind", "infer b1", "fwd b32/s", "bwd b32/s", "GFLOP/s"
        );
        let mut total: Totals = [0.0; 3];
        $(profile_layer(stringify!($field), &mut $net.$field, n, &mut total);)*
        println!(
            "{:<41} {:>9.2} {:>11.2} {:>11.2}",
            "sum of layers", total[0], total[1], total[2]
        );
    }};
}

/// The heading of a `--layers` table.
fn profile_heading(model: &str, n: Counts) {
    println!(
        "{model} layer kernels alone, µs (median of {} calls at batch 1, {} at batch 32; the \
         batch-32 columns per sample)",
        n.b1 * n.reps,
        n.b32 * n.reps
    );
}

fn profile_resnet8(n: Counts) {
    let mut net = Box::new(ResNet8::<f32>::new(&mut SplitMix64::new(0)));
    profile_heading("ResNet-8", n);
    profile!(
        net,
        n,
        [
            conv,
            bn,
            relu_2,
            stage1_conv1,
            stage1_bn1,
            stage1_relu_2,
            stage1_conv2,
            stage1_bn2,
            relu_4,
            stage2_conv1,
            stage2_bn1,
            stage2_relu_2,
            stage2_conv2,
            stage2_bn2,
            stage2_shortcut_conv,
            relu_6,
            stage3_conv1,
            stage3_bn1,
            stage3_relu_2,
            stage3_conv2,
            stage3_bn2,
            stage3_shortcut_conv,
            relu_8,
            global_avg_pool2d_9,
            fc,
        ]
    );
}

fn profile_dscnn(n: Counts) {
    let mut net = Box::new(DsCnn::<f32>::new(&mut SplitMix64::new(0)));
    profile_heading("DS-CNN", n);
    profile!(
        net,
        n,
        [
            conv,
            bn,
            relu_2,
            blocks_0_dw,
            blocks_0_dw_bn,
            blocks_0_relu_2,
            blocks_0_pw,
            blocks_0_pw_bn,
            blocks_0_relu_5,
            blocks_1_dw,
            blocks_1_dw_bn,
            blocks_1_relu_2,
            blocks_1_pw,
            blocks_1_pw_bn,
            blocks_1_relu_5,
            blocks_2_dw,
            blocks_2_dw_bn,
            blocks_2_relu_2,
            blocks_2_pw,
            blocks_2_pw_bn,
            blocks_2_relu_5,
            blocks_3_dw,
            blocks_3_dw_bn,
            blocks_3_relu_2,
            blocks_3_pw,
            blocks_3_pw_bn,
            blocks_3_relu_5,
            global_avg_pool2d_4,
            fc,
        ]
    );
}

fn profile_lstm(n: Counts) {
    let mut net = Box::new(MnistRows::<f32>::new(&mut SplitMix64::new(0)));
    profile_heading("LSTM(128) over 28 steps", n);
    profile!(net, n, [lstm, fc]);
}

fn run(args: Vec<String>) {
    let json = args.iter().any(|a| a == "--json");
    let layers = args.iter().any(|a| a == "--layers");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let dir = value("--write").map(PathBuf::from);
    let model = value("--model");
    let wants = |m: &str| model.as_deref().is_none_or(|x| x == m);
    let n = Counts::from_env();

    if wants("resnet8") {
        if layers {
            profile_resnet8(n);
        } else {
            let net = Box::new(ResNet8::<f32>::new(&mut SplitMix64::new(0)));
            assert_eq!(ResNet8::<f32>::PARAMS, 78_186);
            let net64 = || Box::new(ResNet8::<f64>::new(&mut SplitMix64::new(0)));
            let f = bench_model("resnet8", net, net64, dir.as_deref(), n);
            report::<ResNet8<f32>>("resnet8", &f, n, json);
        }
    }
    if wants("dscnn") {
        if layers {
            profile_dscnn(n);
        } else {
            let net = Box::new(DsCnn::<f32>::new(&mut SplitMix64::new(0)));
            assert_eq!(DsCnn::<f32>::PARAMS, 23_756);
            let net64 = || Box::new(DsCnn::<f64>::new(&mut SplitMix64::new(0)));
            let f = bench_model("dscnn", net, net64, dir.as_deref(), n);
            report::<DsCnn<f32>>("dscnn", &f, n, json);
        }
    }
    if wants("lstm") {
        if layers {
            profile_lstm(n);
        } else {
            let net = Box::new(MnistRows::<f32>::new(&mut SplitMix64::new(0)));
            // 4·128·(28 + 128 + 2) + 128·10 + 10.
            assert_eq!(MnistRows::<f32>::PARAMS, 82_186);
            let net64 = || Box::new(MnistRows::<f64>::new(&mut SplitMix64::new(0)));
            let f = bench_model("lstm", net, net64, dir.as_deref(), n);
            report::<MnistRows<f32>>("lstm", &f, n, json);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The minibatch records of 32 samples are tens of MB: build them on a large stack.
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || run(args))
        .expect("bench thread")
        .join()
        .expect("bench thread panicked");
}
