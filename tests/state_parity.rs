//! Whole `state_dict`s against PyTorch, both ways: batch norm (2-D after convolutions, 1-D
//! after a dense layer) with its running statistics and `num_batches_tracked`, and residual
//! blocks with an identity and a projection shortcut.
//!
//! PyTorch → stacknet: `bench/fixtures/state_parity.py` writes `tests/fixtures/normed*` and
//! `residual*` (state_dicts after training-mode passes, two inputs and PyTorch's float64
//! eval-mode outputs); these tests load them into `Net<f32>` and `Net<f64>` and compare.
//! stacknet → PyTorch: the `*_export_*` tests write a trained stacknet network and its outputs
//! to `target/safetensors-parity/` for that script to load with `strict=True`. No Python here.

use stacknet::data::{load_safetensors, save_params_safetensors, save_safetensors, to_safetensors};
use stacknet::prelude::*;
use stacknet::runtime::safetensors::{Dtype, SafeTensors};
use stacknet::runtime::{Params, Shape, StateEntry, TensorInfo, TensorKind};
use std::path::PathBuf;

network! {
    /// The script's `Normed`: a 2-D batch norm after each convolution, a 1-D one after fc1;
    /// also baked from PyTorch's file (`Normed::BAKED`).
    #[weights = "fixtures/normed.safetensors"]
    #[derive(Clone)]
    pub struct Normed(input: [1, 12, 12]) {
        conv1: conv2d(6, kernel = 3, padding = 1), bn1: batch_norm, relu,
        max_pool2d(2),
        conv2: conv2d(8, kernel = 3), bn2: batch_norm, relu,
        flatten,
        fc1: dense(16), bn3: batch_norm, relu,
        fc2: dense(5),
    }
}

network! {
    /// The script's `Residual`: an identity stage, then a strided stage whose shortcut is a
    /// 1×1 projection with its own batch norm (`stage2.shortcut.conv2d_0`,
    /// `stage2.shortcut.batch_norm_1`); also baked from PyTorch's file.
    #[weights = "fixtures/residual.safetensors"]
    #[derive(Clone)]
    pub struct Residual(input: [2, 10, 10]) {
        stem: conv2d(4, kernel = 3, padding = 1, bias = false), bn: batch_norm, relu,
        stage1: residual {
            conv1: conv2d(4, kernel = 3, padding = 1, bias = false), bn1: batch_norm, relu,
            conv2: conv2d(4, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
        },
        relu,
        stage2: residual(shortcut = { conv2d(8, kernel = 1, stride = 2, bias = false), batch_norm }) {
            conv1: conv2d(8, kernel = 3, stride = 2, padding = 1, bias = false), bn1: batch_norm, relu,
            conv2: conv2d(8, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
        },
        relu,
        global_avg_pool2d,
        fc: dense(3),
    }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(FIXTURES).join(name)
}

fn parity_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safetensors-parity");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tensor of a fixture, as f64, with its shape.
fn tensor(bytes: &[u8], name: &str) -> (Vec<f64>, Vec<u64>) {
    let file = SafeTensors::parse(bytes).unwrap();
    let t = file.get(name).unwrap_or_else(|| panic!("no `{name}`"));
    (t.values().collect(), t.shape.dims().to_vec())
}

/// Largest error, relative to |want| or absolute where |want| < 1 (outputs near 0).
fn max_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The eval-mode outputs of a batch of inputs laid out as `[n, c, h, w]`, flattened.
fn outputs<T, N, const I: usize>(net: &N, xs: &[f64]) -> Vec<f64>
where
    T: Scalar,
    N: Network<T, Input = SVector<T, I>>,
{
    assert_eq!(xs.len() % I, 0);
    xs.chunks_exact(I)
        .flat_map(|x| {
            let y = net.forward(&SVector::from_fn(|i, _| T::of(x[i])));
            y.flat().iter().map(|v| v.to_f64()).collect::<Vec<_>>()
        })
        .collect()
}

/// Every batch-norm buffer (running mean, running variance, count) as the file has it,
/// checked value for value (exact: F32 into f32 or f64, I64 counts into either); returns the
/// counts.
fn buffers_are_the_files<T: Scalar, N: Network<T>>(net: &N, bytes: &[u8]) -> Vec<f64> {
    let file = SafeTensors::parse(bytes).unwrap();
    let mut counts = Vec::new();
    for i in 0..N::RUNNING_STATS {
        let info = N::running_stats_info(i);
        let name = info.to_string();
        let t = file.get(&name).unwrap_or_else(|| panic!("no `{name}`"));
        let want: Vec<f64> = t.values().collect();
        let got: Vec<f64> = net.running_stats(i).iter().map(|v| v.to_f64()).collect();
        assert_eq!(got, want, "{name}");
        if info.kind == TensorKind::Count {
            assert_eq!((t.dtype, t.shape.dims()), (Dtype::I64, &[][..]), "{name}");
            counts.push(got[0]);
        }
    }
    counts
}

/// PyTorch's state_dict into `Net<T>`: same buffers, same counts, PyTorch's outputs on both
/// inputs to `tol`. Returns the error.
fn pytorch_into<T, N, const I: usize>(name: &str, mut net: N, tol: f64) -> f64
where
    T: Scalar,
    N: Network<T, Input = SVector<T, I>>,
{
    load_safetensors(fixture(&format!("{name}.safetensors")), &mut net).unwrap();
    is_pytorchs(name, &net, tol)
}

/// A network holding PyTorch's state_dict `name`: the file's buffers and counts, and
/// PyTorch's outputs on both inputs to `tol`. Returns the error.
fn is_pytorchs<T, N, const I: usize>(name: &str, net: &N, tol: f64) -> f64
where
    T: Scalar,
    N: Network<T, Input = SVector<T, I>>,
{
    let weights = std::fs::read(fixture(&format!("{name}.safetensors"))).unwrap();
    let io = std::fs::read(fixture(&format!("{name}_io.safetensors"))).unwrap();
    let counts = buffers_are_the_files(net, &weights);
    assert_eq!(counts.len(), N::RUNNING_STATS / 3);
    // The script's 20 training-mode passes.
    assert!(counts.iter().all(|&c| c == 20.0), "{counts:?}");
    let (x, x_shape) = tensor(&io, "input");
    let (want, y_shape) = tensor(&io, "output");
    assert_eq!((x_shape[0], y_shape[0]), (2, 2), "two inputs");
    assert_eq!(
        x_shape[1..],
        N::INPUT_SHAPE
            .dims()
            .iter()
            .map(|&d| d as u64)
            .collect::<Vec<_>>()[..]
    );
    let got = outputs(net, &x);
    let err = max_error(&got, &want);
    println!(
        "{name} {} vs PyTorch (float64): {err:.2e}",
        core::any::type_name::<T>()
    );
    assert!(err <= tol, "{name}: {err:e}: {got:?} vs {want:?}");
    err
}

#[test]
fn pytorch_normed_gives_pytorchs_outputs() {
    pytorch_into("normed", Normed::<f32>::new(&mut SplitMix64::new(1)), 1e-5);
    pytorch_into("normed", Normed::<f64>::new(&mut SplitMix64::new(1)), 1e-9);
}

#[test]
fn pytorch_residual_gives_pytorchs_outputs() {
    pytorch_into(
        "residual",
        Residual::<f32>::new(&mut SplitMix64::new(1)),
        1e-5,
    );
    pytorch_into(
        "residual",
        Residual::<f64>::new(&mut SplitMix64::new(1)),
        1e-9,
    );
}

/// The same files baked by `#[weights]`: the compile-time decoding (PyTorch's I64 counts
/// included) gives the run-time load, bit for bit, and so PyTorch's outputs.
#[test]
fn pytorchs_files_baked_at_compile_time_are_the_run_time_loads() {
    is_pytorchs("normed", &Normed::<f32>::BAKED, 1e-5);
    is_pytorchs("normed", &Normed::<f64>::BAKED, 1e-9);
    is_pytorchs("residual", &Residual::<f32>::BAKED, 1e-5);
    is_pytorchs("residual", &Residual::<f64>::BAKED, 1e-9);
    let mut loaded = Normed::<f32>::new(&mut SplitMix64::new(1));
    load_safetensors(fixture("normed.safetensors"), &mut loaded).unwrap();
    assert_eq!(
        to_safetensors(&loaded),
        to_safetensors(&Normed::<f32>::BAKED)
    );
    let mut loaded = Residual::<f32>::new(&mut SplitMix64::new(1));
    load_safetensors(fixture("residual.safetensors"), &mut loaded).unwrap();
    assert_eq!(
        to_safetensors(&loaded),
        to_safetensors(&Residual::<f32>::BAKED)
    );
}

/// stacknet's names are the fixtures' names, in stacknet's state_dict order (each layer's
/// parameters, then its buffers; a residual's main branch, then its shortcut).
#[test]
fn stacknet_names_are_the_fixtures() {
    fn names<N: Network<f32>>(net: &N) -> Vec<String> {
        let bytes = to_safetensors(net);
        let file = SafeTensors::parse(&bytes).unwrap();
        let mut names: Vec<String> = file.tensors().map(|t| t.name.to_string()).collect();
        let infos: Vec<String> = (0..N::TENSORS + N::RUNNING_STATS)
            .map(|i| match N::state_entry(i) {
                StateEntry::Param(j) => N::tensor_info(j).to_string(),
                StateEntry::Buffer(j) => N::running_stats_info(j).to_string(),
            })
            .collect();
        assert_eq!(names, infos);
        names.sort();
        names
    }
    let fixture_names = |name: &str| {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let file = SafeTensors::parse(&bytes).unwrap();
        let mut names: Vec<String> = file.tensors().map(|t| t.name.to_string()).collect();
        names.sort();
        names
    };
    let normed = names(&Normed::<f32>::new(&mut SplitMix64::new(1)));
    assert_eq!(normed, fixture_names("normed.safetensors"));
    let residual = names(&Residual::<f32>::new(&mut SplitMix64::new(1)));
    assert_eq!(residual, fixture_names("residual.safetensors"));
    let shortcut: Vec<&str> = residual
        .iter()
        .map(String::as_str)
        .filter(|n| n.contains("shortcut"))
        .collect();
    assert_eq!(
        shortcut,
        [
            "stage2.shortcut.batch_norm_1.bias",
            "stage2.shortcut.batch_norm_1.num_batches_tracked",
            "stage2.shortcut.batch_norm_1.running_mean",
            "stage2.shortcut.batch_norm_1.running_var",
            "stage2.shortcut.batch_norm_1.weight",
            "stage2.shortcut.conv2d_0.weight",
        ]
    );
}

/// Two inputs and stacknet's outputs for them, as a `Params` so that the exporter writes
/// them: `input` [2, c, h, w], `output` [2, o] (the f64 network, loaded from the F32 file),
/// `output_f32` [2, o] (the f32 network).
struct Io<const C: usize, const H: usize, const W: usize, const O: usize> {
    input: Vec<f64>,
    output: Vec<f64>,
    output_f32: Vec<f64>,
}

impl<const C: usize, const H: usize, const W: usize, const O: usize> Params<f64>
    for Io<C, H, W, O>
{
    const TENSORS: usize = 3;
    const LEN: usize = 2 * C * H * W + 4 * O;
    fn tensor(&self, i: usize) -> &[f64] {
        match i {
            0 => &self.input,
            1 => &self.output,
            2 => &self.output_f32,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f64] {
        match i {
            0 => &mut self.input,
            1 => &mut self.output,
            2 => &mut self.output_f32,
            _ => &mut [],
        }
    }
    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape) = match i {
            0 => ("input", Shape::rank4(2, C, H, W)),
            1 => ("output", Shape::matrix(2, O)),
            _ => ("output_f32", Shape::matrix(2, O)),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind: TensorKind::Bias,
            fan_in: 0,
            fan_out: 0,
        }
    }
}

/// Deterministic inputs, off-centre and wider than N(0, 1) as the script's are.
fn input<const I: usize>(k: usize) -> SVector<f32, I> {
    SVector::from_fn(|i, _| 2.5 * ((i * 7 + k * 131) as f32 * 0.61).sin() + 1.5)
}

/// A stacknet-initialised network after three minibatch training steps (batch 8, SGD), so
/// that its parameters, running statistics and counts are all its own; written with
/// `save_safetensors` with two inputs and its eval outputs in f32 and (loaded into
/// `Net<f64>` from the same file) in f64.
fn export<N, M, const I: usize, const C: usize, const H: usize, const W: usize, const O: usize>(
    name: &str,
    mut net: N,
    mut net64: M,
) where
    N: BatchNetwork<f32> + Network<f32, Input = SVector<f32, I>, Output = SVector<f32, O>>,
    M: Network<f64, Input = SVector<f64, I>>,
{
    assert_eq!(I, C * H * W);
    let before = to_safetensors(&net);
    let mut trainer = Box::new(BatchTrainer::<N, 8>::new());
    let mut sgd = Sgd::new(0.05);
    for step in 0..3 {
        let xs: [SVector<f32, I>; 8] = core::array::from_fn(|k| input(step * 8 + k));
        let labels: [usize; 8] = core::array::from_fn(|k| (step + k) % O);
        let loss = trainer
            .step(&mut net, &mut sgd, &SoftmaxCrossEntropy, &xs, &labels)
            .unwrap();
        assert!(loss.is_finite());
    }
    assert_ne!(to_safetensors(&net), before);
    let dir = parity_dir();
    let path = dir.join(format!("{name}_from_stacknet.safetensors"));
    save_safetensors(&path, &net).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let counts = buffers_are_the_files(&net, &bytes);
    assert!(counts.iter().all(|&c| c == 3.0), "{counts:?}");
    // The running statistics have moved from 0 and 1.
    for i in 0..N::RUNNING_STATS {
        let info = N::running_stats_info(i);
        if info.kind == TensorKind::Buffer {
            let start = if info.name == "running_mean" {
                0.0
            } else {
                1.0
            };
            assert!(net.running_stats(i).iter().all(|&v| v != start), "{info}");
        }
    }

    load_safetensors(&path, &mut net64).unwrap();
    let xs: Vec<f64> = (0..2)
        .flat_map(|k| {
            input::<I>(1000 + k)
                .iter()
                .map(|&v| v as f64)
                .collect::<Vec<_>>()
        })
        .collect();
    let io = Io::<C, H, W, O> {
        output: outputs(&net64, &xs),
        output_f32: outputs(&net, &xs),
        input: xs,
    };
    let err = max_error(&io.output_f32, &io.output);
    println!("{name}: stacknet f32 vs f64 on the same weights: {err:.2e}");
    assert!(err <= 1e-5, "{err:e}");
    save_params_safetensors(
        dir.join(format!("{name}_from_stacknet_io.safetensors")),
        &io,
    )
    .unwrap();
}

#[test]
fn normed_export_for_pytorch() {
    export::<_, _, 144, 1, 12, 12, 5>(
        "normed",
        Normed::<f32>::new(&mut SplitMix64::new(21)),
        Normed::<f64>::new(&mut SplitMix64::new(1)),
    );
}

#[test]
fn residual_export_for_pytorch() {
    export::<_, _, 200, 2, 10, 10, 3>(
        "residual",
        Residual::<f32>::new(&mut SplitMix64::new(22)),
        Residual::<f64>::new(&mut SplitMix64::new(1)),
    );
}
