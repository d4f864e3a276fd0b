//! `#[weights = "…"]`: networks whose weights the compiler read from a safetensors file,
//! checked against the declaration and decoded into a constant.
//!
//! PyTorch's LeNet-5 (the fixtures of `bench/fixtures/safetensors_parity.py`) baked in F32
//! and BF16 gives PyTorch's logits and is bit-equal to the same file loaded at run time. Two
//! networks holding every layer kind with tensors (and the activations and dropout with
//! settings) are baked from files stacknet wrote from seeded networks: the constants must be
//! those networks exactly, tensor by tensor, buffers included, which checks every kind's
//! names, shapes, storage and decoding against the runtime's. `STACKNET_FIXTURES=overwrite
//! cargo test --test baked` rewrites those two files.

use stacknet::data::{load_safetensors, to_safetensors};
use stacknet::prelude::*;
use stacknet::runtime::rand_core::RngCore;
use stacknet::runtime::safetensors::SafeTensors;

use std::path::PathBuf;

network! {
    /// The lenet example's network, baked from PyTorch's weights.
    #[weights = "fixtures/lenet.safetensors"]
    #[derive(Clone, Debug)]
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
    /// The same from the BF16 file.
    #[weights = "fixtures/lenet_bf16.safetensors"]
    pub struct LeNet5Bf16(input: [1, 28, 28]) {
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
    /// Images: grouped and bias-free convolutions, batch norm over channels and features,
    /// PReLU, a residual with a projection, and activations and dropout with settings.
    #[weights = "fixtures/baked_vision.safetensors"]
    #[derive(Clone, Debug)]
    pub struct Vision(input: [2, 8, 8]) {
        conv1: conv2d(4, kernel = 3, padding = 1, groups = 2), bn1: batch_norm(eps = 1e-3), prelu,
        block: residual(shortcut = { conv2d(6, kernel = 1, stride = 2, bias = false) }) {
            conv2d(6, kernel = 3, stride = 2, padding = 1, bias = false), batch_norm, elu(alpha = 0.5),
        },
        max_pool2d(2),
        flatten,
        fc1: dense(7, bias = false), bn2: batch_norm(momentum = 0.2), leaky_relu(slope = 0.2),
        dropout(0.25),
        fc2: dense(3), softplus(beta = 2.0),
    }
}

network! {
    /// Tokens: an embedding, a 1-D convolution, every recurrent cell (bidirectional too) and
    /// a per-step dense.
    #[weights = "fixtures/baked_words.safetensors"]
    #[derive(Clone, Debug)]
    pub struct Words(tokens: [5]) {
        embed: embedding(11, 4),
        conv: conv1d(6, kernel = 3, padding = same), tanh,
        rnn: rnn(5, nonlinearity = relu, sequences = true),
        gru: gru(4, sequences = true, bidirectional = true),
        step: dense(3), gelu,
        lstm: lstm(3, bidirectional = true),
        out: dense(2),
    }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const IO: &[u8] = include_bytes!("fixtures/lenet_io.safetensors");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(FIXTURES).join(name)
}

/// A tensor of LeNet's input/output fixture, as f64.
fn io(name: &str) -> Vec<f64> {
    let file = SafeTensors::parse(IO).unwrap();
    file.get(name).unwrap().values().collect()
}

/// Largest error, relative to |want| or absolute where |want| < 1.
fn max_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Every parameter and buffer, by `state_dict` entry.
fn state<T: Scalar, N: Network<T>>(net: &N) -> Vec<Vec<T>> {
    let params = (0..N::TENSORS).map(|i| net.tensor(i).to_vec());
    let buffers = (0..N::RUNNING_STATS).map(|i| net.running_stats(i).to_vec());
    params.chain(buffers).collect()
}

/// Bit-equal states: a NaN would compare unequal, and -0.0 equal to 0.0, so compare bits.
fn assert_same<N: Network<f32>>(a: &N, b: &N) {
    let bits = |n: &N| -> Vec<Vec<u32>> {
        state(n)
            .into_iter()
            .map(|t| t.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    assert_eq!(bits(a), bits(b));
}

/// The network in a `static`, as firmware keeps it: read-only memory, no start-up work.
static LENET: LeNet5 = LeNet5::<f32>::BAKED;

#[test]
fn pytorchs_lenet_baked_gives_pytorchs_logits_and_equals_a_run_time_load() {
    let x = io("input");
    let input = SVector::<f32, 784>::from_fn(|i, _| x[i] as f32);
    let y: Vec<f64> = LENET.forward(&input).iter().map(|&v| v as f64).collect();
    let err = max_error(&y, &io("output"));
    println!("baked f32 LeNet vs PyTorch (float64): {err:.2e}");
    assert!(err < 1e-5, "{err:e}");

    let mut loaded = LeNet5::<f32>::new(&mut SplitMix64::new(3));
    load_safetensors(fixture("lenet.safetensors"), &mut loaded).unwrap();
    assert_same(&LENET, &loaded);

    // f64 from the same F32 file: PyTorch's float64 run to rounding.
    const LENET64: LeNet5<f64> = LeNet5::<f64>::BAKED;
    let input = SVector::<f64, 784>::from_fn(|i, _| x[i]);
    let y: Vec<f64> = LENET64.forward(&input).iter().copied().collect();
    let err = max_error(&y, &io("output"));
    assert!(err < 1e-12, "{err:e}");
}

#[test]
fn a_bf16_file_is_converted_at_compile_time_as_at_run_time() {
    const NET: LeNet5Bf16 = LeNet5Bf16::<f32>::BAKED;
    let mut loaded = LeNet5Bf16::<f32>::new(&mut SplitMix64::new(3));
    load_safetensors(fixture("lenet_bf16.safetensors"), &mut loaded).unwrap();
    assert_same(&NET, &loaded);
    let x = io("input");
    let input = SVector::<f32, 784>::from_fn(|i, _| x[i] as f32);
    let y: Vec<f64> = NET.forward(&input).iter().map(|&v| v as f64).collect();
    let err = max_error(&y, &io("output_bf16"));
    assert!(err < 1e-5, "{err:e}");
}

/// A seeded network whose buffers are moved off their initial values, so that baking them
/// is visible: each running statistic gets distinct values and the counts 7 and 8.
fn seeded<N: Network<f32>>(seed: u64, new: impl Fn(&mut SplitMix64) -> N) -> N {
    let mut net = new(&mut SplitMix64::new(seed));
    let mut rng = SplitMix64::new(seed + 1);
    for i in 0..N::RUNNING_STATS {
        let count = matches!(
            N::running_stats_info(i).kind,
            stacknet::runtime::TensorKind::Count
        );
        for (j, v) in net.running_stats_mut(i).iter_mut().enumerate() {
            *v = if count {
                7.0 + i as f32
            } else {
                0.5 + (rng.next_u64() % 1000) as f32 / 1000.0 + j as f32
            };
        }
    }
    net
}

/// The committed fixture `name` holds `net`'s state; `STACKNET_FIXTURES=overwrite` rewrites it.
fn fixture_is<N: Network<f32>>(name: &str, net: &N) {
    let bytes = to_safetensors(net);
    if std::env::var("STACKNET_FIXTURES").as_deref() == Ok("overwrite") {
        std::fs::write(fixture(name), &bytes).unwrap();
    }
    let committed = std::fs::read(fixture(name)).unwrap();
    assert!(
        committed == bytes,
        "tests/fixtures/{name} is not the seeded network's; rewrite it with STACKNET_FIXTURES=overwrite"
    );
}

#[test]
fn every_kind_with_tensors_bakes_to_the_network_that_wrote_the_file() {
    let vision = seeded(11, Vision::<f32>::new);
    fixture_is("baked_vision.safetensors", &vision);
    assert_same(&Vision::<f32>::BAKED, &vision);
    // Three batch norms, three buffers each.
    const { assert!(Vision::<f32>::RUNNING_STATS == 9) };

    let words = seeded(12, Words::<f32>::new);
    fixture_is("baked_words.safetensors", &words);
    assert_same(&Words::<f32>::BAKED, &words);

    // The same files loaded at run time into networks of other seeds: the round trip
    // stacknet → file → stacknet for every kind with parameters or buffers.
    let mut loaded = Vision::<f32>::new(&mut SplitMix64::new(99));
    load_safetensors(fixture("baked_vision.safetensors"), &mut loaded).unwrap();
    assert_same(&loaded, &vision);
    let mut loaded = Words::<f32>::new(&mut SplitMix64::new(99));
    load_safetensors(fixture("baked_words.safetensors"), &mut loaded).unwrap();
    assert_same(&loaded, &words);

    // The constants compute what the networks compute (activation and batch-norm settings
    // included, which no tensor holds).
    let x = SVector::<f32, 128>::from_fn(|i, _| (i as f32 * 0.37).sin());
    assert_eq!(Vision::<f32>::BAKED.forward(&x), vision.forward(&x));
    let tokens = [3u32, 0, 10, 7, 3];
    assert_eq!(Words::<f32>::BAKED.forward(&tokens), words.forward(&tokens));
}
