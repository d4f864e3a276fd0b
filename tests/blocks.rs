//! Blocks: `residual`, `concat`, `repeat` and groups, checked against hand computations, f64
//! finite differences through both training paths (per sample and per minibatch, batch norm
//! inside a residual included), PyTorch's names and order, and the planned memory.

use stacknet::prelude::*;
use stacknet::runtime::gradcheck::{check_network, relative_error, EPS};
use stacknet::runtime::rng::uniform_sym;

network! {
    /// A residual whose body starts with an in-place activation: the ReLU reads the block's
    /// input, which the identity shortcut reads again afterwards.
    #[derive(Clone)]
    pub struct SkipRelu(input: [4]) {
        fc0: dense(4),
        res: residual { relu, fc: dense(4) },
    }
}

network! {
    /// Every block in one vector network.
    #[derive(Clone)]
    pub struct Blocks(input: [3]) {
        fc0: dense(6), tanh,
        res: residual { relu, dense(6), sigmoid },
        proj: residual(shortcut = { dense(4) }) { dense(5), tanh, dense(4) },
        cat: concat { dense(2), { dense(3), tanh }, {} },
        stack: repeat(2) { dense(9), tanh },
        out: dense(3),
    }
}

network! {
    /// Blocks inside blocks: a repeated residual whose body holds a concat whose branch holds
    /// another residual.
    #[derive(Clone)]
    pub struct Nested(input: [4]) {
        stack: repeat(2) {
            residual {
                cat: concat { dense(2), { residual { tanh, dense(4) } } },
                dense(4),
            },
            tanh,
        },
        out: dense(2),
    }
}

network! {
    /// A ResNet-style stage with batch norm inside the residual, a projection shortcut with
    /// stride 2, and an inception-style concat with a pooling branch.
    #[derive(Clone)]
    pub struct ConvRes(input: [2, 6, 6]) {
        conv1: conv2d(3, kernel = 3, padding = 1), bn1: batch_norm, relu,
        block: residual(shortcut = { conv2d(4, kernel = 1, stride = 2) }) {
            conv2d(4, kernel = 3, stride = 2, padding = 1), batch_norm, relu,
            conv2d(4, kernel = 3, padding = 1), batch_norm,
        },
        relu,
        branches: concat { conv2d(2, kernel = 1), { max_pool2d(3, stride = 1, padding = 1) } },
        global_avg_pool2d,
        fc: dense(3),
    }
}

/// y = W x + b of a dense layer, from its stored parameters (column o of the stored matrix
/// is row o of PyTorch's weight).
fn dense<const I: usize, const O: usize>(
    layer: &stacknet::runtime::layers::Dense<f64, I, O>,
    x: &[f64],
) -> Vec<f64> {
    (0..O)
        .map(|o| layer.bias[o] + (0..I).map(|i| layer.weight[(i, o)] * x[i]).sum::<f64>())
        .collect()
}

#[test]
fn skip_connection_input_is_not_clobbered_by_an_in_place_activation() {
    let net = SkipRelu::<f64>::new(&mut SplitMix64::new(3));
    let x = SVector::<f64, 4>::new(0.9, -1.2, 0.4, -0.7);
    // By hand: z = fc0(x); y = fc(relu(z)) + z.
    let z = dense(&net.fc0, x.as_slice());
    assert!(
        z.iter().any(|&v| v < 0.0),
        "some z must be negative so that relu changes it: {z:?}"
    );
    let relu: Vec<f64> = z.iter().map(|&v| v.max(0.0)).collect();
    let expected: Vec<f64> = dense(&net.res_fc, &relu)
        .iter()
        .zip(&z)
        .map(|(a, b)| a + b)
        .collect();
    let y = net.forward(&x);
    for (a, b) in y.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-12, "inference {y:?} vs {expected:?}");
    }
    let mut train = net.clone();
    let mut rec = <SkipRelu<f64> as Network<f64>>::Record::zeros();
    train.forward_train(&x, &mut rec);
    assert_eq!(SkipRelu::<f64>::output(&rec), &y);
    let check = check_network(&net, &x, &2, &SoftmaxCrossEntropy, 16, |info, err| {
        assert!(err < 1e-6, "{info}: {err:e}");
    });
    assert!(check.input_worst < 1e-6, "{check:?}");
}

#[test]
fn blocks_have_pytorch_paths_in_order() {
    let names: Vec<String> = (0..Blocks::<f64>::TENSORS)
        .map(|i| Blocks::<f64>::tensor_info(i).to_string())
        .collect();
    let layers = [
        "fc0",
        "res.dense_1",
        "proj.dense_0",
        "proj.dense_2",
        "proj.shortcut.dense_0",
        "cat.dense_0",
        "cat.1.dense_0",
        "stack.0.dense_0",
        "stack.1.dense_0",
        "out",
    ];
    let expected: Vec<String> = layers
        .iter()
        .flat_map(|l| [format!("{l}.weight"), format!("{l}.bias")])
        .collect();
    assert_eq!(names, expected);
    // 3·6+6, 6·6+6, 6·5+5, 5·4+4, 6·4+4, 4·2+2, 4·3+3, (concat: 2 + 3 + 4 = 9) 9·9+9 twice, 9·3+3.
    let by_hand = 24 + 42 + 35 + 24 + 28 + 10 + 15 + 90 + 90 + 30;
    assert_eq!(Blocks::<f64>::PARAMS, by_hand);
    assert_eq!(Blocks::<f64>::OUTPUT_SHAPE.dims(), [3]);
}

#[test]
fn blocks_forward_matches_a_hand_computation() {
    let net = Blocks::<f64>::new(&mut SplitMix64::new(5));
    let x = [0.3, -0.5, 0.8];
    let tanh = |v: Vec<f64>| v.into_iter().map(f64::tanh).collect::<Vec<_>>();
    let add = |a: Vec<f64>, b: &[f64]| a.iter().zip(b).map(|(a, b)| a + b).collect::<Vec<_>>();
    let h = tanh(dense(&net.fc0, &x));
    let relu: Vec<f64> = h.iter().map(|&v| v.max(0.0)).collect();
    let body: Vec<f64> = dense(&net.res_dense_1, &relu)
        .into_iter()
        .map(|v| 1.0 / (1.0 + (-v).exp()))
        .collect();
    let h = add(body, &h);
    let body = dense(&net.proj_dense_2, &tanh(dense(&net.proj_dense_0, &h)));
    let h = add(body, &dense(&net.proj_shortcut_dense_0, &h));
    let mut cat = dense(&net.cat_dense_0, &h);
    cat.extend(tanh(dense(&net.cat_1_dense_0, &h)));
    cat.extend(&h);
    let h = tanh(dense(&net.stack_0_dense_0, &cat));
    let h = tanh(dense(&net.stack_1_dense_0, &h));
    let expected = dense(&net.out, &h);
    let y = net.forward(&SVector::from(x));
    for (a, b) in y.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-12, "{y:?} vs {expected:?}");
    }
}

#[test]
fn blocks_gradients_match_finite_differences() {
    let mut rng = SplitMix64::new(7);
    let net = Blocks::<f64>::new(&mut rng);
    for sample in 0..3 {
        let x = SVector::<f64, 3>::from_fn(|_, _| uniform_sym(&mut rng, 1.5));
        let mut checked = 0;
        let check = check_network(
            &net,
            &x,
            &(sample % 3),
            &SoftmaxCrossEntropy,
            40,
            |info, err| {
                checked += 1;
                assert!(err < 1e-6, "{info}: {err:e}");
            },
        );
        assert_eq!(checked, Blocks::<f64>::TENSORS);
        assert!(check.input_worst < 1e-6, "input: {check:?}");
    }
}

/// The mean softmax cross-entropy of a minibatch through the batch path, on a fresh clone.
fn batch_loss<N, const B: usize, const O: usize>(
    net: &N,
    xs: &[N::Input; B],
    ts: &[usize; B],
) -> f64
where
    N: BatchNetwork<f64, Output = SVector<f64, O>> + Clone,
{
    let mut net = net.clone();
    let mut rec = Box::new(N::BatchRecord::<B>::zeros());
    net.forward_train_batch(xs, &mut rec);
    let ys = N::batch_outputs(&rec);
    ys.iter()
        .zip(ts)
        .map(|(y, t)| SoftmaxCrossEntropy.value(y, t))
        .sum::<f64>()
        / B as f64
}

/// Every parameter's batch-path gradient against central differences of [`batch_loss`].
fn check_batch_path<N, const B: usize, const O: usize>(net: &N, xs: &[N::Input; B], ts: &[usize; B])
where
    N: BatchNetwork<f64, Output = SVector<f64, O>> + Clone,
{
    let mut trained = net.clone();
    let mut rec = Box::new(N::BatchRecord::<B>::zeros());
    trained.forward_train_batch(xs, &mut rec);
    let mut dys = [SVector::<f64, O>::zeros(); B];
    for ((y, t), dy) in N::batch_outputs(&rec).iter().zip(ts).zip(&mut dys) {
        SoftmaxCrossEntropy.value_and_grad(y, t, dy);
        *dy /= B as f64;
    }
    let mut grad = N::Grad::zeros();
    trained.backward_batch(&rec, &dys, &mut grad);
    for i in 0..N::TENSORS {
        let name = N::tensor_info(i).to_string();
        let n = net.tensor(i).len();
        for k in (0..n).step_by(n.div_ceil(12)) {
            let (mut hi, mut lo) = (net.clone(), net.clone());
            hi.tensor_mut(i)[k] += EPS;
            lo.tensor_mut(i)[k] -= EPS;
            let numeric = (batch_loss(&hi, xs, ts) - batch_loss(&lo, xs, ts)) / (2.0 * EPS);
            let analytic = grad.tensor(i)[k];
            let err = relative_error(analytic, numeric);
            assert!(
                err < 1e-6,
                "{name}[{k}]: backward {analytic} vs {numeric} ({err:e})"
            );
        }
    }
}

#[test]
fn blocks_batch_path_gradients_match_finite_differences() {
    let mut rng = SplitMix64::new(8);
    let net = Blocks::<f64>::new(&mut rng);
    let xs: [SVector<f64, 3>; 4] =
        core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.5)));
    check_batch_path(&net, &xs, &[0, 1, 2, 1]);
}

#[test]
fn nested_blocks_have_scoped_names_and_exact_gradients() {
    let names: Vec<String> = (0..Nested::<f64>::TENSORS)
        .step_by(2)
        .map(|i| Nested::<f64>::tensor_info(i).to_string())
        .collect();
    assert_eq!(
        names,
        [
            "stack.0.residual_0.cat.dense_0.weight",
            "stack.0.residual_0.cat.1.residual_0.dense_1.weight",
            "stack.0.residual_0.dense_1.weight",
            "stack.1.residual_0.cat.dense_0.weight",
            "stack.1.residual_0.cat.1.residual_0.dense_1.weight",
            "stack.1.residual_0.dense_1.weight",
            "out.weight",
        ]
    );
    let mut rng = SplitMix64::new(12);
    let net = Nested::<f64>::new(&mut rng);
    let x = SVector::<f64, 4>::from_fn(|_, _| uniform_sym(&mut rng, 1.0));
    // Inference runs the arena program, training the record program: the same function.
    let mut rec = <Nested<f64> as Network<f64>>::Record::zeros();
    net.clone().forward_train(&x, &mut rec);
    let (a, b) = (net.forward(&x), *Nested::<f64>::output(&rec));
    assert!((a - b).norm() < 1e-12, "{a:?} vs {b:?}");
    let check = check_network(&net, &x, &1, &SoftmaxCrossEntropy, 40, |info, err| {
        assert!(err < 1e-6, "{info}: {err:e}");
    });
    assert!(check.input_worst < 1e-6, "{check:?}");
    let xs: [SVector<f64, 4>; 3] =
        core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.0)));
    check_batch_path(&net, &xs, &[0, 1, 1]);
}

#[test]
fn batch_norm_inside_a_residual_trains_on_the_batch_path() {
    const { assert!(ConvRes::<f64>::NEEDS_BATCH) };
    let mut rng = SplitMix64::new(11);
    let net = ConvRes::<f64>::new(&mut rng);
    let xs: [SVector<f64, 72>; 4] =
        core::array::from_fn(|_| SVector::from_fn(|_, _| uniform_sym(&mut rng, 1.0)));
    check_batch_path(&net, &xs, &[0, 2, 1, 2]);
    let names: Vec<String> = (0..ConvRes::<f64>::TENSORS)
        .map(|i| ConvRes::<f64>::tensor_info(i).to_string())
        .collect();
    assert_eq!(
        &names[4..10],
        [
            "block.conv2d_0.weight",
            "block.conv2d_0.bias",
            "block.batch_norm_1.weight",
            "block.batch_norm_1.bias",
            "block.conv2d_3.weight",
            "block.conv2d_3.bias",
        ]
    );
    assert_eq!(names[12], "block.shortcut.conv2d_0.weight");
    assert_eq!(names[14], "branches.conv2d_0.weight");
    // conv1 54 + 3, bn1 6, block 108 + 4, 8, 144 + 4, 8, shortcut 12 + 4, branch 8 + 2,
    // fc (2 + 4 channels) 18 + 3.
    assert_eq!(
        ConvRes::<f64>::PARAMS,
        57 + 6 + 112 + 8 + 148 + 8 + 16 + 10 + 21
    );
}

#[test]
fn summary_shows_paths_and_joins() {
    let text = Blocks::<f32>::summary().to_string();
    for row in ["res.dense_1", "proj.shortcut.dense_0", "stack.1.dense_0"] {
        assert!(text.contains(row), "{row} missing from\n{text}");
    }
    let add = text.lines().find(|l| l.starts_with("proj ")).unwrap();
    assert!(add.contains("add") && add.contains("[4]"), "{add}");
    let cat = text.lines().find(|l| l.starts_with("cat ")).unwrap();
    assert!(cat.contains("concat") && cat.contains("[9]"), "{cat}");
}

#[test]
fn inference_memory_is_the_planned_peak() {
    // Blocks, by hand: the widest moment is the concat, which writes its 9 values while the
    // 4 of its input are live (9 + 4 = 13); every other step holds less (the projection's
    // body output 4 + its input 4 + its shortcut's 4 = 12). The arena cannot be smaller.
    let arena = Blocks::<f32>::INFERENCE_BYTES / 4;
    assert!(arena >= 13, "{arena}");
    // A chain of layers with a buffer each would need every output: 6 + 6 + 6 + ... = 67.
    let chain: usize = Blocks::<f32>::LAYERS.iter().map(|l| l.output.len()).sum();
    assert!(arena < chain / 2, "arena {arena} of a chain's {chain}");
}
