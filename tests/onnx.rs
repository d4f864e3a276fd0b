//! ONNX export, checked against onnxruntime.
//!
//! Four seeded networks (PyTorch's LeNet-5 weights; an image network with every image layer
//! kind and activation, blocks included; a token network with every sequence kind; a global
//! pool over batch norm) are exported, and their inputs and stacknet's outputs written to
//! `target/onnx-parity/`. `bench/fixtures/onnx_parity.py` runs those files in onnxruntime,
//! compares, and commits what onnxruntime computed with a hash of each model it ran in
//! `tests/fixtures/onnx_ort.safetensors`; the test here checks that the export is still those
//! models byte for byte and that stacknet's outputs are onnxruntime's to 1e-5. To rerun:
//! `cargo test --test onnx`, then the script (it needs `onnxruntime`, `onnx` and
//! `safetensors`), then `cargo test --test onnx` again.

use stacknet::data::load_safetensors;
use stacknet::onnx::{to_onnx, OnnxError};
use stacknet::prelude::*;
use stacknet::runtime::rand_core::RngCore;
use stacknet::runtime::safetensors::SafeTensors;
use stacknet::runtime::{Flat, TensorKind};
use std::path::PathBuf;

network! {
    /// The lenet example's network.
    pub struct LeNet5(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, padding = 2), relu, max_pool2d(2),
        conv2: conv2d(16, kernel = 5), relu, max_pool2d(2),
        flatten,
        fc1: dense(120), relu,
        fc2: dense(84), relu,
        fc3: dense(10),
    }
}

network! {
    /// Every image kind: grouped, strided, dilated and bias-free convolutions, both pools
    /// with padding (and average pooling without counting it), an adaptive pool, a residual
    /// with a projection, a concat, batch norm, PReLU, every activation, dropout, softmax.
    pub struct Vision(input: [2, 12, 12]) {
        conv1: conv2d(4, kernel = 3, padding = 1, groups = 2), bn1: batch_norm, prelu,
        block: residual(shortcut = { conv2d(6, kernel = 1, stride = 2, bias = false) }) {
            conv2d(6, kernel = 3, stride = 2, padding = 1, bias = false), batch_norm, elu(alpha = 0.5),
        },
        cat: concat { conv2d(3, kernel = 3, padding = 2, dilation = 2), { max_pool2d(3, stride = 1, padding = 1), relu6 } },
        avg_pool2d(2, padding = 1, count_include_pad = false), hard_swish,
        adaptive_avg_pool2d((2, 2)), leaky_relu(slope = 0.2),
        flatten,
        fc1: dense(12, bias = false), bn2: batch_norm(momentum = 0.2), selu,
        dropout(0.25),
        fc2: dense(10), gelu, fc3: dense(8), gelu(approximate = true), fc4: dense(8), silu,
        fc5: dense(8), hard_sigmoid, fc6: dense(8), softplus(beta = 2.0), fc7: dense(8),
        softplus, fc8: dense(6), sigmoid, fc9: dense(5), tanh, fc10: dense(4), softmax,
    }
}

network! {
    /// Every sequence kind: an embedding, 1-D convolution and pools, the three recurrent
    /// cells (bidirectional, every step or the last), per-step dense and the reductions.
    pub struct Words(tokens: [6]) {
        embed: embedding(11, 4),
        conv: conv1d(6, kernel = 3, padding = same), tanh,
        max_pool1d(2, stride = 1),
        rnn: rnn(5, nonlinearity = relu, sequences = true),
        gru: gru(4, sequences = true, bidirectional = true),
        avg_pool1d(2, stride = 1, padding = 1),
        step: dense(3), relu,
        both: concat { { lstm: lstm(3, bidirectional = true) }, { last }, { mean_over_time }, { max_over_time } },
        out: dense(2),
    }
}

network! {
    /// A global pool over a trained batch norm: running statistics that are not 0 and 1.
    pub struct Pooled(input: [3, 6, 6]) {
        conv: conv2d(5, kernel = 3), bn: batch_norm, relu,
        global_avg_pool2d,
        fc: dense(3),
    }
}

network! {
    /// Maxout has no ONNX form yet.
    pub struct WithMaxout(input: [6]) { fc: dense(6), maxout(2), head: dense(2) }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn parity_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/onnx-parity");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A network's model hash as the fixture keeps it: FNV-1a over the bytes, as hex.
fn fnv(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Writes `name.onnx` and `name_io.safetensors` (batch inputs, stacknet's outputs) for the
/// script; returns the model bytes and stacknet's outputs.
fn export<N: Network<f32>>(name: &str, net: &N, inputs: &[N::Input]) -> (Vec<u8>, Vec<f64>)
where
    N::Input: AsNumbers,
{
    let model = to_onnx(net).unwrap_or_else(|e| panic!("{name}: {e}"));
    let dir = parity_dir();
    std::fs::write(dir.join(format!("{name}.onnx")), &model).unwrap();
    let mut input = Vec::new();
    let mut output = Vec::new();
    for x in inputs {
        input.extend(x.numbers());
        output.extend(net.forward(x).flat().iter().map(|&v| f64::from(v)));
    }
    let in_dims: Vec<usize> = [inputs.len()]
        .into_iter()
        .chain(N::INPUT_SHAPE.dims().iter().copied())
        .collect();
    let out_dims: Vec<usize> = [inputs.len()]
        .into_iter()
        .chain(N::OUTPUT_SHAPE.dims().iter().copied())
        .collect();
    write_io(
        &dir.join(format!("{name}_io.safetensors")),
        &input,
        &in_dims,
        &output,
        &out_dims,
    );
    (model, output)
}

/// The io file by hand: two F64 tensors.
fn write_io(path: &std::path::Path, x: &[f64], xd: &[usize], y: &[f64], yd: &[usize]) {
    let dims = |d: &[usize]| {
        d.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let header = format!(
        "{{\"input\":{{\"dtype\":\"F64\",\"shape\":[{}],\"data_offsets\":[0,{}]}},\"output\":{{\"dtype\":\"F64\",\"shape\":[{}],\"data_offsets\":[{},{}]}}}}",
        dims(xd),
        8 * x.len(),
        dims(yd),
        8 * x.len(),
        8 * (x.len() + y.len())
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    for v in x.iter().chain(y) {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// An input as the numbers the io file holds (token ids as floats).
trait AsNumbers {
    fn numbers(&self) -> Vec<f64>;
}

impl<const N: usize> AsNumbers for SVector<f32, N> {
    fn numbers(&self) -> Vec<f64> {
        self.iter().map(|&v| f64::from(v)).collect()
    }
}

impl<const N: usize> AsNumbers for [u32; N] {
    fn numbers(&self) -> Vec<f64> {
        self.iter().map(|&v| f64::from(v)).collect()
    }
}

fn images<const N: usize>(seed: u64, n: usize) -> Vec<SVector<f32, N>> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| SVector::from_fn(|_, _| (rng.next_u64() % 2000) as f32 / 1000.0 - 1.0))
        .collect()
}

/// onnxruntime's outputs for model `name` from the committed fixture, if the fixture was made
/// from these exact model bytes.
fn ort(name: &str, model: &[u8]) -> Vec<f64> {
    let bytes = std::fs::read(format!("{FIXTURES}/onnx_ort.safetensors")).unwrap();
    let file = SafeTensors::parse(&bytes).unwrap();
    let hash = file
        .metadata(&format!("{name}.onnx"))
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert_eq!(
        hash,
        fnv(model),
        "the {name} export changed since onnxruntime ran it: rerun bench/fixtures/onnx_parity.py"
    );
    file.get(name).unwrap().values().collect()
}

fn max_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn matches_ort(name: &str, model: &[u8], ours: &[f64]) {
    let theirs = ort(name, model);
    let err = max_error(ours, &theirs);
    println!("{name}: stacknet vs onnxruntime {err:.2e}");
    assert!(err <= 1e-5, "{name}: {err:e}");
}

/// Batch norm's running statistics away from 0 and 1, from a seed: set, not trained, so that
/// the exported bytes are the same on every CPU (training's sums round by instruction set).
fn moved_statistics<N: Network<f32>>(net: &mut N, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    for i in 0..N::RUNNING_STATS {
        let count = N::running_stats_info(i).kind == TensorKind::Count;
        for v in net.running_stats_mut(i) {
            *v = if count {
                5.0
            } else {
                0.25 + (rng.next_u64() % 1000) as f32 / 1000.0
            };
        }
    }
}

#[test]
fn lenet_runs_in_onnxruntime_as_in_stacknet() {
    let mut net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    load_safetensors(format!("{FIXTURES}/lenet.safetensors"), &mut net).unwrap();
    let (model, ours) = export("lenet", &net, &images::<784>(5, 3));
    matches_ort("lenet", &model, &ours);
}

#[test]
fn every_image_kind_runs_in_onnxruntime_as_in_stacknet() {
    let mut net = Vision::<f32>::new(&mut SplitMix64::new(2));
    moved_statistics(&mut net, 3);
    let (model, ours) = export("vision", &net, &images::<288>(6, 3));
    matches_ort("vision", &model, &ours);
}

#[test]
fn every_sequence_kind_runs_in_onnxruntime_as_in_stacknet() {
    let net = Words::<f32>::new(&mut SplitMix64::new(4));
    let inputs = [[3u32, 0, 10, 7, 3, 1], [9, 9, 2, 0, 5, 4]];
    let (model, ours) = export("words", &net, &inputs);
    matches_ort("words", &model, &ours);
}

#[test]
fn a_global_pool_over_batch_norm_runs_in_onnxruntime_as_in_stacknet() {
    let mut net = Pooled::<f32>::new(&mut SplitMix64::new(7));
    moved_statistics(&mut net, 8);
    let (model, ours) = export("pooled", &net, &images::<108>(8, 4));
    matches_ort("pooled", &model, &ours);
}

#[test]
fn a_layer_without_an_onnx_form_is_named() {
    let net = WithMaxout::<f32>::new(&mut SplitMix64::new(1));
    let e = to_onnx(&net).unwrap_err();
    assert!(
        matches!(&e, OnnxError::Unsupported(l) if l.len() == 1 && l[0].0 == "maxout_1"),
        "{e:?}"
    );
    assert!(e.to_string().contains("`maxout_1`"), "{e}");
}

#[test]
fn the_model_declares_opset_17_and_the_batch_dimension() {
    let net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    let model = to_onnx(&net).unwrap();
    // ModelProto field 1 (ir_version) = 8, as the first bytes: key 0x08, value 8.
    assert_eq!(&model[..2], &[0x08, 0x08]);
    // The opset import {domain "", version 17} is the last field: key 0x42, length 4,
    // then field 1 = "" (0x0A 0x00) and field 2 = 17 (0x10 0x11).
    assert_eq!(
        &model[model.len() - 6..],
        &[0x42, 0x04, 0x0A, 0x00, 0x10, 0x11]
    );
    let n = |s: &str| {
        model
            .windows(s.len())
            .filter(|w| *w == s.as_bytes())
            .count()
    };
    // Every parameter under its PyTorch name; the symbolic batch dimension `N`.
    for name in ["conv1.weight", "conv1.bias", "fc3.weight", "fc3.bias"] {
        assert_eq!(n(name), 2, "{name}: the initializer and the node input");
    }
    assert!(
        n("\x12\x01N") >= 2,
        "dim_param N on the input and the output"
    );
}

/// The shipped LeNet-5 (`examples/embedded/lenet.safetensors`) as ONNX, for the benchmark's
/// onnxruntime rows (`bench/ort_int8.py`), so that the peer runs exactly stacknet's weights.
#[test]
fn shipped_lenet_is_exported_for_the_benchmark() {
    let mut net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    let weights = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/embedded/lenet.safetensors"
    );
    load_safetensors(weights, &mut net).unwrap();
    stacknet::onnx::save_onnx(parity_dir().join("lenet_shipped.onnx"), &net).unwrap();
}
