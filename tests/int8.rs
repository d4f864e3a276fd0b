//! The int8 twin of `#[int8]` networks: quantisation by hand on a small network, LeNet-5's
//! accuracy against its float form, TensorFlow Lite's reference kernels on the same LeNet
//! (`tests/fixtures/lenet_int8_tflite.safetensors`, made by `bench/fixtures/tflite_int8.py`),
//! and the byte form that puts a twin in flash.

use stacknet::data::{load_network, Mnist};
use stacknet::prelude::*;
use stacknet::runtime::nalgebra::SVector;
use stacknet::runtime::quant::{bytes::FormatError, CalibrationError, Clamp, QParams, Requant};
use stacknet::runtime::safetensors::SafeTensors;

network! {
    /// LeNet-5 as the examples declare it, with its int8 twin.
    #[int8]
    pub struct LeNet5(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, padding = 2), relu, max_pool2d(2),
        conv2: conv2d(16, kernel = 5), relu, max_pool2d(2),
        flatten, fc1: dense(120), relu, fc2: dense(84), relu, fc3: dense(10),
    }
}

network! {
    /// A network small enough to quantise by hand: a ReLU6 that fuses into the convolution,
    /// a ReLU on its own after a pool (which keeps its input's quantisation), a flatten that
    /// vanishes.
    #[int8]
    struct Small(input: [1, 2, 2]) {
        conv: conv2d(2, kernel = 1), relu6, max_pool2d(2), relu, flatten, fc: dense(2),
    }
}

const WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/embedded/lenet.safetensors"
);
const FIXTURE: &[u8] = include_bytes!("fixtures/lenet_int8_tflite.safetensors");

fn lenet() -> Box<LeNet5> {
    let mut net = Box::new(LeNet5::new(&mut SplitMix64::new(0)));
    load_network(WEIGHTS, &mut *net).expect("the shipped LeNet-5 weights load");
    net
}

fn mnist() -> Mnist {
    Mnist::load_bundled(Mnist::bundled_dir()).expect("the bundled digits load")
}

#[test]
fn a_small_network_quantises_as_the_formulas_say() {
    let mut net = Small::new(&mut SplitMix64::new(1));
    // conv: channel 0 doubles, channel 1 negates and adds 1; fc's rows (PyTorch's) are
    // [1, 0.5] and [−1, 0.25].
    net.conv.weight.copy_from_slice(&[2.0, -1.0]);
    net.conv.bias.copy_from_slice(&[0.0, 1.0]);
    net.fc.weight.copy_from_slice(&[1.0, 0.5, -1.0, 0.25]); // columns are PyTorch's rows
    net.fc.bias.copy_from_slice(&[0.1, -0.2]);
    let xs = [
        SVector::<f32, 4>::from_column_slice(&[0.0, 1.0, 2.0, 4.0]),
        SVector::<f32, 4>::from_column_slice(&[-1.0, 0.5, 3.0, 0.0]),
    ];
    let q = net.quantize(&xs).expect("two samples calibrate");

    // The input's range is [−1, 4]: s = 5/255, z = round(−128 + 255/5) = −77.
    assert_eq!(q.input.zero_point, -77);
    assert!((q.input.scale - 5.0 / 255.0).abs() < 1e-9);
    // conv, with relu6 fused: its output is relu6(2x) and relu6(1 − x), in [0, 6] over the
    // inputs (2·4 = 8 clamps to 6, 1 − (−1) = 2): s = 6/255, z = −128.
    let conv_out = QParams::from_range(0.0, 6.0);
    assert_eq!(q.conv.channels.output_zero_point, -128);
    assert_eq!(q.conv.channels.clamp, Clamp::relu6(conv_out));
    assert_eq!(
        q.conv.channels.clamp,
        Clamp {
            min: -128,
            max: 127
        }
    );
    // Per channel: s_w = |w| / 127, q_w = ±127; bias 1 at scale s_in · s_w.
    assert_eq!(q.conv.channels.weight, [[127], [-127]]);
    let s_w1 = 1.0f32 / 127.0;
    assert_eq!(
        q.conv.channels.bias[1],
        (1.0 / (f64::from(q.input.scale) * f64::from(s_w1))).round() as i32
    );
    assert_eq!(
        q.conv.channels.requant[0],
        Requant::new(q.input.scale, 2.0 / 127.0, conv_out.scale)
    );
    // The pool keeps the conv's quantisation and the lone relu clamps at its zero point.
    assert_eq!(
        q.relu_3.clamp,
        Clamp {
            min: -128,
            max: 127
        }
    );
    // fc reads the conv's quantisation; its output range is over the float outputs.
    assert_eq!(q.fc.input_zero_point, -128);
    let outputs: Vec<_> = xs.iter().map(|x| net.forward(x)).collect();
    let (lo, hi) = outputs
        .iter()
        .flat_map(|y| y.iter().copied())
        .fold((0f32, 0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
    assert_eq!(q.output, QParams::from_range(lo, hi));
    // And the int8 network lands within a couple of output steps of the float one.
    for (x, y) in xs.iter().zip(&outputs) {
        let got = q.infer(x);
        for o in 0..2 {
            assert!(
                (got[o] - y[o]).abs() <= 2.0 * q.output.scale,
                "{got} vs {y}"
            );
        }
    }
    // Calibration needs data, and finite data.
    assert_eq!(net.quantize([]).err(), Some(CalibrationError::NoSamples));
    let nan = SVector::<f32, 4>::from_element(f32::NAN);
    assert_eq!(
        net.quantize([&nan]).err(),
        Some(CalibrationError::NonFinite)
    );
}

#[test]
fn lenet_int8_is_within_0_3_points_of_float() {
    let net = lenet();
    let mnist = mnist();
    let train = mnist.train.inputs();
    let q = Box::new(net.quantize(&train[..1000]).expect("calibration"));
    let (inputs, labels) = (mnist.test.inputs(), mnist.test.targets());
    let (mut float, mut int8, mut agree) = (0, 0, 0);
    for (x, &label) in inputs.iter().zip(&labels) {
        let f = net.forward(x).imax();
        let i = q.predict(x);
        float += usize::from(f == label);
        int8 += usize::from(i == label);
        agree += usize::from(f == i);
    }
    let pct = |n: usize| 100.0 * n as f64 / labels.len() as f64;
    println!(
        "float {:.2} %, int8 {:.2} %, same class {:.2} %",
        pct(float),
        pct(int8),
        pct(agree)
    );
    assert_eq!(labels.len(), 2000);
    assert!((pct(float) - pct(int8)).abs() <= 0.3);
    assert!(pct(agree) >= 99.0);
}

// ---------------------------------------------------------------------------------------------
// TensorFlow Lite's reference kernels

struct Fixture(SafeTensors<'static>);

impl Fixture {
    fn load() -> Fixture {
        Fixture(SafeTensors::parse(FIXTURE).expect("the fixture parses"))
    }

    fn bytes(&self, name: &str) -> &'static [u8] {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("fixture has `{name}`"))
            .data
    }

    fn i8s(&self, name: &str) -> Vec<i8> {
        self.bytes(name).iter().map(|&b| b as i8).collect()
    }

    fn i32s(&self, name: &str) -> Vec<i32> {
        let b = self.bytes(name);
        b.chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        let b = self.bytes(name);
        b.chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    fn params(&self, name: &str) -> QParams {
        QParams {
            scale: self.f32s(&format!("{name}.output.scale"))[0],
            zero_point: self.i32s(&format!("{name}.output.zero_point"))[0],
        }
    }

    fn input(&self) -> QParams {
        QParams {
            scale: self.f32s("input.scale")[0],
            zero_point: self.i32s("input.zero_point")[0],
        }
    }

    /// TFLite's weights, biases and requantisers for a layer of `O` channels of `K` taps.
    #[allow(clippy::type_complexity)]
    fn layer<const K: usize, const O: usize>(
        &self,
        name: &str,
        input: QParams,
    ) -> ([[i8; K]; O], [i32; O], [Requant; O]) {
        let (w, b) = (
            self.i8s(&format!("{name}.weight")),
            self.i32s(&format!("{name}.bias")),
        );
        let scales = self.f32s(&format!("{name}.weight_scale"));
        let out = self.params(name);
        assert!(self
            .i32s(&format!("{name}.weight_zero_point"))
            .iter()
            .all(|&z| z == 0));
        (
            std::array::from_fn(|o| std::array::from_fn(|k| w[o * K + k])),
            std::array::from_fn(|o| b[o]),
            std::array::from_fn(|o| Requant::new(input.scale, scales[o], out.scale)),
        )
    }
}

/// LeNet5's twin with every parameter TFLite chose.
fn tflite_twin(fx: &Fixture) -> LeNet5Int8 {
    let mut q = lenet()
        .quantize(&mnist().train.inputs()[..1])
        .expect("one sample");
    let input = fx.input();
    let (c1, p1, c2, f1, f2, f3) = (
        fx.params("conv1"),
        fx.params("pool1"),
        fx.params("conv2"),
        fx.params("fc1"),
        fx.params("fc2"),
        fx.params("fc3"),
    );
    assert_eq!(c1, p1, "max pooling keeps its input's quantisation");
    assert_eq!(c2, fx.params("pool2"));
    q.input = input;
    q.output = f3;
    (
        q.conv1.channels.weight,
        q.conv1.channels.bias,
        q.conv1.channels.requant,
    ) = fx.layer("conv1", input);
    (
        q.conv1.channels.input_zero_point,
        q.conv1.channels.output_zero_point,
    ) = (input.zero_point, c1.zero_point);
    q.conv1.channels.clamp = Clamp::relu(c1);
    (
        q.conv2.channels.weight,
        q.conv2.channels.bias,
        q.conv2.channels.requant,
    ) = fx.layer("conv2", c1);
    (
        q.conv2.channels.input_zero_point,
        q.conv2.channels.output_zero_point,
    ) = (c1.zero_point, c2.zero_point);
    q.conv2.channels.clamp = Clamp::relu(c2);
    (q.fc1.weight, q.fc1.bias, q.fc1.requant) = fx.layer("fc1", c2);
    (q.fc1.input_zero_point, q.fc1.output_zero_point) = (c2.zero_point, f1.zero_point);
    q.fc1.clamp = Clamp::relu(f1);
    (q.fc2.weight, q.fc2.bias, q.fc2.requant) = fx.layer("fc2", f1);
    (q.fc2.input_zero_point, q.fc2.output_zero_point) = (f1.zero_point, f2.zero_point);
    q.fc2.clamp = Clamp::relu(f2);
    (q.fc3.weight, q.fc3.bias, q.fc3.requant) = fx.layer("fc3", f2);
    (q.fc3.input_zero_point, q.fc3.output_zero_point) = (f2.zero_point, f3.zero_point);
    q.fc3.clamp = Clamp::NONE;
    q
}

#[test]
fn our_quantiser_chooses_what_tflite_chose() {
    // The same float weights and the same calibration digits as the fixture script.
    let fx = Fixture::load();
    let q = lenet()
        .quantize(&mnist().train.inputs()[..1000])
        .expect("calibration");
    // The input's range is the pixels' [0, 1] in both: the same to the bit.
    assert_eq!(q.input, fx.input());
    // The activations' ranges are extremes of float outputs, which TensorFlow sums in another
    // order: the same up to rounding of the last bits. The requantisers are made from the
    // scales, so they say whether the scales agree.
    let real = |r: &[Requant]| -> Vec<f64> {
        r.iter()
            .map(|r| f64::from(r.multiplier) * 2f64.powi(r.shift - 31))
            .collect()
    };
    let agree = |ours: &[Requant], theirs: &[Requant], what: &str| {
        for (a, b) in real(ours).iter().zip(real(theirs)) {
            assert!((a / b - 1.0).abs() < 1e-6, "{what}: M = {a} vs {b}");
        }
    };
    let twin = tflite_twin(&fx);
    assert_eq!(q.output.zero_point, twin.output.zero_point);
    assert!((q.output.scale / twin.output.scale - 1.0).abs() < 1e-6);
    agree(
        &q.conv1.channels.requant,
        &twin.conv1.channels.requant,
        "conv1",
    );
    agree(
        &q.conv2.channels.requant,
        &twin.conv2.channels.requant,
        "conv2",
    );
    agree(&q.fc1.requant, &twin.fc1.requant, "fc1");
    agree(&q.fc2.requant, &twin.fc2.requant, "fc2");
    agree(&q.fc3.requant, &twin.fc3.requant, "fc3");
    assert_eq!(
        q.conv1.channels.output_zero_point,
        twin.conv1.channels.output_zero_point
    );
    assert_eq!(
        q.conv2.channels.output_zero_point,
        twin.conv2.channels.output_zero_point
    );
    assert_eq!(q.fc1.output_zero_point, twin.fc1.output_zero_point);
    assert_eq!(q.fc2.output_zero_point, twin.fc2.output_zero_point);
    // Weights and biases: every one of the 61,706 the same.
    assert_eq!(q.conv1.channels.weight, twin.conv1.channels.weight);
    assert_eq!(q.conv2.channels.weight, twin.conv2.channels.weight);
    assert_eq!(q.fc1.weight, twin.fc1.weight);
    assert_eq!(q.fc2.weight, twin.fc2.weight);
    assert_eq!(q.fc3.weight, twin.fc3.weight);
    assert_eq!(q.conv1.channels.bias, twin.conv1.channels.bias);
    assert_eq!(q.conv2.channels.bias, twin.conv2.channels.bias);
    assert_eq!(q.fc1.bias, twin.fc1.bias);
    assert_eq!(q.fc2.bias, twin.fc2.bias);
    assert_eq!(q.fc3.bias, twin.fc3.bias);
}

#[test]
fn convolutions_and_pools_equal_tflites_bit_for_bit() {
    let fx = Fixture::load();
    let q = tflite_twin(&fx);
    let inputs = fx.i8s("inputs");
    let (conv1, pool1, conv2, pool2) = (
        fx.i8s("conv1.out"),
        fx.i8s("pool1.out"),
        fx.i8s("conv2.out"),
        fx.i8s("pool2.out"),
    );
    use stacknet::runtime::quant::ForwardQ;
    for d in 0..10 {
        let x: [i8; 784] = inputs[d * 784..][..784].try_into().unwrap();
        let mut y1 = [0i8; 4704];
        q.conv1.forward(&x, &mut y1);
        assert_eq!(y1[..], conv1[d * 4704..][..4704], "conv1, digit {d}");
        let mut y2 = [0i8; 1176];
        ForwardQ::forward(&q.max_pool2d_2, &y1, &mut y2);
        assert_eq!(y2[..], pool1[d * 1176..][..1176], "pool1, digit {d}");
        let mut y3 = [0i8; 1600];
        q.conv2.forward(&y2, &mut y3);
        assert_eq!(y3[..], conv2[d * 1600..][..1600], "conv2, digit {d}");
        let mut y4 = [0i8; 400];
        ForwardQ::forward(&q.max_pool2d_5, &y3, &mut y4);
        assert_eq!(y4[..], pool2[d * 400..][..400], "pool2, digit {d}");
    }
}

/// One dense layer on TFLite's own input against TFLite's output: equal, but where the
/// requantisations round differently. TFLite's reference `FULLY_CONNECTED` requantises in
/// double precision, round(acc · M) (LiteRT's float-scale `FullyConnectedPerChannel`), while
/// ours, like its `CONV_2D`, TFLite Micro's kernels and CMSIS-NN, uses the integer Q31
/// multiplier and shift, which rounds twice: first to 31 bits (`SaturatingRoundingDoublingHighMul`),
/// then by the shift (`RoundingDivideByPOT`). They differ by one exactly when acc · M lies
/// within 2⁻ʳ of a half, r being the right shift; the test checks that every difference is
/// such a case, by the formula.
fn dense_matches_up_to_double_rounding<const I: usize, const O: usize>(
    layer: &stacknet::runtime::quant::DenseQ<I, O>,
    real_m: impl Fn(usize) -> f64,
    x: &[i8],
    expected: &[i8],
) -> usize {
    use stacknet::runtime::quant::ForwardQ;
    let mut differences = 0;
    for (xs, want) in x.chunks(I).zip(expected.chunks(O)) {
        let xs: [i8; I] = xs.try_into().unwrap();
        let mut y = [0i8; O];
        layer.forward(&xs, &mut y);
        for o in 0..O {
            if y[o] == want[o] {
                continue;
            }
            differences += 1;
            assert_eq!((i32::from(y[o]) - i32::from(want[o])).abs(), 1);
            let acc: i32 = (0..I)
                .map(|i| {
                    i32::from(layer.weight[o][i]) * (i32::from(xs[i]) - layer.input_zero_point)
                })
                .sum::<i32>()
                + layer.bias[o];
            let exact = f64::from(acc) * real_m(o);
            let r = -layer.requant[o].shift;
            let to_half = (exact.abs().fract() - 0.5).abs();
            assert!(
                to_half <= 2f64.powi(-r),
                "channel {o}: acc · M = {exact} is {to_half} from a half, beyond 2^-{r}"
            );
            // And the double-precision rounding is TFLite's output.
            let tflite = exact.abs().round().copysign(exact) as i32 + layer.output_zero_point;
            assert_eq!(
                tflite.clamp(i32::from(layer.clamp.min), i32::from(layer.clamp.max)),
                i32::from(want[o])
            );
        }
    }
    differences
}

#[test]
fn dense_layers_equal_tflites_but_for_its_double_precision_rounding() {
    let fx = Fixture::load();
    let q = tflite_twin(&fx);
    let m = |layer: &str, input: QParams| {
        let (scales, out) = (fx.f32s(&format!("{layer}.weight_scale")), fx.params(layer));
        move |o: usize| f64::from(input.scale) * f64::from(scales[o]) / f64::from(out.scale)
    };
    let (c2, f1, f2) = (fx.params("conv2"), fx.params("fc1"), fx.params("fc2"));
    let fc1 = dense_matches_up_to_double_rounding(
        &q.fc1,
        m("fc1", c2),
        &fx.i8s("pool2.out"),
        &fx.i8s("fc1.out"),
    );
    let fc2 = dense_matches_up_to_double_rounding(
        &q.fc2,
        m("fc2", f1),
        &fx.i8s("fc1.out"),
        &fx.i8s("fc2.out"),
    );
    println!("of 1,200 fc1 and 840 fc2 values, {fc1} and {fc2} round differently");
    // The rare case it is: a few in a thousand at most.
    assert!(fc1 + fc2 <= 6);
    // fc3 on TFLite's fc2 outputs for the 10 digits, then the whole network on all 100.
    let outputs = fx.i8s("outputs");
    let fc3 = dense_matches_up_to_double_rounding(
        &q.fc3,
        m("fc3", f2),
        &fx.i8s("fc2.out"),
        &outputs[..100],
    );
    assert!(fc3 <= 1);
    let inputs = fx.i8s("inputs");
    let (mut rows, mut classes) = (0, 0);
    for d in 0..100 {
        let x: [i8; 784] = inputs[d * 784..][..784].try_into().unwrap();
        let y = q.forward(&x);
        let want = &outputs[d * 10..][..10];
        rows += usize::from(y[..] != *want);
        classes += usize::from(
            stacknet::runtime::quant::argmax(&y) == stacknet::runtime::quant::argmax(want),
        );
        for (a, b) in y.iter().zip(want) {
            assert!(
                (i32::from(*a) - i32::from(*b)).abs() <= 1,
                "digit {d}: {y:?} vs {want:?}"
            );
        }
    }
    println!("{rows} of 100 output rows differ by one somewhere; {classes} of 100 classes agree");
    assert!(rows <= 10);
    assert_eq!(classes, 100);
}

// ---------------------------------------------------------------------------------------------
// The byte form

#[test]
fn the_byte_form_round_trips_and_refuses_what_does_not_fit() {
    let q = Box::new(lenet().quantize(&mnist().train.inputs()[..50]).unwrap());
    let mut bytes = vec![0u8; LeNet5Int8::BYTES];
    q.to_bytes(&mut bytes).unwrap();
    // 61,470 weights (of the 61,706 parameters, 236 are biases), 4 bytes of bias and 8 of
    // requantiser per channel, the zero points and clamps (10 bytes per requantising layer),
    // two QParams, the header.
    assert_eq!(LeNet5Int8::BYTES, 61_470 + 236 * 12 + 5 * 10 + 16 + 16);
    assert!(LeNet5Int8::try_from_bytes(&bytes).unwrap() == *q);
    assert_eq!(
        LeNet5Int8::try_from_bytes(&bytes[..bytes.len() - 1]).err(),
        Some(FormatError::WrongLength {
            expected: LeNet5Int8::BYTES,
            found: LeNet5Int8::BYTES - 1
        })
    );
    let small = Small::new(&mut SplitMix64::new(0))
        .quantize([&SVector::<f32, 4>::zeros()])
        .unwrap();
    let mut other = vec![0u8; SmallInt8::BYTES];
    small.to_bytes(&mut other).unwrap();
    assert_eq!(
        LeNet5Int8::try_from_bytes(&other).err(),
        Some(FormatError::OtherArchitecture)
    );
    assert!(q.to_bytes(&mut other).is_err());
}

/// `examples/embedded/lenet.int8`, the twin the Cortex-M firmware keeps in flash, is the
/// shipped float weights quantised with the first 1,000 training digits. Regenerate it with
/// `STACKNET_INT8=overwrite cargo test --release --test int8 shipped`.
#[test]
fn the_shipped_int8_file_is_the_shipped_weights_quantised() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embedded/lenet.int8");
    let net = lenet();
    let q = Box::new(net.quantize(&mnist().train.inputs()[..1000]).unwrap());
    let mut bytes = vec![0u8; LeNet5Int8::BYTES];
    q.to_bytes(&mut bytes).unwrap();
    // The same float weights as safetensors, the TFLite fixture script's input.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target");
    std::fs::create_dir_all(dir).unwrap();
    stacknet::data::save_safetensors(format!("{dir}/lenet-shipped.safetensors"), &*net).unwrap();
    if std::env::var("STACKNET_INT8").as_deref() == Ok("overwrite") {
        std::fs::write(path, &bytes).unwrap();
    }
    let shipped = std::fs::read(path).expect("examples/embedded/lenet.int8 exists");
    assert!(
        shipped == bytes,
        "examples/embedded/lenet.int8 is stale: regenerate it with \
         `STACKNET_INT8=overwrite cargo test --release --test int8 shipped`"
    );
}
