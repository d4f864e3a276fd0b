//! `ParallelTrainer`: the same parameters for any thread count, the mean gradient of the
//! one-thread `Trainer` (whose gradients the finite-difference tests check), dropout masks of
//! their own per shard, and clear failures; batch norm on threads (shard statistics), checked
//! against the one-thread batch trainer run shard by shard.

use stacknet::parallel::{Batch, ParallelBatchTrainer, ParallelTrainer};
use stacknet::prelude::*;
use stacknet::runtime::rand_core::RngCore;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

/// Counts every thread's allocations: the pool's threads do the work here.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// The tests of this file run one at a time, so the counter sees one test's threads.
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: forwards every call unchanged to the system allocator; counting is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, SeqCst);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, SeqCst);
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, SeqCst);
        System.realloc(p, l, n)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fewest allocations in three runs of `steps`: the test harness's own thread allocates
/// now and then (reporting a test that just ended), which one run can catch; a step that
/// allocates shows in every run.
fn fewest_allocations(mut steps: impl FnMut()) -> u64 {
    (0..3)
        .map(|_| {
            let before = ALLOCATIONS.load(SeqCst);
            steps();
            ALLOCATIONS.load(SeqCst) - before
        })
        .min()
        .unwrap()
}

network! {
    /// A small CNN with dropout, so the shards' masks matter.
    #[derive(Clone)]
    struct Cnn(input: [1, 6, 6]) {
        conv: conv2d(3, kernel = 3), relu,
        flatten,
        drop: dropout(0.3),
        fc: dense(4),
    }
}

network! {
    #[derive(Clone)]
    struct Mlp(input: [5]) {
        fc1: dense(7), tanh,
        fc2: dense(3),
    }
}

fn data<const N: usize>(count: usize, seed: u64) -> (Vec<SVector<f64, N>>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed);
    let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    let xs = (0..count).map(|_| SVector::from_fn(|_, _| u())).collect();
    let ys = (0..count).map(|i| i % 3).collect();
    (xs, ys)
}

fn params<N: Network<f64>>(net: &N) -> Vec<f64> {
    let mut out = vec![0.0; N::PARAMS];
    net.copy_params_to(&mut out).unwrap();
    out
}

/// Six steps of batches of 11 (not a multiple of the shard count) on `threads` threads.
fn train_cnn(threads: usize) -> Vec<f64> {
    let (xs, ys) = data::<36>(33, 7);
    let mut net = Cnn::<f64>::new(&mut SplitMix64::new(3));
    let mut opt = SgdMomentum::new(0.05, 0.9);
    let mut trainer = ParallelTrainer::new(&net, threads, 99).unwrap();
    assert_eq!(trainer.threads(), threads);
    for step in 0..6 {
        let batch: Vec<usize> = (0..11).map(|k| (step * 5 + k * 3) % 33).collect();
        let loss = &SoftmaxCrossEntropy;
        trainer
            .step_indexed(&mut net, &mut opt, loss, &xs, &ys, &batch)
            .unwrap();
    }
    params(&net)
}

#[test]
fn any_thread_count_gives_the_same_parameters() {
    let _serial = serial();
    let one = train_cnn(1);
    for threads in [2, 3, 4] {
        assert!(
            train_cnn(threads) == one,
            "{threads} threads changed the result"
        );
    }
    // And training did something.
    let start = params(&Cnn::<f64>::new(&mut SplitMix64::new(3)));
    assert!(one.iter().zip(&start).any(|(a, b)| a != b));
}

#[test]
fn the_mean_gradient_is_the_one_thread_trainers() {
    let _serial = serial();
    let (xs, ys) = data::<5>(13, 11);
    let net = Mlp::<f64>::new(&mut SplitMix64::new(5));
    let (mut a, mut b) = (net.clone(), net.clone());
    let mut sequential = Trainer::<Mlp<f64>>::new();
    let mut parallel = ParallelTrainer::with_shards(&net, 2, 3, 1).unwrap();
    let (mut opt_a, mut opt_b) = (Sgd::new(0.1), Sgd::new(0.1));
    let loss = &SoftmaxCrossEntropy;
    let la = sequential
        .step(&mut a, &mut opt_a, loss, xs.iter().zip(&ys))
        .unwrap();
    let lb = parallel.step(&mut b, &mut opt_b, loss, &xs, &ys).unwrap();
    assert!((la - lb).abs() <= 1e-14 * la.abs(), "{la} vs {lb}");
    for i in 0..<MlpGrad<f64> as Params<f64>>::TENSORS {
        for (g, h) in sequential
            .grad
            .tensor(i)
            .iter()
            .zip(parallel.grad().tensor(i))
        {
            assert!((g - h).abs() <= 1e-14 * (1.0 + g.abs()), "{g} vs {h}");
        }
    }
    for (p, q) in params(&a).iter().zip(&params(&b)) {
        assert!((p - q).abs() <= 1e-14, "{p} vs {q}");
    }
}

#[test]
fn each_shard_draws_its_own_dropout_mask() {
    let _serial = serial();
    // One sample twice, in two shards, against the same sample alone in one shard: the first
    // shard's mask is the same in both (the same step seed), so the two-shard gradient equals
    // the one-sample gradient only if the second shard repeated the first one's mask.
    let (xs, ys) = data::<36>(1, 2);
    let net = Cnn::<f64>::new(&mut SplitMix64::new(4));
    let twice = [xs[0], xs[0]];
    let labels = [ys[0], ys[0]];
    let (mut a, mut b) = (net.clone(), net.clone());
    let mut two = ParallelTrainer::with_shards(&net, 2, 2, 8).unwrap();
    let mut one = ParallelTrainer::with_shards(&net, 1, 1, 8).unwrap();
    let loss = &SoftmaxCrossEntropy;
    two.step(&mut a, &mut Sgd::new(0.0), loss, &twice, &labels)
        .unwrap();
    one.step(&mut b, &mut Sgd::new(0.0), loss, &xs, &ys)
        .unwrap();
    let fc = |t: &ParallelTrainer<Cnn<f64>>| t.grad().fc.weight;
    assert_ne!(fc(&two), fc(&one), "the second shard repeated the mask");
}

#[test]
fn a_non_finite_loss_stops_before_the_update() {
    let _serial = serial();
    let (mut xs, ys) = data::<5>(8, 3);
    xs[5][2] = f64::NAN;
    let mut net = Mlp::<f64>::new(&mut SplitMix64::new(5));
    let before = params(&net);
    let mut trainer = ParallelTrainer::new(&net, 2, 1).unwrap();
    let result = trainer.step(&mut net, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &xs, &ys);
    assert!(
        matches!(result, Err(Diverged::Loss(l)) if l.is_nan()),
        "{result:?}"
    );
    assert_eq!(params(&net), before);
}

#[test]
#[should_panic(expected = "8 inputs but 7 targets")]
fn inputs_and_targets_must_pair_up() {
    let _serial = serial();
    let (xs, ys) = data::<5>(8, 3);
    let mut net = Mlp::<f64>::new(&mut SplitMix64::new(5));
    let mut trainer = ParallelTrainer::new(&net, 2, 1).unwrap();
    let _ = trainer.step(
        &mut net,
        &mut Sgd::new(0.1),
        &SoftmaxCrossEntropy,
        &xs,
        &ys[..7],
    );
}

#[test]
#[should_panic(expected = "batch index 8 is out of range for 8 samples")]
fn batch_indices_must_be_in_range() {
    let _serial = serial();
    let (xs, ys) = data::<5>(8, 3);
    let mut net = Mlp::<f64>::new(&mut SplitMix64::new(5));
    let mut trainer = ParallelTrainer::new(&net, 2, 1).unwrap();
    let batch = Batch::Indexed(&[0, 8]);
    let loss = &SoftmaxCrossEntropy;
    let opt = &mut Sgd::new(0.1);
    let _ = trainer.step_with(&mut net, opt, loss, &xs, &ys, batch, |_, _| 0.0);
}

#[test]
fn zero_shards_is_an_error() {
    let _serial = serial();
    let net = Mlp::<f64>::new(&mut SplitMix64::new(5));
    let err = ParallelTrainer::with_shards(&net, 2, 0, 1).err().unwrap();
    assert_eq!(
        err.to_string(),
        "a batch must be cut into at least one shard"
    );
}

#[test]
fn steps_are_heap_free_on_every_thread() {
    let _serial = serial();
    let (xs, ys) = data::<36>(32, 5);
    let mut net = Cnn::<f64>::new(&mut SplitMix64::new(3));
    let mut opt = Adam::new(0.01);
    let mut trainer = ParallelTrainer::new(&net, 2, 1).unwrap();
    let loss = &SoftmaxCrossEntropy;
    // The first steps may set up the pool's thread-locals.
    for _ in 0..3 {
        trainer.step(&mut net, &mut opt, loss, &xs, &ys).unwrap();
    }
    let allocations = fewest_allocations(|| {
        for _ in 0..10 {
            trainer.step(&mut net, &mut opt, loss, &xs, &ys).unwrap();
        }
    });
    assert_eq!(allocations, 0);
    // The counter counts.
    let before = ALLOCATIONS.load(SeqCst);
    drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
    assert_eq!(ALLOCATIONS.load(SeqCst) - before, 1);
}

#[test]
fn fit_on_threads_gives_the_same_weights_for_any_thread_count() {
    let _serial = serial();
    let (xs, ys) = data::<36>(40, 9);
    let train = |threads: usize| {
        let mut net = Cnn::<f64>::new(&mut SplitMix64::new(3));
        let mut opt = SgdMomentum::new(0.05, 0.9);
        let history = Fit::new(3)
            .batch(8)
            .seed(4)
            .quiet()
            .validation_split(0.25)
            .metric(Accuracy::default())
            .run_threads(threads, &mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
            .unwrap();
        (params(&net), history)
    };
    let (one, h1) = train(1);
    let (two, h2) = train(2);
    assert!(one == two, "two threads changed the weights");
    assert_eq!(h1.epochs.len(), 3);
    for (a, b) in h1.epochs.iter().zip(&h2.epochs) {
        assert_eq!(a.train_loss, b.train_loss);
        assert_eq!(a.val_loss, b.val_loss);
        // The training outputs stay on their threads: no training metrics.
        assert!(a.train_metrics.is_empty());
        assert_eq!(a.val_metrics.len(), 1);
    }
}

network! {
    /// Batch norm, and dropout so that the shards' masks matter too.
    #[derive(Clone)]
    struct Normed(input: [5]) {
        fc1: dense(6), bn: batch_norm, relu,
        drop: dropout(0.2),
        fc2: dense(3),
    }
}

network! {
    /// Batch norm without dropout: the one-thread batch trainer can repeat its shards.
    #[derive(Clone)]
    struct NormedMlp(input: [5]) {
        fc1: dense(6), bn: batch_norm(momentum = 0.3), tanh,
        fc2: dense(3),
    }
}

fn stats(net: &Normed<f64>) -> Vec<f64> {
    let bn = &net.bn;
    bn.running_mean
        .iter()
        .chain(&bn.running_var)
        .copied()
        .collect()
}

/// Five steps of batches of 12 (three shards of 4) on `threads` threads.
fn train_normed(threads: usize) -> (Vec<f64>, Vec<f64>) {
    let (xs, ys) = data::<5>(30, 7);
    let mut net = Normed::<f64>::new(&mut SplitMix64::new(3));
    let mut opt = SgdMomentum::new(0.05, 0.9);
    let mut trainer = ParallelBatchTrainer::<Normed<f64>, 4>::new(&net, threads, 99).unwrap();
    assert_eq!(trainer.threads(), threads);
    for step in 0..5 {
        let batch: Vec<usize> = (0..12).map(|k| (step * 7 + k * 5) % 30).collect();
        let batch = Batch::Indexed(&batch);
        let loss = &SoftmaxCrossEntropy;
        trainer
            .step_with(&mut net, &mut opt, loss, &xs, &ys, batch, |_, _| 0.0)
            .unwrap();
    }
    (params(&net), stats(&net))
}

#[test]
fn batch_norm_on_any_thread_count_gives_the_same_parameters_and_statistics() {
    let _serial = serial();
    let one = train_normed(1);
    for threads in [2, 3, 4] {
        assert!(
            train_normed(threads) == one,
            "{threads} threads changed the result"
        );
    }
    let start = Normed::<f64>::new(&mut SplitMix64::new(3));
    assert!(one.0 != params(&start) && one.1 != stats(&start));
}

#[test]
fn batch_norm_shards_are_the_one_thread_batch_trainer_on_each_shard() {
    let _serial = serial();
    // Computed here shard by shard with the one-thread `BatchTrainer`, reading the running
    // statistics from the layer's fields: the mean gradient of the shards, the mean of
    // their running statistics, and one SGD step on that gradient.
    let (xs, ys) = data::<5>(12, 21);
    let net = NormedMlp::<f64>::new(&mut SplitMix64::new(8));
    let (lr, loss) = (0.1, &SoftmaxCrossEntropy);
    let (mut grad, mut mean, mut var, mut expected_loss) = (
        NormedMlpGrad::<f64>::zeros(),
        SVector::<f64, 6>::zeros(),
        SVector::<f64, 6>::zeros(),
        0.0,
    );
    for k in 0..3 {
        let mut shard = net.clone();
        let mut one = BatchTrainer::<NormedMlp<f64>, 4>::new();
        let x: [SVector<f64, 5>; 4] = std::array::from_fn(|i| xs[4 * k + i]);
        let t: [usize; 4] = std::array::from_fn(|i| ys[4 * k + i]);
        expected_loss += one
            .step(&mut shard, &mut Sgd::new(0.0), loss, &x, &t)
            .unwrap()
            / 3.0;
        for i in 0..<NormedMlpGrad<f64> as Params<f64>>::TENSORS {
            for (g, &v) in grad.tensor_mut(i).iter_mut().zip(one.grad.tensor(i)) {
                *g += v / 3.0;
            }
        }
        mean += shard.bn.running_mean / 3.0;
        var += shard.bn.running_var / 3.0;
    }

    let mut threaded = net.clone();
    let mut trainer = ParallelBatchTrainer::<NormedMlp<f64>, 4>::new(&net, 2, 1).unwrap();
    let l = trainer
        .step(&mut threaded, &mut Sgd::new(lr), loss, &xs, &ys)
        .unwrap();
    assert!((l - expected_loss).abs() <= 1e-13, "{l} vs {expected_loss}");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * (1.0 + a.abs());
    for i in 0..<NormedMlpGrad<f64> as Params<f64>>::TENSORS {
        let (got, want) = (trainer.grad().tensor(i), grad.tensor(i));
        assert!(
            got.iter().zip(want).all(|(&a, &b)| close(a, b)),
            "tensor {i}: {got:?} vs {want:?}"
        );
        let (after, before) = (threaded.tensor(i), net.tensor(i));
        for ((&p, &q), &g) in after.iter().zip(before).zip(want) {
            assert!(close(p, q - lr * g), "{p} vs {}", q - lr * g);
        }
    }
    for c in 0..6 {
        assert!(
            close(threaded.bn.running_mean[c], mean[c]),
            "running mean {c}"
        );
        assert!(
            close(threaded.bn.running_var[c], var[c]),
            "running variance {c}"
        );
    }
    // Every shard counted the step from the network's count: still a whole batch, exactly.
    assert_eq!(
        threaded.bn.num_batches_tracked[0],
        net.bn.num_batches_tracked[0] + 1.0
    );

    // Shard statistics are not the whole batch's: one batch of 12 gives another gradient.
    let mut whole = BatchTrainer::<NormedMlp<f64>, 12>::new();
    let (x, t): ([SVector<f64, 5>; 12], [usize; 12]) = (
        std::array::from_fn(|i| xs[i]),
        std::array::from_fn(|i| ys[i]),
    );
    whole
        .step(&mut net.clone(), &mut Sgd::new(0.0), loss, &x, &t)
        .unwrap();
    assert!((whole.grad.fc1.weight - grad.fc1.weight).abs().max() > 1e-6);
}

#[test]
#[should_panic(expected = "a batch of 10 samples is not a whole number of shards of 4")]
fn batch_norm_batches_are_whole_shards() {
    let _serial = serial();
    let (xs, ys) = data::<5>(10, 3);
    let mut net = Normed::<f64>::new(&mut SplitMix64::new(5));
    let mut trainer = ParallelBatchTrainer::<Normed<f64>, 4>::new(&net, 2, 1).unwrap();
    let _ = trainer.step(&mut net, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &xs, &ys);
}

#[test]
fn batch_norm_steps_are_heap_free_on_every_thread() {
    let _serial = serial();
    let (xs, ys) = data::<5>(32, 5);
    let mut net = Normed::<f64>::new(&mut SplitMix64::new(3));
    let mut opt = Adam::new(0.01);
    let mut trainer = ParallelBatchTrainer::<Normed<f64>, 8>::new(&net, 2, 1).unwrap();
    let loss = &SoftmaxCrossEntropy;
    for _ in 0..3 {
        trainer.step(&mut net, &mut opt, loss, &xs, &ys).unwrap();
    }
    let allocations = fewest_allocations(|| {
        for _ in 0..10 {
            trainer.step(&mut net, &mut opt, loss, &xs, &ys).unwrap();
        }
    });
    assert_eq!(allocations, 0);
}

#[test]
fn fit_batch_norm_on_threads_gives_the_same_weights_for_any_thread_count() {
    let _serial = serial();
    let (xs, ys) = data::<5>(40, 9);
    let train = |threads: usize| {
        let mut net = Normed::<f64>::new(&mut SplitMix64::new(3));
        let mut opt = SgdMomentum::new(0.05, 0.9);
        let history = Fit::new(3)
            .batch(12)
            .seed(4)
            .quiet()
            .validation_split(0.25)
            .run_batches_threads::<4>(threads, &mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
            .unwrap();
        (params(&net), stats(&net), history)
    };
    let (p1, s1, h1) = train(1);
    let (p2, s2, h2) = train(2);
    assert!(p1 == p2 && s1 == s2, "two threads changed the result");
    for (a, b) in h1.epochs.iter().zip(&h2.epochs) {
        // 30 training samples: two whole batches of 12 per epoch.
        assert_eq!(a.samples, 24);
        assert_eq!(a.train_loss, b.train_loss);
        assert_eq!(a.val_loss, b.val_loss);
    }
    let mut net = Normed::<f64>::new(&mut SplitMix64::new(3));
    let err = Fit::new(1)
        .batch(10)
        .quiet()
        .run_batches_threads::<4>(
            2,
            &mut net,
            &mut Sgd::new(0.1),
            &SoftmaxCrossEntropy,
            &xs,
            &ys,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::PartialShard {
            batch: 10,
            shard: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "batch size 10 is not a whole number of shards of 4; use a multiple of 4"
    );
}

#[test]
fn threads_that_parked_between_steps_wake_for_the_next() {
    let _serial = serial();
    // Longer pauses than the helpers spin for: every step finds them parked. A lost wake-up
    // would hang the step, so the training runs on a thread of its own, with a deadline.
    let run = |pause: u64| {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (xs, ys) = data::<36>(16, 5);
            let mut net = Cnn::<f64>::new(&mut SplitMix64::new(3));
            let mut opt = Sgd::new(0.05);
            let mut trainer = ParallelTrainer::new(&net, 3, 1).unwrap();
            for _ in 0..4 {
                std::thread::sleep(std::time::Duration::from_millis(pause));
                let loss = &SoftmaxCrossEntropy;
                trainer.step(&mut net, &mut opt, loss, &xs, &ys).unwrap();
            }
            done.send(params(&net)).unwrap();
        });
        result
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a step after a pause did not end: a parked thread was not woken")
    };
    assert!(run(20) == run(0));
}

/// While armed, panics on the helper threads and is slow on the caller's, so that a helper
/// surely takes a shard.
struct Fragile(std::sync::atomic::AtomicBool);

impl Loss<f64, SVector<f64, 4>> for Fragile {
    type Target = usize;
    fn value_and_grad(&self, y: &SVector<f64, 4>, t: &usize, dy: &mut SVector<f64, 4>) -> f64 {
        if self.0.load(SeqCst) {
            let name = std::thread::current().name().map(str::to_owned);
            if name.is_some_and(|n| n.starts_with("stacknet-train")) {
                panic!("fragile loss");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        SoftmaxCrossEntropy.value_and_grad(y, t, dy)
    }
    fn value(&self, y: &SVector<f64, 4>, t: &usize) -> f64 {
        SoftmaxCrossEntropy.value(y, t)
    }
}

#[test]
fn a_panic_on_a_training_thread_reaches_the_caller() {
    let _serial = serial();
    let (xs, ys) = data::<36>(8, 5);
    let mut net = Cnn::<f64>::new(&mut SplitMix64::new(3));
    let mut trainer = ParallelTrainer::new(&net, 2, 1).unwrap();
    let fragile = Fragile(true.into());
    let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        trainer.step(&mut net, &mut Sgd::new(0.1), &fragile, &xs, &ys)
    }));
    let message = *step.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(message, "a training thread panicked");
    // The trainer still works.
    fragile.0.store(false, SeqCst);
    trainer
        .step(&mut net, &mut Sgd::new(0.1), &fragile, &xs, &ys)
        .unwrap();
}

network! {
    /// Two batch norms of different widths, in a residual block.
    #[derive(Clone)]
    struct TwoNorms(input: [2, 4, 4]) {
        conv: conv2d(3, kernel = 3, padding = 1), bn1: batch_norm, relu,
        block: residual {
            conv2d(3, kernel = 3, padding = 1), batch_norm,
        },
        flatten,
        fc: dense(5), bn3: batch_norm,
    }
}

#[test]
fn running_stats_visit_every_batch_norm_in_order() {
    let _serial = serial();
    let mut net = TwoNorms::<f64>::new(&mut SplitMix64::new(1));
    // Each: running mean, running variance, num_batches_tracked.
    assert_eq!(TwoNorms::<f64>::RUNNING_STATS, 9);
    assert_eq!(TwoNorms::<f64>::BUFFERS, 2 * (3 + 3 + 5) + 3);
    assert_eq!(Mlp::<f64>::RUNNING_STATS, 0);
    for i in 0..9 {
        net.running_stats_mut(i).fill(i as f64);
    }
    let [m1, v1, n1, m2, v2, n2, m3, v3, n3] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let block = &net.block_batch_norm_1;
    assert_eq!((net.bn1.running_mean[2], net.bn1.running_var[0]), (m1, v1));
    assert_eq!((block.running_mean[1], block.running_var[2]), (m2, v2));
    assert_eq!((net.bn3.running_mean[4], net.bn3.running_var[0]), (m3, v3));
    let counts = [n1, n2, n3];
    assert_eq!(
        [
            net.bn1.num_batches_tracked[0],
            block.num_batches_tracked[0],
            net.bn3.num_batches_tracked[0]
        ],
        counts
    );
    assert_eq!(net.running_stats(6).len(), 5);
    assert_eq!(net.running_stats(8).len(), 1);
    assert!(net.running_stats(9).is_empty());
    assert_eq!(
        TwoNorms::<f64>::running_stats_info(5).to_string(),
        "block.batch_norm_1.num_batches_tracked"
    );
}
