//! Sequence networks: token and sequence inputs through embeddings, 1-D convolutions, pools
//! over time, per-step dense layers and recurrent layers (stacked, bidirectional), checked by
//! f64 finite differences of whole generated networks (the carried-state path too), against
//! a recurrence computed by hand, and for PyTorch's names.

use stacknet::prelude::*;
use stacknet::runtime::gradcheck::{check_network, check_network_params, relative_error, EPS};
use stacknet::runtime::rng::uniform_sym;

network! {
    /// Every float-sequence kind: conv1d, a pool over time, a bidirectional GRU, a stacked
    /// LSTM and a per-step dense head.
    #[derive(Clone)]
    pub struct Seq(input: [7, 3]) {
        conv: conv1d(4, kernel = 3, padding = same), tanh,
        pool: avg_pool1d(2, stride = 1),
        gru: gru(3, sequences = true, bidirectional = true),
        lstm: lstm(4, sequences = true),
        head: dense(5),
    }
}

network! {
    /// Token ids through an embedding, a ReLU RNN, pools over time and a dense classifier.
    #[derive(Clone)]
    pub struct Tok(tokens: [6]) {
        embed: embedding(9, 3),
        rnn: rnn(4, nonlinearity = relu, sequences = true),
        conv: conv1d(4, kernel = 2, stride = 2, groups = 2),
        max_pool1d(2, stride = 1),
        mean_over_time,
        fc: dense(3),
    }
}

network! {
    /// Two recurrent layers stacked, the second reducing to its final state, bidirectional.
    #[derive(Clone)]
    pub struct Stacked(input: [5, 2]) {
        lower: lstm(3, sequences = true),
        upper: rnn(3, bidirectional = true),
        fc: dense(2),
    }
}

network! {
    /// Four steps of a per-step LSTM model, to be run twice with the carried state...
    #[derive(Clone)]
    pub struct Chunk(input: [4, 2]) {
        lstm: lstm(3, sequences = true),
        gru: gru(2, sequences = true),
        head: dense(2),
    }
}

network! {
    /// ...and the same layers over the eight steps at once.
    #[derive(Clone)]
    pub struct Whole(input: [8, 2]) {
        lstm: lstm(3, sequences = true),
        gru: gru(2, sequences = true),
        head: dense(2),
    }
}

network! {
    /// One hidden unit, one feature: small enough to compute by hand.
    pub struct Tiny(input: [3, 1]) {
        rnn: rnn(1),
    }
}

fn random<N: Network<f64>>(seed: u64) -> N::Input
where
    N::Input: Flat<f64>,
{
    let mut rng = SplitMix64::new(seed);
    let mut x = N::Input::zeros();
    x.flat_mut()
        .iter_mut()
        .for_each(|v| *v = uniform_sym(&mut rng, 1.0));
    x
}

#[test]
fn sequence_gradients_match_finite_differences() {
    let net = Seq::<f64>::new(&mut SplitMix64::new(3));
    let x = random::<Seq<f64>>(4);
    let targets = [0usize, 4, 2, 1, 3, 3];
    let check = check_network(
        &net,
        &x,
        &targets,
        &SequenceCrossEntropy::<6, 5>,
        24,
        |info, err| {
            assert!(err < 1e-6, "{info}: {err:e}");
        },
    );
    assert!(check.input_worst < 1e-6, "input: {check:?}");
}

#[test]
fn stacked_bidirectional_gradients_match_finite_differences() {
    let net = Stacked::<f64>::new(&mut SplitMix64::new(5));
    let x = random::<Stacked<f64>>(6);
    let check = check_network(&net, &x, &1, &SoftmaxCrossEntropy, 24, |info, err| {
        assert!(err < 1e-6, "{info}: {err:e}");
    });
    assert!(check.input_worst < 1e-6, "input: {check:?}");
}

/// Token networks have no input gradient; every parameter, the used embedding rows among
/// them, is checked by differences of the loss (gradcheck's parameters-only check).
#[test]
fn token_gradients_match_finite_differences() {
    let net = Tok::<f64>::new(&mut SplitMix64::new(7));
    let x = [3u32, 1, 4, 1, 5, 8];
    // Every entry of every tensor: the embedding table has only 27.
    check_network_params(&net, &x, &2, &SoftmaxCrossEntropy, usize::MAX, |t| {
        assert!(t.worst < 1e-6, "{t}");
    });
    // Rows of tokens that never occur (0, 2, 6, 7) get no gradient.
    let mut trained = net.clone();
    let mut rec = Box::new(<Tok<f64> as Network<f64>>::Record::zeros());
    trained.forward_train(&x, &mut rec);
    let mut dy = SVector::<f64, 3>::zeros();
    SoftmaxCrossEntropy.value_and_grad(Tok::<f64>::output(&rec), &2, &mut dy);
    let mut grad = Box::new(<Tok<f64> as Network<f64>>::Grad::zeros());
    trained.backward(&rec, &dy, &mut grad, None);
    let rows = grad.tensor(0);
    for id in [0, 2, 6, 7] {
        assert!(
            rows[id * 3..id * 3 + 3].iter().all(|&g| g == 0.0),
            "row {id}"
        );
    }
}

/// Two chunks of four steps with the state carried equal the eight steps at once, in
/// inference and in training (the outputs of the second chunk are steps 4 to 7).
#[test]
fn carried_state_reads_chunks_as_one_sequence() {
    let chunk = Chunk::<f64>::new(&mut SplitMix64::new(9));
    let mut whole = Whole::<f64>::new(&mut SplitMix64::new(10));
    let mut params = vec![0.0; Chunk::<f64>::PARAMS];
    chunk.copy_params_to(&mut params).unwrap();
    whole.copy_params_from(&params).unwrap();
    let x = random::<Whole<f64>>(11);
    let (a, b) = x.as_slice().split_at(8);
    let (a, b) = (
        SVector::<f64, 8>::from_column_slice(a),
        SVector::<f64, 8>::from_column_slice(b),
    );
    let y = whole.forward(&x);

    let mut state = ChunkState::zeros();
    let ya = chunk.forward_from(&a, &mut state);
    let carried = chunk.forward_from(&b, &mut state);
    let joined: Vec<f64> = ya.iter().chain(carried.iter()).copied().collect();
    for (i, (p, q)) in joined.iter().zip(y.iter()).enumerate() {
        assert!((p - q).abs() < 1e-12, "inference [{i}]: {p} vs {q}");
    }

    let mut trained = chunk.clone();
    let mut state = ChunkState::zeros();
    let mut rec = Box::new(<Chunk<f64> as Network<f64>>::Record::zeros());
    trained.forward_train_from(&a, &mut state, &mut rec);
    let yb = *trained.forward_train_from(&b, &mut state, &mut rec);
    for (i, (p, q)) in yb.iter().zip(y.iter().skip(8)).enumerate() {
        assert!((p - q).abs() < 1e-12, "training [{i}]: {p} vs {q}");
    }
    // Without the state the second chunk reads differently.
    assert!((chunk.forward(&b) - carried).norm() > 1e-6);
}

/// Backward after `forward_train_from` is the gradient of the chunk's loss with the starting
/// state held fixed (truncated backpropagation through time).
#[test]
fn carried_state_gradients_match_finite_differences() {
    let net = Chunk::<f64>::new(&mut SplitMix64::new(12));
    let mut start = ChunkState::zeros();
    // A nonzero starting state: the one after reading a first chunk.
    net.forward_from(&random::<Chunk<f64>>(13), &mut start);
    let x = random::<Chunk<f64>>(14);
    let targets = [1usize, 0, 1, 1];
    let loss = |n: &Chunk<f64>| {
        let (mut n, mut state) = (n.clone(), start.clone());
        let mut rec = Box::new(<Chunk<f64> as Network<f64>>::Record::zeros());
        let y = *n.forward_train_from(&x, &mut state, &mut rec);
        SequenceCrossEntropy::<4, 2>.value(&y, &targets)
    };
    let (mut trained, mut state) = (net.clone(), start.clone());
    let mut rec = Box::new(<Chunk<f64> as Network<f64>>::Record::zeros());
    let y = *trained.forward_train_from(&x, &mut state, &mut rec);
    let mut dy = SVector::<f64, 8>::zeros();
    SequenceCrossEntropy::<4, 2>.value_and_grad(&y, &targets, &mut dy);
    let mut grad = Box::new(<Chunk<f64> as Network<f64>>::Grad::zeros());
    trained.backward(&rec, &dy, &mut grad, None);
    for i in 0..Chunk::<f64>::TENSORS {
        for k in 0..net.tensor(i).len() {
            let mut probe = net.clone();
            probe.tensor_mut(i)[k] += EPS;
            let hi = loss(&probe);
            probe.tensor_mut(i)[k] -= 2.0 * EPS;
            let numeric = (hi - loss(&probe)) / (2.0 * EPS);
            let err = relative_error(grad.tensor(i)[k], numeric);
            assert!(
                err < 1e-6,
                "{} [{k}]: {err:e}",
                Chunk::<f64>::tensor_info(i)
            );
        }
    }
}

/// h_t = tanh(w x_t + b_ih + u h_{t−1} + b_hh) from h_0 = 0, written out; the output is h_3.
#[test]
fn rnn_matches_the_recurrence_by_hand() {
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(1));
    let (w, u, b_ih, b_hh) = (0.5, -0.8, 0.1, -0.3);
    for (i, v) in [w, u, b_ih, b_hh].into_iter().enumerate() {
        net.tensor_mut(i)[0] = v;
    }
    let x = SVector::<f64, 3>::new(1.0, -2.0, 0.5);
    let mut h = 0.0f64;
    for t in 0..3 {
        h = (w * x[t] + b_ih + u * h + b_hh).tanh();
    }
    let y = net.forward(&x);
    assert!((y[0] - h).abs() < 1e-15, "{} vs {h}", y[0]);
}

#[test]
fn sequence_networks_have_pytorch_names_and_shapes() {
    let names: Vec<String> = (0..Stacked::<f64>::TENSORS)
        .map(|i| Stacked::<f64>::tensor_info(i).to_string())
        .collect();
    let expected = [
        "lower.weight_ih_l0",
        "lower.weight_hh_l0",
        "lower.bias_ih_l0",
        "lower.bias_hh_l0",
        "upper.weight_ih_l0",
        "upper.weight_hh_l0",
        "upper.bias_ih_l0",
        "upper.bias_hh_l0",
        "upper.weight_ih_l0_reverse",
        "upper.weight_hh_l0_reverse",
        "upper.bias_ih_l0_reverse",
        "upper.bias_hh_l0_reverse",
        "fc.weight",
        "fc.bias",
    ];
    assert_eq!(names, expected);
    assert_eq!(Stacked::<f64>::tensor_info(0).shape.dims(), [12, 2]);
    assert_eq!(Stacked::<f64>::tensor_info(5).shape.dims(), [3, 3]);
    // LSTM 4·3·(2 + 3) + 2·4·3, bidirectional RNN 2·(3·(3 + 3) + 2·3), dense 2·6 + 2.
    assert_eq!(Stacked::<f64>::PARAMS, 84 + 48 + 14);
    assert_eq!(Seq::<f64>::INPUT_SHAPE.dims(), [7, 3]);
    assert_eq!(Seq::<f64>::OUTPUT_SHAPE.dims(), [6, 5]);
    assert_eq!(Tok::<f64>::INPUT_SHAPE.dims(), [6]);
    assert_eq!(Tok::<f64>::tensor_info(0).to_string(), "embed.weight");
    assert_eq!(Tok::<f64>::tensor_info(0).shape.dims(), [9, 3]);
    // conv1d weight [out, in / groups, kernel].
    assert_eq!(Tok::<f64>::tensor_info(5).shape.dims(), [4, 2, 2]);
}

/// PyTorch initialises recurrent layers U(−1/√hidden, 1/√hidden), biases included.
#[test]
fn recurrent_layers_start_within_pytorchs_bound() {
    let net = Stacked::<f64>::new(&mut SplitMix64::new(2));
    let bound = 1.0 / 3f64.sqrt();
    for i in 0..12 {
        let t = net.tensor(i);
        assert!(
            t.iter().all(|v| v.abs() <= bound),
            "{}",
            Stacked::<f64>::tensor_info(i)
        );
        assert!(
            t.iter().any(|&v| v != 0.0),
            "{}",
            Stacked::<f64>::tensor_info(i)
        );
    }
}
