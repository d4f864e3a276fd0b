//! The memory figures a model reports are real: inference runs on a thread whose whole stack is
//! only a little larger than the activation bytes the model reports, and training one sample
//! runs in a little more than its reported working memory. Parameters, gradients and optimiser
//! state live outside that stack (on a microcontroller: in `static`s).
//!
//! The figures are the plan's arenas (a buffer per live value, reused once the value is dead)
//! plus the largest scratch of any layer: the schedule's real peak, not a bound, so the margin
//! the threads get on top is small, 4 KiB + 10 % in optimised code.

use stacknet::prelude::*;

network! {
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
    /// Two residual stages: the skip connections keep their inputs alive across the body.
    pub struct ResNet(input: [3, 16, 16]) {
        conv1: conv2d(8, kernel = 3, padding = 1), relu,
        layer1: residual {
            conv1: conv2d(8, kernel = 3, padding = 1), relu,
            conv2: conv2d(8, kernel = 3, padding = 1),
        },
        relu,
        layer2: residual(shortcut = { conv2d(16, kernel = 1, stride = 2) }) {
            conv1: conv2d(16, kernel = 3, stride = 2, padding = 1), relu,
            conv2: conv2d(16, kernel = 3, padding = 1),
        },
        relu,
        global_avg_pool2d,
        fc: dense(10),
    }
}

network! {
    pub struct Small(input: [1, 12, 12]) {
        conv2d(4, kernel = 3), relu,
        max_pool2d(2),
        flatten,
        dense(32), tanh,
        dense(10),
    }
}

/// What a thread gets besides the model's figure: the runtime's thread start-up, the test's
/// own frames and the kernels' small locals. Optimised code (`cargo test --release --test
/// stack`, which CI runs) fits in 4 KiB + 10 % more than the reported figures; the test
/// profile's lightly optimised frames keep copies of some activations, so there the margin is
/// larger.
fn margin(bytes: usize) -> usize {
    if cfg!(debug_assertions) {
        bytes + (64 << 10)
    } else {
        bytes / 10 + (4 << 10)
    }
}

/// Runs `f` on a thread with `bytes` of stack plus [`margin`]; a stack overflow aborts the
/// test binary, which fails the test.
fn on_stack<R: Send + 'static>(bytes: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(bytes + margin(bytes))
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the thread panicked")
}

#[test]
fn lenet_inference_fits_in_its_reported_activation_bytes() {
    let bytes = LeNet5::<f32>::INFERENCE_BYTES;
    // By hand from the shapes: conv1 writes 4,704 values that its ReLU overwrites in place;
    // pooling reads them into 1,176 (both live: 5,880, the peak); conv2 writes 1,600 while the
    // 1,176 are live, and so on down. The plan reuses buffers, so the arena is the peak, 5,880
    // values, plus the largest scratch buffer a layer reports.
    let scratch = LeNet5::<f32>::LAYERS
        .iter()
        .map(|l| l.scratch_bytes)
        .max()
        .unwrap();
    assert_eq!(bytes, 5_880 * 4 + scratch);
    assert!(
        scratch > 0,
        "conv1 needs scratch beyond its input and output"
    );
    let net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(1)));
    let x = Box::new(SVector::<f32, 784>::from_fn(|i, _| (i % 7) as f32 / 7.0));
    let expected = net.forward(&x);
    let y = on_stack(bytes, move || net.forward(&x));
    assert_eq!(y, expected);
}

#[test]
fn residual_inference_and_training_fit_their_reported_bytes() {
    let bytes = ResNet::<f32>::INFERENCE_BYTES;
    // The peak is in layer1: its input (8·16·16 = 2,048 values) stays live for the shortcut
    // while conv1 writes 2,048 (ReLU in place) and conv2 reads those and writes 2,048 more:
    // 6,144 values, plus scratch.
    let scratch = ResNet::<f32>::LAYERS
        .iter()
        .map(|l| l.scratch_bytes)
        .max()
        .unwrap();
    assert_eq!(bytes, 6_144 * 4 + scratch);
    let net = Box::new(ResNet::<f32>::new(&mut SplitMix64::new(4)));
    let x = Box::new(SVector::<f32, 768>::from_fn(|i, _| {
        (i % 11) as f32 / 11.0 - 0.5
    }));
    let expected = net.forward(&x);
    let (y, net, x) = on_stack(bytes, move || (net.forward(&x), net, x));
    assert_eq!(y, expected);

    let bytes = ResNet::<f32>::TRAINING_BYTES;
    let mut net = net;
    let mut grad = Box::new(<ResNet<f32> as Network<f32>>::Grad::zeros());
    let mut rec = Box::new(<ResNet<f32> as Network<f32>>::Record::zeros());
    let record = std::mem::size_of_val(&*rec);
    assert_eq!(ResNet::<f32>::RECORD_BYTES, record);
    // The record is the caller's (boxed here); the thread needs the rest of the figure.
    let loss = on_stack(bytes - record, move || {
        let mut dy = SVector::<f32, 10>::zeros();
        net.forward_train(&x, &mut rec);
        let loss = SoftmaxCrossEntropy.value_and_grad(ResNet::<f32>::output(&rec), &3, &mut dy);
        net.backward(&rec, &dy, &mut grad, None);
        loss
    });
    assert!(loss.is_finite());
}

#[test]
fn small_network_trains_in_its_reported_working_memory() {
    let bytes = Small::<f32>::TRAINING_BYTES;
    let mut net = Box::new(Small::<f32>::new(&mut SplitMix64::new(2)));
    let mut grad = Box::new(<Small<f32> as Network<f32>>::Grad::zeros());
    let mut opt = Box::new(Adam::<Small>::new(1e-3));
    let x = Box::new(SVector::<f32, 144>::from_fn(|i, _| (i % 5) as f32 / 5.0));
    let losses = on_stack(bytes, move || {
        let mut losses = [0.0f32; 2];
        let mut rec = <Small<f32> as Network<f32>>::Record::zeros();
        let mut dy = SVector::<f32, 10>::zeros();
        for loss in &mut losses {
            for i in 0..<Small<f32> as Params<f32>>::TENSORS {
                grad.tensor_mut(i).fill(0.0);
            }
            net.forward_train(&x, &mut rec);
            *loss = SoftmaxCrossEntropy.value_and_grad(Small::<f32>::output(&rec), &3, &mut dy);
            net.backward(&rec, &dy, &mut grad, None);
            opt.step(&mut net, &grad);
        }
        losses
    });
    assert!(
        losses[1] < losses[0],
        "one Adam step on one sample lowers its loss: {losses:?}"
    );
}
