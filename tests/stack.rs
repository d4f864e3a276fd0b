//! The memory figures a model reports are real: inference runs on a thread whose whole stack is
//! only a little larger than the activation bytes the model reports, and training one sample
//! runs in a little more than its reported working memory. Parameters, gradients and optimiser
//! state live outside that stack (on a microcontroller: in `static`s).

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
    pub struct Small(input: [1, 12, 12]) {
        conv2d(4, kernel = 3), relu,
        max_pool2d(2),
        flatten,
        dense(32), tanh,
        dense(10),
    }
}

/// What a thread needs besides the model's own buffers: the runtime's thread start-up and the
/// test's own frames. Optimised code needs under 4 KiB more than the reported figures
/// (`cargo test --release --test stack`, which CI runs); the test profile's lightly optimised
/// frames keep copies of some activations, so there the margin is larger.
const OVERHEAD: usize = if cfg!(debug_assertions) {
    64 << 10
} else {
    8 << 10
};

/// Runs `f` on a thread with `bytes` of stack plus [`OVERHEAD`]; a stack overflow aborts the
/// test binary, which fails the test.
fn on_stack<R: Send + 'static>(bytes: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(bytes + OVERHEAD)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the thread panicked")
}

#[test]
fn lenet_inference_fits_in_its_reported_activation_bytes() {
    let bytes = LeNet5::<f32>::INFERENCE_BYTES;
    // The figure is the sum of every layer's output (15,002 values, by hand from the summary's
    // shapes) plus the largest scratch buffer a layer reports.
    let scratch = LeNet5::<f32>::LAYERS
        .iter()
        .map(|l| l.scratch_bytes)
        .max()
        .unwrap();
    assert_eq!(bytes, 15_002 * 4 + scratch);
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
fn small_network_trains_in_its_reported_working_memory() {
    let bytes = Small::<f32>::TRAINING_BYTES;
    let mut net = Box::new(Small::<f32>::new(&mut SplitMix64::new(2)));
    let mut grad = Box::new(<Small<f32> as Network<f32>>::Grad::zeros());
    let mut opt = Box::new(Adam::<f32, Small<f32>>::new(1e-3));
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
