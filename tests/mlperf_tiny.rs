//! MLPerf Tiny's reference models (github.com/mlcommons/tiny, `benchmark/training/`) declared
//! with the DSL at their own input sizes, each checked against a parameter count made by hand
//! from the Keras definition.
//!
//! Keras counts batch norm's moving mean and variance as non-trainable parameters; `PARAMS`
//! counts trainable ones only (γ and β), so the comparison is with Keras's *trainable* count;
//! each model's comment gives both. Keras layers have biases unless told otherwise (`Conv2D`,
//! `DepthwiseConv2D` and `Dense` all default to `use_bias=True`), and every model here keeps
//! them. Keras's `BatchNormalization()` defaults (momentum 0.99 for the moving average, eps
//! 0.001) are written as this DSL's PyTorch convention: `batch_norm(momentum = 0.01, eps =
//! 0.001)`. The softmax of each classifier is left to the loss (`SoftmaxCrossEntropy` works
//! from logits).
//!
//! Keras's `padding='same'` is `same` at stride 1 and `same_upper` (TensorFlow's `SAME`) at
//! stride 2, where an even input gets its odd padding row and column at the bottom and right.
//!
//! Every model is built, runs inference, and trains a few steps on one minibatch with
//! `BatchTrainer` (they all have batch norm); DS-CNN and MobileNet V1 through depthwise
//! convolutions (`groups`), ResNet-8 and DS-CNN through TensorFlow's asymmetric `SAME`.

use stacknet::prelude::*;
use stacknet::runtime::rng::uniform_sym;

network! {
    /// ResNet-8 for CIFAR-10 image classification, `resnet_v1_eembc()` of
    /// `benchmark/training/image_classification/keras_model.py` as the v0.5–v1.x benchmark
    /// defines it (16, 32 and 64 filters; mlcommons/tiny commit 5f85aa8, before the
    /// filter count became an argument). A 3×3 convolution with batch norm and ReLU, then three
    /// stacks of two 3×3 convolutions with batch norm whose sum with the shortcut goes through
    /// ReLU; stacks 2 and 3 halve the size with stride 2 and project the shortcut with a
    /// strided 1×1 convolution (no batch norm on the shortcut). Average pooling over the 8×8
    /// map, flatten, dense 10.
    ///
    /// Hand count (trainable; convolutions with bias):
    ///
    /// | layer | parameters |
    /// |---|---|
    /// | conv 3→16 3×3 + bn | 448 + 32 |
    /// | stack 1: conv 16→16, bn, conv 16→16, bn | 2,320 + 32 + 2,320 + 32 |
    /// | stack 2: conv 16→32, bn, conv 32→32, bn, shortcut 16→32 1×1 | 4,640 + 64 + 9,248 + 64 + 544 |
    /// | stack 3: conv 32→64, bn, conv 64→64, bn, shortcut 32→64 1×1 | 18,496 + 128 + 36,928 + 128 + 2,112 |
    /// | dense 64→10 | 650 |
    /// | **total** | **78,186** trainable; + 480 moving statistics = 78,666 in Keras's summary |
    pub struct ResNet8(input: [3, 32, 32]) {
        conv: conv2d(16, kernel = 3, padding = same),
        bn: batch_norm(momentum = 0.01, eps = 0.001),
        relu,
        stack1: residual {
            conv1: conv2d(16, kernel = 3, padding = same), bn1: batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2: conv2d(16, kernel = 3, padding = same), bn2: batch_norm(momentum = 0.01, eps = 0.001),
        },
        relu,
        stack2: residual(shortcut = { conv2d(32, kernel = 1, stride = 2, padding = same_upper) }) {
            conv1: conv2d(32, kernel = 3, stride = 2, padding = same_upper), bn1: batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2: conv2d(32, kernel = 3, padding = same), bn2: batch_norm(momentum = 0.01, eps = 0.001),
        },
        relu,
        stack3: residual(shortcut = { conv2d(64, kernel = 1, stride = 2, padding = same_upper) }) {
            conv1: conv2d(64, kernel = 3, stride = 2, padding = same_upper), bn1: batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2: conv2d(64, kernel = 3, padding = same), bn2: batch_norm(momentum = 0.01, eps = 0.001),
        },
        relu,
        avg_pool2d(8),
        flatten,
        fc: dense(10),
    }
}

network! {
    /// DS-CNN for keyword spotting, the `ds_cnn` branch of
    /// `benchmark/training/keyword_spotting/keras_model.py` (mlcommons/tiny commit 1afd2c9):
    /// 49 frames × 10 MFCC coefficients (1 s at 16 kHz, 30 ms windows every 20 ms); a 10×4
    /// convolution with stride 2 and `SAME` padding (25×5 out), batch norm, ReLU, dropout 0.2;
    /// four depthwise-separable blocks (depthwise 3×3 with bias, bn, ReLU, pointwise 1×1 to
    /// 64 with bias, bn, ReLU); dropout 0.4; `AveragePooling2D(pool_size=(24, 5))` (the
    /// reference computes `(int(49 / 2), int(10 / 2))`, so the 24×5 window leaves out the last
    /// of the 25 rows and gives 1×1), flatten, dense 12.
    ///
    /// Hand count (trainable):
    ///
    /// | layer | parameters |
    /// |---|---|
    /// | conv 1→64 10×4 + bn | 1·10·4·64 + 64 = 2,624 + 128 |
    /// | 4 × (depthwise 3×3·64 + 64, bn, pointwise 64·64 + 64, bn) | 4 × (640 + 128 + 4,160 + 128) = 20,224 |
    /// | dense 64→12 | 780 |
    /// | **total** | **23,756** trainable; + 1,152 moving statistics = 24,908 in Keras's summary |
    pub struct DsCnn(input: [1, 49, 10]) {
        conv1: conv2d(64, kernel = (10, 4), stride = 2, padding = same_upper),
        bn1: batch_norm(momentum = 0.01, eps = 0.001),
        relu,
        dropout(0.2),
        blocks: repeat(4) {
            depthwise: conv2d(64, kernel = 3, padding = same, groups = 64),
            bn1: batch_norm(momentum = 0.01, eps = 0.001),
            relu,
            pointwise: conv2d(64, kernel = 1),
            bn2: batch_norm(momentum = 0.01, eps = 0.001),
            relu,
        },
        dropout(0.4),
        avg_pool2d((24, 5)),
        flatten,
        fc: dense(12),
    }
}

network! {
    /// The anomaly-detection autoencoder (ToyADMOS), `get_model(640)` of
    /// `benchmark/training/anomaly_detection/keras_model.py` (mlcommons/tiny commit 1afd2c9):
    /// 5 frames × 128 mel bands in; dense 128 + bn + ReLU four times, the bottleneck dense 8 +
    /// bn + ReLU, dense 128 + bn + ReLU four times, and a linear dense 640 out (trained to
    /// reproduce its input with mean squared error).
    ///
    /// Hand count (trainable):
    ///
    /// | layer | parameters |
    /// |---|---|
    /// | dense 640→128 + bn | 82,048 + 256 |
    /// | 3 × (dense 128→128 + bn) | 3 × (16,512 + 256) = 50,304 |
    /// | dense 128→8 + bn | 1,032 + 16 |
    /// | dense 8→128 + bn | 1,152 + 256 |
    /// | 3 × (dense 128→128 + bn) | 50,304 |
    /// | dense 128→640 | 82,560 |
    /// | **total** | **267,928** trainable; + 2,064 moving statistics = 269,992 in Keras's summary |
    pub struct AutoEncoder(input: [640]) {
        encoder: repeat(4) { dense(128), batch_norm(momentum = 0.01, eps = 0.001), relu },
        bottleneck: { dense(8), batch_norm(momentum = 0.01, eps = 0.001), relu },
        decoder: repeat(4) { dense(128), batch_norm(momentum = 0.01, eps = 0.001), relu },
        out: dense(640),
    }
}

network! {
    /// MobileNet V1 with width multiplier 0.25 for visual wake words (person / no person at
    /// 96×96), `mobilenet_v1()` of `benchmark/training/visual_wake_words/vww_model.py`
    /// (mlcommons/tiny commit 1afd2c9, after Silicon Labs' `mobilenet_v1_eembc.py`): a 3×3
    /// convolution with stride 2 to 8 channels, then 13 depthwise-separable blocks (depthwise
    /// 3×3 with bias, bn, ReLU, pointwise 1×1 with bias, bn, ReLU; plain ReLU, not ReLU6) to
    /// 16, 32 (s2), 32, 64 (s2), 64, 128 (s2), 5 × 128, 256 (s2), 256 channels; average
    /// pooling over the 3×3 map, flatten, dense 2. Every convolution has `padding='same'`.
    ///
    /// Hand count (trainable; depthwise 9c + c, pointwise c·c' + c', bn 2c):
    ///
    /// | layer | parameters |
    /// |---|---|
    /// | conv 3→8 + bn | 224 + 16 |
    /// | 8→16 | 80 + 16 + 144 + 32 = 272 |
    /// | 16→32, s2 | 160 + 32 + 544 + 64 = 800 |
    /// | 32→32 | 320 + 64 + 1,056 + 64 = 1,504 |
    /// | 32→64, s2 | 320 + 64 + 2,112 + 128 = 2,624 |
    /// | 64→64 | 640 + 128 + 4,160 + 128 = 5,056 |
    /// | 64→128, s2 | 640 + 128 + 8,320 + 256 = 9,344 |
    /// | 5 × 128→128 | 5 × (1,280 + 256 + 16,512 + 256) = 91,520 |
    /// | 128→256, s2 | 1,280 + 256 + 33,024 + 512 = 35,072 |
    /// | 256→256 | 2,560 + 512 + 65,792 + 512 = 69,376 |
    /// | dense 256→2 | 514 |
    /// | **total** | **216,322** trainable; + 5,472 moving statistics = 221,794 in Keras's summary |
    pub struct MobileNetV1Vww(input: [3, 96, 96]) {
        conv1: conv2d(8, kernel = 3, stride = 2, padding = same_upper),
        bn1: batch_norm(momentum = 0.01, eps = 0.001),
        relu,
        block2: {
            conv2d(8, kernel = 3, padding = same, groups = 8), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(16, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block3: {
            conv2d(16, kernel = 3, stride = 2, padding = same_upper, groups = 16), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(32, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block4: {
            conv2d(32, kernel = 3, padding = same, groups = 32), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(32, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block5: {
            conv2d(32, kernel = 3, stride = 2, padding = same_upper, groups = 32), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(64, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block6: {
            conv2d(64, kernel = 3, padding = same, groups = 64), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(64, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block7: {
            conv2d(64, kernel = 3, stride = 2, padding = same_upper, groups = 64), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(128, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block8: repeat(5) {
            conv2d(128, kernel = 3, padding = same, groups = 128), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(128, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block13: {
            conv2d(128, kernel = 3, stride = 2, padding = same_upper, groups = 128), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(256, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        block14: {
            conv2d(256, kernel = 3, padding = same, groups = 256), batch_norm(momentum = 0.01, eps = 0.001), relu,
            conv2d(256, kernel = 1), batch_norm(momentum = 0.01, eps = 0.001), relu,
        },
        avg_pool2d(3),
        flatten,
        fc: dense(2),
    }
}

/// Runs `f` on a thread with a stack large enough for a minibatch's working values.
fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// `steps` SGD steps on one fixed minibatch; returns each step's mean loss (before its
/// update). The working memory lives in `Box`es.
fn train<N, L, const B: usize>(
    net: &mut N,
    loss: &L,
    xs: &[N::Input; B],
    targets: &[L::Target; B],
    lr: f32,
    steps: usize,
) -> Vec<f32>
where
    N: BatchNetwork<f32>,
    L: Loss<f32, N::Output>,
    L::Target: Sized,
{
    let mut trainer = Box::new(BatchTrainer::<N, B>::new());
    let mut opt = Sgd::new(lr);
    (0..steps)
        .map(|_| trainer.step(net, &mut opt, loss, xs, targets).unwrap())
        .collect()
}

/// Every loss finite, and the mean of the last three at least 10 % below the first. One
/// step's loss on a batch of 4 with batch statistics jumps around (the statistics move with
/// the weights), so the test looks at a few steps, not the last alone.
fn assert_decreases(losses: &[f32]) {
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    let tail = &losses[losses.len() - 3..];
    let late = tail.iter().sum::<f32>() / 3.0;
    assert!(late < 0.9 * losses[0], "loss did not decrease: {losses:?}");
}

#[test]
fn resnet8_has_the_reference_parameter_count() {
    assert_eq!(ResNet8::<f32>::PARAMS, 78_186);
    assert_eq!(ResNet8::<f32>::OUTPUT_SHAPE.dims(), [10]);
    // Batch norm: it trains through the batch path only.
    const { assert!(ResNet8::<f32>::NEEDS_BATCH) };
    let stages: Vec<Vec<usize>> = ResNet8::<f32>::LAYERS
        .iter()
        .filter(|row| row.kind == "add")
        .map(|row| row.output.dims().to_vec())
        .collect();
    assert_eq!(stages, [[16, 32, 32], [32, 16, 16], [64, 8, 8]]);
}

#[test]
fn resnet8_runs_and_trains_on_a_minibatch() {
    big_stack(|| {
        let mut rng = SplitMix64::new(8);
        let mut net = Box::new(ResNet8::<f32>::new(&mut rng));
        let xs: [SVector<f32, 3072>; 4] =
            core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.0) as f32));
        let labels = [3usize, 7, 0, 9];
        let before = net.forward(&xs[0]);
        assert!(before.iter().all(|v| v.is_finite()), "{before:?}");
        let losses = train(&mut *net, &SoftmaxCrossEntropy, &xs, &labels, 0.05, 6);
        assert_decreases(&losses);
        let after = net.forward(&xs[0]);
        assert!(after.iter().all(|v| v.is_finite()), "{after:?}");
        assert_ne!(before, after, "training changed nothing");
    });
}

#[test]
fn ds_cnn_has_the_reference_parameter_count() {
    assert_eq!(DsCnn::<f32>::PARAMS, 23_756);
    assert_eq!(DsCnn::<f32>::OUTPUT_SHAPE.dims(), [12]);
    // TensorFlow's SAME at stride 2: ⌈49 / 2⌉ × ⌈10 / 2⌉.
    assert_eq!(DsCnn::<f32>::LAYERS[0].output.dims(), [64, 25, 5]);
}

#[test]
fn autoencoder_has_the_reference_parameter_count() {
    assert_eq!(AutoEncoder::<f32>::PARAMS, 267_928);
    assert_eq!(AutoEncoder::<f32>::OUTPUT_SHAPE.dims(), [640]);
}

#[test]
fn autoencoder_runs_and_trains_on_a_minibatch() {
    big_stack(|| {
        let mut rng = SplitMix64::new(9);
        let mut net = Box::new(AutoEncoder::<f32>::new(&mut rng));
        let xs: [SVector<f32, 640>; 4] =
            core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.0) as f32));
        let before = net.forward(&xs[0]);
        assert!(before.iter().all(|v| v.is_finite()));
        // An autoencoder's target is its input. `Mse` averages over the 640 outputs, so its
        // gradients are small and the step is large.
        let losses = train(&mut *net, &Mse, &xs, &xs, 0.5, 8);
        assert_decreases(&losses);
        let after = net.forward(&xs[0]);
        assert!(after.iter().all(|v| v.is_finite()));
        assert_ne!(before, after, "training changed nothing");
    });
}

#[test]
fn mobilenet_v1_vww_has_the_reference_parameter_count() {
    assert_eq!(MobileNetV1Vww::<f32>::PARAMS, 216_322);
    assert_eq!(MobileNetV1Vww::<f32>::OUTPUT_SHAPE.dims(), [2]);
    // 96 → 48 → 24 → 12 → 6 → 3 across the stride-2 layers.
    let last = MobileNetV1Vww::<f32>::LAYERS
        .iter()
        .rfind(|row| row.kind == "conv2d")
        .unwrap();
    assert_eq!(last.output.dims(), [256, 3, 3]);
}

/// Builds `N`, runs it on random inputs and trains it `steps` steps on a batch of 4 (classes
/// `labels`): inference stays finite and the loss falls.
fn runs_and_trains<N, const I: usize, const O: usize>(
    seed: u64,
    labels: [usize; 4],
    lr: f32,
    steps: usize,
) where
    N: BatchNetwork<f32, Input = SVector<f32, I>, Output = SVector<f32, O>> + Send + 'static,
    N: NewNet,
{
    big_stack(move || {
        let mut rng = SplitMix64::new(seed);
        let mut net = N::build(&mut rng);
        let xs: [SVector<f32, I>; 4] =
            core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.0) as f32));
        let before = net.forward(&xs[0]);
        assert!(before.iter().all(|v| v.is_finite()), "{before:?}");
        let losses = train(&mut *net, &SoftmaxCrossEntropy, &xs, &labels, lr, steps);
        assert_decreases(&losses);
        let after = net.forward(&xs[0]);
        assert!(after.iter().all(|v| v.is_finite()), "{after:?}");
        assert_ne!(before, after, "training changed nothing");
    });
}

/// `Box::new(Net::new(rng))` for the models run here.
trait NewNet: Sized {
    fn build(rng: &mut SplitMix64) -> Box<Self>;
}

impl NewNet for DsCnn<f32> {
    fn build(rng: &mut SplitMix64) -> Box<Self> {
        Box::new(DsCnn::new(rng))
    }
}

impl NewNet for MobileNetV1Vww<f32> {
    fn build(rng: &mut SplitMix64) -> Box<Self> {
        Box::new(MobileNetV1Vww::new(rng))
    }
}

#[test]
fn ds_cnn_runs_and_trains_on_a_minibatch() {
    runs_and_trains::<DsCnn<f32>, 490, 12>(10, [1, 5, 11, 0], 0.05, 6);
}

#[test]
fn mobilenet_v1_vww_runs_and_trains_on_a_minibatch() {
    runs_and_trains::<MobileNetV1Vww<f32>, 27_648, 2>(11, [0, 1, 1, 0], 0.005, 10);
}
