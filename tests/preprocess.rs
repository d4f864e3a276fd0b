//! Preprocessing travels with the model: a fitted `Standardizer` or `MinMaxScaler` saved beside
//! a network's weights in one safetensors file, loaded back strictly (missing, unexpected,
//! wrong shape, colliding names), in f32 and f64. The scalers' statistics are computed by hand
//! here, not taken from the code under test.

use stacknet::data::{
    load_safetensors, load_safetensors_bytes, load_safetensors_with, load_safetensors_with_bytes,
    save_safetensors, save_safetensors_with, to_safetensors, to_safetensors_with, SafetensorsError,
};
use stacknet::prelude::*;
use stacknet::runtime::data::{MinMaxScaler, Standardizer};
use stacknet::runtime::safetensors::{self as st, Dtype, Error, ExportError, SafeTensors};
use stacknet::runtime::Params;
use std::path::PathBuf;

network! {
    /// Three features in, two out.
    #[derive(Clone)]
    pub struct Small(input: [3]) {
        fc1: dense(4), relu,
        fc2: dense(2),
    }
}

network! {
    /// `Small` and one more layer: its file holds a tensor `Small` lacks.
    pub struct Bigger(input: [3]) {
        fc1: dense(4), relu,
        fc2: dense(2), relu,
        fc3: dense(2),
    }
}

network! {
    /// A layer under the prefix a `Standardizer` claims.
    pub struct Clashing(input: [3]) {
        standardizer: dense(2),
    }
}

/// The training set: feature 0 is 1, 3, 5, 7; feature 1 is 10, 14, 12, 20; feature 2 is −2
/// throughout.
const DATA: [[f64; 3]; 4] = [
    [1.0, 10.0, -2.0],
    [3.0, 14.0, -2.0],
    [5.0, 12.0, -2.0],
    [7.0, 20.0, -2.0],
];

/// μ: (1 + 3 + 5 + 7)/4 = 4, (10 + 14 + 12 + 20)/4 = 14, −2.
const MEAN: [f64; 3] = [4.0, 14.0, -2.0];

/// σ (population): √(((−3)² + (−1)² + 1² + 3²)/4) = √5, √(((−4)² + 0² + (−2)² + 6²)/4) = √14,
/// and 1 for the constant feature (whose σ is 0).
fn std_dev() -> [f64; 3] {
    [(20.0f64 / 4.0).sqrt(), (56.0f64 / 4.0).sqrt(), 1.0]
}

/// Minima 1, 10, −2; maxima 7, 20, −2: ranges 6, 10, and 1 for the constant feature.
const MIN: [f64; 3] = [1.0, 10.0, -2.0];
const RANGE: [f64; 3] = [6.0, 10.0, 1.0];

fn v<T: Scalar>(x: [f64; 3]) -> SVector<T, 3> {
    SVector::from(x.map(T::of))
}

fn data<T: Scalar>() -> Vec<SVector<T, 3>> {
    DATA.iter().map(|&x| v(x)).collect()
}

/// Every value of a `Params`, as f64 bits (exact for f32 and f64).
fn bits<T: Scalar, P: Params<T>>(p: &P) -> Vec<u64> {
    (0..P::TENSORS)
        .flat_map(|i| {
            p.tensor(i)
                .iter()
                .map(|x| x.to_f64().to_bits())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn zero_standardizer<T: Scalar, const F: usize>() -> Standardizer<T, F> {
    Standardizer {
        mean: SVector::zeros(),
        std: SVector::zeros(),
    }
}

fn zero_min_max<T: Scalar>() -> MinMaxScaler<T, 3> {
    MinMaxScaler {
        min: SVector::zeros(),
        range: SVector::zeros(),
        a: T::zero(),
        b: T::zero(),
    }
}

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/preprocess")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Within a relative `tol` of `want` (absolute below 1).
fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0)
}

fn tolerance<T: Scalar>() -> f64 {
    if T::BYTES == 4 {
        1e-6
    } else {
        1e-15
    }
}

/// The names, shapes and dtypes of a file, in header order.
fn listing(bytes: &[u8]) -> Vec<(String, Vec<u64>, Dtype)> {
    let file = SafeTensors::parse(bytes).unwrap();
    file.tensors()
        .map(|t| (t.name.to_string(), t.shape.dims().to_vec(), t.dtype))
        .collect()
}

fn standardizer_round_trip<T: Scalar>(dtype: Dtype) {
    let scaler = Standardizer::<T, 3>::fit(&data::<T>()).unwrap();
    let sd = std_dev();
    for j in 0..3 {
        assert_eq!(scaler.mean[j], T::of(MEAN[j]), "mean {j}");
        assert_eq!(scaler.std[j], T::of(sd[j]), "std {j}");
    }
    let net = Small::<T>::new(&mut SplitMix64::new(1));
    let path = dir("standardizer").join(format!("small_{dtype}.safetensors"));
    save_safetensors_with(&path, &net, &scaler).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, to_safetensors_with(&net, &scaler).unwrap());

    // The network's state_dict, then the scaler's tensors, in the network's dtype.
    let f = |s: &str, d: &[u64]| (s.to_string(), d.to_vec(), dtype);
    assert_eq!(
        listing(&bytes),
        [
            f("fc1.weight", &[4, 3]),
            f("fc1.bias", &[4]),
            f("fc2.weight", &[2, 4]),
            f("fc2.bias", &[2]),
            f("standardizer.mean", &[3]),
            f("standardizer.std", &[3]),
        ]
    );
    let file = SafeTensors::parse(&bytes).unwrap();
    let mean: Vec<f64> = file.get("standardizer.mean").unwrap().values().collect();
    assert_eq!(mean, MEAN.map(|m| T::of(m).to_f64()));
    assert_eq!(
        bytes.len(),
        st::exported_state_with_len::<T, Small<T>, Standardizer<T, 3>>()
    );

    // Into a fresh network and a zeroed scaler: bit for bit.
    let mut back = Small::<T>::new(&mut SplitMix64::new(2));
    let mut loaded = zero_standardizer::<T, 3>();
    assert_ne!(bits(&back), bits(&net));
    load_safetensors_with(&path, &mut back, &mut loaded).unwrap();
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(bits(&loaded), bits(&scaler));

    // Unseen data scaled with the training statistics: (x − μ)/σ = (9 − 4)/√5 = √5,
    // (7 − 14)/√14 = −√14/2, (0 − (−2))/1 = 2.
    let x = v::<T>([9.0, 7.0, 0.0]);
    let want = [5f64.sqrt(), -(14f64.sqrt()) / 2.0, 2.0];
    let z = loaded.transform(&x);
    for j in 0..3 {
        assert!(
            close(z[j].to_f64(), want[j], tolerance::<T>()),
            "{j}: {} vs {}",
            z[j],
            want[j]
        );
    }
    assert_eq!(back.forward(&z), net.forward(&scaler.transform(&x)));
}

#[test]
fn a_network_and_its_standardizer_round_trip_in_one_file_f32() {
    standardizer_round_trip::<f32>(Dtype::F32);
}

#[test]
fn a_network_and_its_standardizer_round_trip_in_one_file_f64() {
    standardizer_round_trip::<f64>(Dtype::F64);
}

fn min_max_round_trip<T: Scalar>(dtype: Dtype) {
    let scaler = MinMaxScaler::<T, 3>::fit(&data::<T>(), -1.0, 1.0).unwrap();
    for j in 0..3 {
        assert_eq!(scaler.min[j], T::of(MIN[j]), "min {j}");
        assert_eq!(scaler.range[j], T::of(RANGE[j]), "range {j}");
    }
    let net = Small::<T>::new(&mut SplitMix64::new(3));
    let bytes = to_safetensors_with(&net, &scaler).unwrap();
    let f = |s: &str, d: &[u64]| (s.to_string(), d.to_vec(), dtype);
    assert_eq!(
        listing(&bytes)[4..],
        [
            f("min_max.min", &[3]),
            f("min_max.range", &[3]),
            f("min_max.a", &[]),
            f("min_max.b", &[]),
        ]
    );
    let file = SafeTensors::parse(&bytes).unwrap();
    let a: Vec<f64> = file.get("min_max.a").unwrap().values().collect();
    let range: Vec<f64> = file.get("min_max.range").unwrap().values().collect();
    assert_eq!((a, range), (vec![-1.0], RANGE.to_vec()));

    let mut back = Small::<T>::new(&mut SplitMix64::new(4));
    let mut loaded = zero_min_max::<T>();
    load_safetensors_with_bytes(&bytes, &mut back, &mut loaded).unwrap();
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(bits(&loaded), bits(&scaler));
    // a + (x − min)(b − a)/range: −1 + 2·1.5/6 = −0.5, −1 + 2·2.5/10 = −0.5, −1 + 2·1/1 = 1,
    // exact in binary floating point.
    assert_eq!(
        loaded.transform(&v([2.5, 12.5, -1.0])),
        v([-0.5, -0.5, 1.0])
    );
}

#[test]
fn a_network_and_its_min_max_scaler_round_trip_with_scalar_bounds_f32() {
    min_max_round_trip::<f32>(Dtype::F32);
}

#[test]
fn a_network_and_its_min_max_scaler_round_trip_with_scalar_bounds_f64() {
    min_max_round_trip::<f64>(Dtype::F64);
}

#[test]
fn an_f32_file_loads_into_f64_and_back() {
    let scaler = Standardizer::<f32, 3>::fit(&data::<f32>()).unwrap();
    let net = Small::<f32>::new(&mut SplitMix64::new(5));
    let bytes = to_safetensors_with(&net, &scaler).unwrap();
    let mut net64 = Small::<f64>::new(&mut SplitMix64::new(6));
    let mut scaler64 = zero_standardizer::<f64, 3>();
    load_safetensors_with_bytes(&bytes, &mut net64, &mut scaler64).unwrap();
    assert_eq!(bits(&net64), bits(&net));
    assert_eq!(bits(&scaler64), bits(&scaler));
    let b64 = to_safetensors_with(&net64, &scaler64).unwrap();
    assert!(listing(&b64).iter().all(|(_, _, d)| *d == Dtype::F64));
    let (mut net32, mut scaler32) = (
        Small::<f32>::new(&mut SplitMix64::new(7)),
        zero_standardizer(),
    );
    load_safetensors_with_bytes(&b64, &mut net32, &mut scaler32).unwrap();
    assert_eq!((bits(&net32), scaler32), (bits(&net), scaler));
}

/// The runtime's functions, with no heap: a buffer on the stack, sized by
/// `exported_state_with_len`, and one too small left untouched.
#[test]
fn the_runtime_writes_and_reads_the_pair_without_a_heap() {
    let scaler = MinMaxScaler::<f32, 3>::fit(&data::<f32>(), 0.0, 1.0).unwrap();
    let net = Small::<f32>::new(&mut SplitMix64::new(8));
    let len = st::exported_state_with_len::<f32, Small<f32>, MinMaxScaler<f32, 3>>();
    let mut buf = [0u8; 1024];
    assert!(len <= buf.len());
    let n = st::export_state_with_to_slice(&net, &scaler, &mut buf).unwrap();
    assert_eq!(n, len);
    assert_eq!(&buf[..n], to_safetensors_with(&net, &scaler).unwrap());
    let mut streamed = Vec::new();
    st::export_state_with(&net, &scaler, |b: &[u8]| {
        streamed.extend_from_slice(b);
        Ok::<_, ()>(())
    })
    .unwrap();
    assert_eq!(streamed, &buf[..n]);

    let mut small = [7u8; 64];
    let e = st::export_state_with_to_slice(&net, &scaler, &mut small).unwrap_err();
    assert_eq!(
        e,
        ExportError::Sink(st::BufferTooSmall {
            needed: len,
            found: 64
        })
    );
    assert_eq!(small, [7u8; 64]);

    let mut back = (Small::<f32>::new(&mut SplitMix64::new(9)), zero_min_max());
    st::load_state_with_from_bytes(&mut back.0, &mut back.1, &buf[..n]).unwrap();
    assert_eq!((bits(&back.0), back.1), (bits(&net), scaler));
}

/// Runs `load` on a fresh network and scaler and checks that it failed and changed neither.
fn refused<S: Params<f32> + Clone + PartialEq + std::fmt::Debug>(
    scaler: S,
    load: impl FnOnce(&mut Small<f32>, &mut S) -> Box<Error<String>>,
) -> Box<Error<String>> {
    let mut net = Small::<f32>::new(&mut SplitMix64::new(10));
    let before = (bits(&net), bits(&scaler));
    let mut into = scaler;
    let e = load(&mut net, &mut into);
    assert_eq!(
        (bits(&net), bits(&into)),
        before,
        "changed by a refused load: {e}"
    );
    e
}

#[test]
fn a_file_without_the_scaler_is_refused_naming_its_first_tensor() {
    let scaler = Standardizer::<f32, 3>::fit(&data::<f32>()).unwrap();
    let weights_only = to_safetensors(&Small::<f32>::new(&mut SplitMix64::new(11)));
    let e = refused(zero_standardizer::<f32, 3>(), |net, s| {
        load_safetensors_with_bytes(&weights_only, net, s).unwrap_err()
    });
    assert!(
        matches!(&*e, Error::Missing { expected } if expected.to_string() == "standardizer.mean"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "the file has no tensor `standardizer.mean` (the network's, of shape [3])"
    );

    // A min–max file is not a standardiser's either.
    let min_max = MinMaxScaler::<f32, 3>::fit(&data::<f32>(), 0.0, 1.0).unwrap();
    let other =
        to_safetensors_with(&Small::<f32>::new(&mut SplitMix64::new(12)), &min_max).unwrap();
    let e = refused(scaler, |net, s| {
        load_safetensors_with_bytes(&other, net, s).unwrap_err()
    });
    assert!(matches!(&*e, Error::Missing { .. }), "{e}");
}

#[test]
fn a_tensor_of_neither_is_unexpected() {
    let scaler = Standardizer::<f32, 3>::fit(&data::<f32>()).unwrap();
    // Bigger's fc1 and fc2 are Small's; its fc3 is nobody's.
    let bigger =
        to_safetensors_with(&Bigger::<f32>::new(&mut SplitMix64::new(13)), &scaler).unwrap();
    let e = refused(zero_standardizer::<f32, 3>(), |net, s| {
        load_safetensors_with_bytes(&bigger, net, s).unwrap_err()
    });
    assert!(
        matches!(&*e, Error::Unexpected { tensor, .. } if tensor == "fc3.weight"),
        "{e}"
    );
}

/// The plain load reads a network's file only: the scaler's tensors are refused by name, not
/// skipped.
#[test]
fn the_plain_load_refuses_a_file_with_preprocessing_by_name() {
    let scaler = Standardizer::<f32, 3>::fit(&data::<f32>()).unwrap();
    let path = dir("plain").join("with_scaler.safetensors");
    save_safetensors_with(&path, &Small::<f32>::new(&mut SplitMix64::new(14)), &scaler).unwrap();
    let mut net = Small::<f32>::new(&mut SplitMix64::new(15));
    let before = bits(&net);
    let e = load_safetensors(&path, &mut net).unwrap_err();
    assert!(
        matches!(&e, SafetensorsError::Invalid { error, .. }
            if matches!(&**error, Error::Unexpected { tensor, .. } if tensor == "standardizer.mean")),
        "{e}"
    );
    assert!(
        e.to_string().ends_with(
            "with_scaler.safetensors`: the file has a tensor `standardizer.mean` of shape [3] \
             that the network does not"
        ),
        "{e}"
    );
    assert_eq!(bits(&net), before);
    // And the other way: a network's file saved plainly still loads plainly.
    let plain = dir("plain").join("plain.safetensors");
    save_safetensors(&plain, &Small::<f32>::new(&mut SplitMix64::new(14))).unwrap();
    load_safetensors(&plain, &mut net).unwrap();
}

#[test]
fn a_scaler_of_another_width_is_a_wrong_shape() {
    let wide = Standardizer::<f32, 4> {
        mean: SVector::from([1.0, 2.0, 3.0, 4.0]),
        std: SVector::from([1.0; 4]),
    };
    let three = Standardizer::<f32, 3>::fit(&data::<f32>()).unwrap();
    let bytes = to_safetensors_with(&Small::<f32>::new(&mut SplitMix64::new(16)), &three).unwrap();
    let e = refused(wide, |net, s| {
        load_safetensors_with_bytes(&bytes, net, s).unwrap_err()
    });
    assert_eq!(
        e.to_string(),
        "tensor `standardizer.mean`: the network expects shape [4], the file has [3]"
    );
}

#[test]
fn a_layer_under_the_scalers_prefix_is_a_collision_at_save_and_at_load() {
    let scaler = Standardizer::<f32, 3>::fit(&data::<f32>()).unwrap();
    let net = Clashing::<f32>::new(&mut SplitMix64::new(17));
    let want = "the network's tensor `standardizer.weight` is under `standardizer.`, the prefix \
                of `standardizer.mean` held beside it: one file could not tell them apart \
                (rename the network's layer)";
    let (tensor, other) = st::name_collision::<f32, Clashing<f32>, Standardizer<f32, 3>>().unwrap();
    assert_eq!(
        (tensor.to_string(), other.to_string()),
        ("standardizer.mean".into(), "standardizer.weight".into())
    );
    assert_eq!(
        st::name_collision::<f32, Small<f32>, Standardizer<f32, 3>>(),
        None
    );
    assert_eq!(
        st::name_collision::<f32, Clashing<f32>, MinMaxScaler<f32, 3>>(),
        None
    );

    // Saving: refused before any file is created.
    let path = dir("collision").join("clash.safetensors");
    let _ = std::fs::remove_file(&path);
    let e = save_safetensors_with(&path, &net, &scaler).unwrap_err();
    assert!(
        matches!(&e, SafetensorsError::Invalid { error, .. } if matches!(**error, Error::Collision { .. })),
        "{e}"
    );
    assert!(e.to_string().ends_with(want), "{e}");
    assert!(!path.exists());
    assert!(!path.with_extension("safetensors.tmp").exists());
    assert_eq!(
        to_safetensors_with(&net, &scaler).unwrap_err().to_string(),
        want
    );
    let mut buf = [9u8; 512];
    let e = st::export_state_with_to_slice(&net, &scaler, &mut buf).unwrap_err();
    assert!(matches!(e, ExportError::Collision { .. }));
    assert_eq!(e.to_string(), want);
    assert_eq!(buf, [9u8; 512]);
    let mut called = false;
    let e = st::export_state_with(&net, &scaler, |_| {
        called = true;
        Ok::<_, ()>(())
    });
    assert!(matches!(e, Err(ExportError::Collision { .. })) && !called);

    // Loading: refused whatever the file holds (here a valid file of both, written by hand
    // from the network's file and the scaler's), nothing changed.
    let mut both = to_safetensors(&net);
    let scaler_only = {
        let mut b = vec![0; st::exported_len::<f32, Standardizer<f32, 3>>()];
        st::export_to_slice(&scaler, &mut b).unwrap();
        b
    };
    both = merge(&both, &scaler_only);
    assert_eq!(SafeTensors::parse(&both).unwrap().len(), 4);
    let mut into = Clashing::<f32>::new(&mut SplitMix64::new(18));
    let mut zeroed = zero_standardizer::<f32, 3>();
    let before = bits(&into);
    let e = load_safetensors_with_bytes(&both, &mut into, &mut zeroed).unwrap_err();
    assert!(matches!(*e, Error::Collision { .. }), "{e}");
    assert_eq!(e.to_string(), want);
    assert_eq!((bits(&into), zeroed), (before, zero_standardizer()));
    let e = st::load_state_with_from_bytes(&mut into, &mut zeroed, &both).unwrap_err();
    assert!(matches!(e, Error::Collision { .. }));
}

/// A tensor called like `Small`'s first, beside it.
struct Impostor([f32; 12]);

impl Params<f32> for Impostor {
    const TENSORS: usize = 1;
    const LEN: usize = 12;
    fn tensor(&self, i: usize) -> &[f32] {
        if i == 0 {
            &self.0
        } else {
            &[]
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        if i == 0 {
            &mut self.0
        } else {
            &mut []
        }
    }
    fn tensor_info(_: usize) -> stacknet::runtime::TensorInfo {
        stacknet::runtime::TensorInfo {
            layer: "",
            name: "fc1.weight",
            shape: stacknet::runtime::Shape::matrix(4, 3),
            kind: stacknet::runtime::TensorKind::Buffer,
            fan_in: 0,
            fan_out: 0,
        }
    }
}

#[test]
fn a_tensor_named_like_the_networks_is_a_collision_not_an_overwrite() {
    let net = Small::<f32>::new(&mut SplitMix64::new(21));
    let impostor = Impostor([0.5; 12]);
    let want = "two tensors to be held in one file are called `fc1.weight` (the second beside \
                the network): a file cannot hold both";
    assert_eq!(
        to_safetensors_with(&net, &impostor)
            .unwrap_err()
            .to_string(),
        want
    );
    // A file of the network alone has a `fc1.weight` both would load from.
    let file = to_safetensors(&net);
    let mut into = Small::<f32>::new(&mut SplitMix64::new(22));
    let mut extra = Impostor([0.25; 12]);
    let before = bits(&into);
    let e = load_safetensors_with_bytes(&file, &mut into, &mut extra).unwrap_err();
    assert_eq!(e.to_string(), want);
    assert_eq!((bits(&into), extra.0), (before, [0.25; 12]));
}

/// One file of two files' tensors (the second's offsets moved past the first's data).
fn merge(a: &[u8], b: &[u8]) -> Vec<u8> {
    let (fa, fb) = (
        SafeTensors::parse(a).unwrap(),
        SafeTensors::parse(b).unwrap(),
    );
    let mut header = String::from("{");
    let mut data = Vec::new();
    for t in fa.tensors().chain(fb.tensors()) {
        let start = data.len();
        data.extend_from_slice(t.data);
        let dims: Vec<String> = t.shape.dims().iter().map(u64::to_string).collect();
        if start > 0 {
            header.push(',');
        }
        header += &format!(
            "\"{}\":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            t.name,
            t.dtype,
            dims.join(","),
            data.len()
        );
    }
    header.push('}');
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// A scaler alone is a `Params` file for the runtime's `Params` functions, and a network's
/// file is not a scaler's.
#[test]
fn a_scaler_alone_is_a_params_file() {
    let scaler = MinMaxScaler::<f64, 3>::fit(&data::<f64>(), -1.0, 1.0).unwrap();
    let mut b = vec![0; st::exported_len::<f64, MinMaxScaler<f64, 3>>()];
    st::export_to_slice(&scaler, &mut b).unwrap();
    let mut back = zero_min_max::<f64>();
    st::load_from_bytes(&mut back, &b).unwrap();
    assert_eq!(back, scaler);
    let net = to_safetensors(&Small::<f64>::new(&mut SplitMix64::new(19)));
    let mut other = Small::<f64>::new(&mut SplitMix64::new(20));
    assert!(load_safetensors_bytes(&net, &mut other).is_ok());
    assert!(st::load_from_bytes(&mut back, &net).is_err());
    assert_eq!(back, scaler);
}
