//! safetensors through the facade: PyTorch's LeNet-5 loaded and run to PyTorch's logits (F32
//! and BF16 files, made by `bench/fixtures/safetensors_parity.py`), stacknet's export written
//! for that script to load back into PyTorch, and round trips of LeNet and residual networks.

use stacknet::data::{
    load_network, load_safetensors, load_safetensors_bytes, save_network, save_params_safetensors,
    save_safetensors, to_safetensors, SafetensorsError,
};
use stacknet::prelude::*;
use stacknet::runtime::safetensors::{self as st, Dtype, Error, SafeTensors};
use stacknet::runtime::{Params, Shape, StateEntry, TensorInfo, TensorKind};
use std::path::PathBuf;

network! {
    /// The lenet example's network.
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
    /// Residual blocks, a repeat and a projection shortcut: dotted, numbered names.
    #[derive(Clone)]
    pub struct Res(input: [2, 6, 6]) {
        conv1: conv2d(3, kernel = 3, padding = 1), relu,
        layer1: repeat(2) {
            residual { conv1: conv2d(3, kernel = 3, padding = 1), relu, conv2: conv2d(3, kernel = 3, padding = 1) },
        },
        down: residual(shortcut = { conv2d(4, kernel = 1, stride = 2) }) {
            conv2d(4, kernel = 3, stride = 2, padding = 1), relu,
        },
        global_avg_pool2d,
        fc: dense(3),
    }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const IO: &[u8] = include_bytes!("fixtures/lenet_io.safetensors");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(FIXTURES).join(name)
}

/// A tensor of the input/output fixture, as f64.
fn io(name: &str) -> Vec<f64> {
    let file = SafeTensors::parse(IO).unwrap();
    file.get(name).unwrap().values().collect()
}

fn input<T: Scalar>() -> SVector<T, 784> {
    let x = io("input");
    assert_eq!(x.len(), 784);
    SVector::from_fn(|i, _| T::of(x[i]))
}

/// Largest error, relative to |want| or absolute where |want| < 1 (logits near 0).
fn max_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn params<T: Scalar, P: Params<T>>(p: &P) -> Vec<T> {
    (0..P::TENSORS).flat_map(|i| p.tensor(i).to_vec()).collect()
}

#[test]
fn pytorch_lenet_f32_gives_pytorchs_logits() {
    let mut net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    load_safetensors(fixture("lenet.safetensors"), &mut net).unwrap();
    let y: Vec<f64> = net.forward(&input()).iter().map(|&v| v as f64).collect();
    let err = max_error(&y, &io("output"));
    println!("f32 LeNet vs PyTorch (float64 reference): {err:.2e}");
    assert!(err < 1e-5, "{err:e}: {y:?} vs {:?}", io("output"));

    // In f64 the same weights agree with PyTorch's float64 run to rounding.
    let mut net64 = LeNet5::<f64>::new(&mut SplitMix64::new(1));
    load_safetensors(fixture("lenet.safetensors"), &mut net64).unwrap();
    let y: Vec<f64> = net64.forward(&input()).iter().copied().collect();
    let err = max_error(&y, &io("output"));
    println!("f64 LeNet vs PyTorch (float64): {err:.2e}");
    assert!(err < 1e-12, "{err:e}");
}

#[test]
fn pytorch_lenet_bf16_converts_on_load() {
    let bytes = std::fs::read(fixture("lenet_bf16.safetensors")).unwrap();
    let file = SafeTensors::parse(&bytes).unwrap();
    assert!(file.tensors().all(|t| t.dtype == Dtype::BF16));
    let mut net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    st::load_params(&mut net, &file).unwrap();
    let y: Vec<f64> = net.forward(&input()).iter().map(|&v| v as f64).collect();
    let err = max_error(&y, &io("output_bf16"));
    println!("bf16 LeNet vs PyTorch: {err:.2e}");
    assert!(err < 1e-5, "{err:e}");
}

/// One input and stacknet's logits, as a `Params` so that the exporter writes them.
struct Io {
    input: SVector<f32, 784>,
    output: [f32; 10],
}

impl Params<f32> for Io {
    const TENSORS: usize = 2;
    const LEN: usize = 794;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.input.as_slice(),
            1 => &self.output,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => self.input.as_mut_slice(),
            1 => &mut self.output,
            _ => &mut [],
        }
    }
    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape) = match i {
            0 => ("input", Shape::image(1, 28, 28)),
            _ => ("output", Shape::vector(10)),
        };
        let kind = TensorKind::Bias;
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: 0,
            fan_out: 0,
        }
    }
}

#[test]
fn stacknet_export_is_pytorchs_state_dict_and_round_trips() {
    let net = LeNet5::<f32>::new(&mut SplitMix64::new(7));
    let bytes = to_safetensors(&net);
    let file = SafeTensors::parse(&bytes).unwrap();
    let names: Vec<String> = file.tensors().map(|t| t.name.to_string()).collect();
    let torch = [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "conv2.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "fc3.weight",
        "fc3.bias",
    ];
    assert_eq!(names, torch, "PyTorch's state_dict order");
    assert_eq!(file.get("conv1.weight").unwrap().shape.dims(), [6, 1, 5, 5]);
    assert_eq!(file.get("fc1.weight").unwrap().shape.dims(), [120, 400]);

    // For the Python script: the weights and one input with stacknet's logits.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safetensors-parity");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("from_stacknet.safetensors");
    save_safetensors(&path, &net).unwrap();
    let x = input::<f32>();
    let y = net.forward(&x);
    let io = Io {
        input: x,
        output: core::array::from_fn(|i| y[i]),
    };
    save_params_safetensors(dir.join("from_stacknet_io.safetensors"), &io).unwrap();

    // Back into stacknet, bit for bit.
    let mut back = LeNet5::<f32>::new(&mut SplitMix64::new(8));
    assert_ne!(params(&back), params(&net));
    load_safetensors(&path, &mut back).unwrap();
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(params(&back)), bits(params(&net)));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn residual_network_round_trips_with_dotted_names() {
    let net = Res::<f32>::new(&mut SplitMix64::new(3));
    let bytes = to_safetensors(&net);
    let file = SafeTensors::parse(&bytes).unwrap();
    assert_eq!(file.len(), <Res<f32> as Params<f32>>::TENSORS);
    let names: Vec<String> = file.tensors().map(|t| t.name.to_string()).collect();
    let infos: Vec<String> = (0..<Res<f32> as Params<f32>>::TENSORS)
        .map(|i| <Res<f32> as Params<f32>>::tensor_info(i).to_string())
        .collect();
    assert_eq!(names, infos);
    assert!(
        names.iter().any(|n| n.starts_with("layer1.1.")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.contains("shortcut")), "{names:?}");

    let mut back = Res::<f32>::new(&mut SplitMix64::new(4));
    load_safetensors_bytes(&bytes, &mut back).unwrap();
    assert_eq!(params(&back), params(&net));
    let x = SVector::<f32, 72>::from_fn(|i, _| (i as f32 * 0.37).sin());
    assert_eq!(back.forward(&x), net.forward(&x));

    // In f64: written as F64, loads back exactly; the f32 file loads into f64 too.
    let mut net64 = Res::<f64>::new(&mut SplitMix64::new(5));
    load_safetensors_bytes(&bytes, &mut net64).unwrap();
    let b64 = to_safetensors(&net64);
    let f = SafeTensors::parse(&b64).unwrap();
    assert!(f.tensors().all(|t| t.dtype == Dtype::F64));
    let mut back32 = Res::<f32>::new(&mut SplitMix64::new(6));
    load_safetensors_bytes(&b64, &mut back32).unwrap();
    assert_eq!(params(&back32), params(&net));
}

#[test]
fn another_architecture_is_refused_and_nothing_changes() {
    let res = to_safetensors(&Res::<f32>::new(&mut SplitMix64::new(3)));
    let mut net = LeNet5::<f32>::new(&mut SplitMix64::new(1));
    let before = params(&net);
    let e = load_safetensors_bytes(&res, &mut net).unwrap_err();
    assert!(matches!(*e, Error::WrongShape { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "tensor `conv1.weight`: the network expects shape [6, 1, 5, 5], the file has [3, 2, 3, 3]"
    );
    assert_eq!(params(&net), before);

    // A file cut short on disk names the file and the tensor.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safetensors-parity");
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.safetensors");
    let bytes = std::fs::read(fixture("lenet.safetensors")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let e = load_safetensors(&cut, &mut net).unwrap_err();
    assert!(
        matches!(&e, SafetensorsError::Invalid { error, .. } if matches!(**error, Error::Truncated { .. }))
    );
    assert!(
        e.to_string()
            .contains("cut.safetensors`: truncated safetensors file"),
        "{e}"
    );
    assert_eq!(params(&net), before);
    let e = load_safetensors(dir.join("absent.safetensors"), &mut net).unwrap_err();
    assert!(matches!(e, SafetensorsError::Io { .. }));
}

network! {
    /// LeNet-5's parameter count in another architecture: the flat format cannot tell them
    /// apart, safetensors can.
    pub struct SameCount(input: [61705]) {
        fc: dense(1, bias = false),
        out: dense(1, bias = false),
    }
}

/// `save_network` / `load_network` (the examples' `--save` / `--load`) speak safetensors for a
/// `.safetensors` path: a round trip is exact, another architecture with the same parameter
/// count is refused by name where the flat format accepts it, and NaN weights are refused
/// unless asked, the network unchanged.
#[test]
fn save_and_load_network_carry_the_architecture_in_safetensors() {
    use stacknet::data::weights::{load_network_with, NonFinite};
    use stacknet::data::{load_network, save_network, WeightsError};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safetensors-network");
    std::fs::create_dir_all(&dir).unwrap();
    let (st_path, flat_path) = (dir.join("lenet.safetensors"), dir.join("lenet.weights"));
    let net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(4)));
    save_network(&st_path, &*net).unwrap();
    save_network(&flat_path, &*net).unwrap();
    assert!(SafeTensors::parse(&std::fs::read(&st_path).unwrap()).is_ok());
    let mut back = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(5)));
    load_network(&st_path, &mut *back).unwrap();
    assert_eq!(params(&*back), params(&*net));
    let mut back = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(5)));
    load_network(&flat_path, &mut *back).unwrap();
    assert_eq!(params(&*back), params(&*net));

    assert_eq!(SameCount::<f32>::PARAMS, LeNet5::<f32>::PARAMS);
    let other = Box::new(SameCount::<f32>::new(&mut SplitMix64::new(6)));
    let other_path = dir.join("other.safetensors");
    save_network(&other_path, &*other).unwrap();
    let mut target = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(7)));
    let before = params(&*target);
    let e = load_network(&other_path, &mut *target).unwrap_err();
    assert!(matches!(e, WeightsError::Safetensors(_)), "{e}");
    assert!(e.to_string().contains("conv1.weight"), "{e}");
    assert_eq!(params(&*target), before);
    // The flat format sees only the count, which agrees: why `.safetensors` is the one to use.
    let flat_other = dir.join("other.weights");
    save_network(&flat_other, &*other).unwrap();
    let mut fooled = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(7)));
    assert!(load_network(&flat_other, &mut *fooled).is_ok());

    let mut nan = net.clone();
    nan.tensor_mut(3)[2] = f32::NAN;
    let nan_path = dir.join("nan.safetensors");
    save_network(&nan_path, &*nan).unwrap();
    let e = load_network(&nan_path, &mut *target).unwrap_err();
    assert!(matches!(e, WeightsError::NonFiniteValue { .. }), "{e}");
    assert_eq!(params(&*target), before);
    load_network_with(&nan_path, &mut *target, NonFinite::Allow).unwrap();
    assert!(target.tensor(3)[2].is_nan());
}

network! {
    /// Batch norm at the top level and inside a residual block: buffers beside parameters.
    #[derive(Clone)]
    pub struct Normed(input: [2, 4, 4]) {
        conv1: conv2d(3, kernel = 3, padding = 1), bn1: batch_norm, relu,
        block: residual { conv: conv2d(3, kernel = 3, padding = 1), bn: batch_norm },
        flatten,
        fc: dense(5),
    }
}

/// Distinct running statistics and batch counts, as training would leave them.
fn with_buffers(seed: u64) -> Normed<f32> {
    let mut net = Normed::<f32>::new(&mut SplitMix64::new(seed));
    for i in 0..<Normed<f32> as Network<f32>>::RUNNING_STATS {
        for (k, v) in net.running_stats_mut(i).iter_mut().enumerate() {
            *v = (seed as f32) + 0.25 * (i * 3 + k) as f32 + 0.5;
        }
    }
    net.bn1.num_batches_tracked = [7.0];
    net.block_bn.num_batches_tracked = [12.0];
    net
}

fn buffers(net: &Normed<f32>) -> Vec<f32> {
    (0..<Normed<f32> as Network<f32>>::RUNNING_STATS)
        .flat_map(|i| net.running_stats(i).to_vec())
        .collect()
}

#[test]
fn batch_norm_buffers_are_saved_in_state_dict_order_and_loaded() {
    // Two batch norms of 3 channels: mean, variance (3 each) and one count apiece.
    assert_eq!(<Normed<f32> as Network<f32>>::RUNNING_STATS, 6);
    assert_eq!(<Normed<f32> as Network<f32>>::BUFFERS, 14);
    let summary = Normed::<f32>::summary().to_string();
    assert!(
        summary.contains("buffers: 14 in 6 tensors (56 bytes)"),
        "{summary}"
    );
    let net = with_buffers(3);
    let bytes = to_safetensors(&net);
    let file = SafeTensors::parse(&bytes).unwrap();
    let names: Vec<String> = file.tensors().map(|t| t.name.to_string()).collect();
    // torch.nn.Module.state_dict(): each module's parameters, then its buffers.
    let torch = [
        "conv1.weight",
        "conv1.bias",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "bn1.num_batches_tracked",
        "block.conv.weight",
        "block.conv.bias",
        "block.bn.weight",
        "block.bn.bias",
        "block.bn.running_mean",
        "block.bn.running_var",
        "block.bn.num_batches_tracked",
        "fc.weight",
        "fc.bias",
    ];
    assert_eq!(names, torch);
    let count = file.get("bn1.num_batches_tracked").unwrap();
    assert_eq!((count.dtype, count.shape.dims()), (Dtype::I64, &[][..]));
    assert_eq!(count.data, 7i64.to_le_bytes());
    let mean = file.get("block.bn.running_mean").unwrap();
    assert_eq!((mean.dtype, mean.shape.dims()), (Dtype::F32, &[3u64][..]));
    assert_eq!(
        mean.values().collect::<Vec<_>>(),
        [3.5 + 2.25, 3.5 + 2.5, 3.5 + 2.75]
    );

    // Into a fresh network: parameters and buffers, so inference gives the same numbers.
    let mut back = Normed::<f32>::new(&mut SplitMix64::new(4));
    assert_ne!(buffers(&back), buffers(&net));
    load_safetensors_bytes(&bytes, &mut back).unwrap();
    assert_eq!(params(&back), params(&net));
    assert_eq!(buffers(&back), buffers(&net));
    assert_eq!(back.block_bn.num_batches_tracked, [12.0]);
    let x = SVector::<f32, 32>::from_fn(|i, _| (i as f32 * 0.37).sin());
    assert_eq!(back.forward(&x), net.forward(&x));
}

#[test]
fn a_file_without_the_running_statistics_is_refused_and_nothing_changes() {
    let net = with_buffers(5);
    // Parameters only, as the earlier format wrote a batch-norm network.
    let mut old = vec![0; st::exported_len::<f32, Normed<f32>>()];
    st::export_to_slice(&net, &mut old).unwrap();
    let mut into = with_buffers(6);
    let (p, b) = (params(&into), buffers(&into));
    let e = load_safetensors_bytes(&old, &mut into).unwrap_err();
    assert!(
        matches!(&*e, Error::Missing { expected } if expected.to_string() == "bn1.running_mean"),
        "{e}"
    );
    assert_eq!((params(&into), buffers(&into)), (p, b));
}

#[test]
fn pytorchs_count_and_any_float_dtype_load_into_the_buffers() {
    // A state_dict with the count as I64 and the statistics as F64, laid out by hand.
    let net = with_buffers(8);
    let mut header = String::from("{");
    let mut data = Vec::new();
    for i in 0..<Normed<f32> as Params<f32>>::TENSORS + 6 {
        let (info, values) = match <Normed<f32> as Network<f32>>::state_entry(i) {
            StateEntry::Param(j) => (Normed::<f32>::tensor_info(j), net.tensor(j).to_vec()),
            StateEntry::Buffer(j) => (
                <Normed<f32> as Network<f32>>::running_stats_info(j),
                net.running_stats(j).to_vec(),
            ),
        };
        let start = data.len();
        let dtype = if info.name == "num_batches_tracked" {
            data.extend((values[0] as i64 + 1000).to_le_bytes());
            "I64"
        } else if info.kind == TensorKind::Buffer {
            values
                .iter()
                .for_each(|&v| data.extend(f64::from(v).to_le_bytes()));
            "F64"
        } else {
            values.iter().for_each(|&v| data.extend(v.to_le_bytes()));
            "F32"
        };
        let dims: Vec<String> = info.shape.dims().iter().map(|d| d.to_string()).collect();
        if i > 0 {
            header.push(',');
        }
        header += &format!(
            "\"{info}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            dims.join(","),
            data.len()
        );
    }
    header.push('}');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(&data);
    let mut into = with_buffers(9);
    load_safetensors_bytes(&bytes, &mut into).unwrap();
    assert_eq!(buffers(&into)[..6], buffers(&net)[..6]);
    assert_eq!(into.bn1.num_batches_tracked, [1007.0]);
    assert_eq!(into.block_bn.num_batches_tracked, [1012.0]);
}

#[test]
fn the_flat_format_carries_the_buffers_too() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safetensors-buffers");
    std::fs::create_dir_all(&dir).unwrap();
    let net = with_buffers(10);
    for name in ["normed.weights", "normed.safetensors"] {
        let path = dir.join(name);
        save_network(&path, &net).unwrap();
        let mut back = with_buffers(11);
        load_network(&path, &mut back).unwrap();
        assert_eq!(
            (params(&back), buffers(&back)),
            (params(&net), buffers(&net)),
            "{name}"
        );
    }
    // A flat file of the parameters alone (as saved before buffers were) is refused by count.
    let path = dir.join("params-only.weights");
    stacknet::data::save_weights(&path, &params(&net)).unwrap();
    let mut back = with_buffers(12);
    assert!(load_network(&path, &mut back).is_err());
    assert_eq!(buffers(&back), buffers(&with_buffers(12)));
}
