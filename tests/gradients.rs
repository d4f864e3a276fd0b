//! Whole generated networks against central finite differences in f64: LeNet-5 through the
//! per-sample path, and a network with batch norm and dropout through the minibatch path.

use stacknet::prelude::*;
use stacknet::runtime::gradcheck::{check_network, relative_error, EPS};
use stacknet::runtime::rng::uniform_sym;

network! {
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
    #[derive(Clone)]
    pub struct Normalised(input: [2, 6, 6]) {
        conv1: conv2d(3, kernel = 3, padding = same), bn1: batch_norm, relu,
        max_pool2d(2),
        flatten,
        fc1: dense(8), bn2: batch_norm(momentum = 0.2), dropout(0.3), tanh,
        fc2: dense(4),
    }
}

/// Runs `f` on a thread with room for several f64 copies of LeNet.
fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn lenet_gradients_match_finite_differences() {
    big_stack(|| {
        let mut rng = SplitMix64::new(9);
        let net = Box::new(LeNet5::<f64>::new(&mut rng));
        let x = Box::new(SVector::<f64, 784>::from_fn(|_, _| {
            uniform_sym(&mut rng, 1.0)
        }));
        let mut tensors = Vec::new();
        let check = check_network(&*net, &x, &7, &SoftmaxCrossEntropy, 24, |info, err| {
            tensors.push((info.to_string(), err));
        });
        assert_eq!(tensors.len(), 10, "every parameter tensor is checked");
        for (name, err) in &tensors {
            assert!(*err < 1e-6, "{name}: worst relative error {err:e}");
        }
        assert!(
            check.input_worst < 1e-6,
            "input gradient: {:e}",
            check.input_worst
        );
    });
}

/// The mean loss of a minibatch in training mode, on a fresh clone (so the dropout masks and
/// running statistics repeat exactly).
fn batch_loss<const B: usize>(
    net: &Normalised<f64>,
    xs: &[SVector<f64, 72>; B],
    ts: &[usize; B],
) -> f64 {
    let mut net = net.clone();
    let mut rec = Box::new(<Normalised<f64> as BatchNetwork<f64>>::BatchRecord::<B>::zeros());
    net.forward_train_batch(xs, &mut rec);
    let ys = Normalised::<f64>::batch_outputs(&rec);
    ys.iter()
        .zip(ts)
        .map(|(y, t)| SoftmaxCrossEntropy.value(y, t))
        .sum::<f64>()
        / B as f64
}

#[test]
fn batch_norm_network_gradients_match_finite_differences() {
    const B: usize = 5;
    let mut rng = SplitMix64::new(10);
    let net = Normalised::<f64>::new(&mut rng);
    let xs: [SVector<f64, 72>; B] =
        core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.0)));
    let ts = [0, 1, 2, 3, 1];

    let mut trained = net.clone();
    let mut rec = Box::new(<Normalised<f64> as BatchNetwork<f64>>::BatchRecord::<B>::zeros());
    trained.forward_train_batch(&xs, &mut rec);
    let mut dys = [SVector::<f64, 4>::zeros(); B];
    for ((y, t), dy) in Normalised::<f64>::batch_outputs(&rec)
        .iter()
        .zip(&ts)
        .zip(&mut dys)
    {
        SoftmaxCrossEntropy.value_and_grad(y, t, dy);
        *dy /= B as f64; // the gradient of the batch mean
    }
    let mut grad = <Normalised<f64> as Network<f64>>::Grad::zeros();
    trained.backward_batch(&rec, &dys, &mut grad);

    let mut names = Vec::new();
    for i in 0..Normalised::<f64>::TENSORS {
        names.push(Normalised::<f64>::tensor_info(i).to_string());
        for k in 0..net.tensor(i).len() {
            let (mut hi, mut lo) = (net.clone(), net.clone());
            hi.tensor_mut(i)[k] += EPS;
            lo.tensor_mut(i)[k] -= EPS;
            let numeric = (batch_loss(&hi, &xs, &ts) - batch_loss(&lo, &xs, &ts)) / (2.0 * EPS);
            let analytic = grad.tensor(i)[k];
            let err = relative_error(analytic, numeric);
            let name = &names[i];
            assert!(
                err < 1e-6,
                "{name}[{k}]: backward {analytic} vs {numeric} ({err:e})"
            );
        }
    }
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "bn1.weight",
            "bn1.bias",
            "fc1.weight",
            "fc1.bias"
        ]
        .into_iter()
        .chain(["bn2.weight", "bn2.bias", "fc2.weight", "fc2.bias"])
        .collect::<Vec<_>>()
    );
    // Training mode moved the running statistics; inference uses them, not the batch's.
    assert_ne!(trained.bn1.running_mean, net.bn1.running_mean);
    assert_ne!(trained.forward(&xs[0]), net.forward(&xs[0]));
}
