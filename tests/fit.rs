//! `fit`, `evaluate` and the pictures, against numbers worked out by hand: histories, early
//! stopping and its restored weights, validation splits, errors, callbacks, convergence, the
//! batch path, and well-formed SVG.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use stacknet::data::ConfusionMatrix;
use stacknet::fit::{Monitor, Stop};
use stacknet::prelude::*;

network! {
    /// y = w·x: one weight, no bias.
    pub struct Scale(input: [1]) { fc: dense(1, bias = false, init = zeros) }
}

network! {
    /// y = W x + b, 2 → 2.
    pub struct Affine(input: [2]) { fc: dense(2) }
}

network! {
    /// A 2-8-2 classifier for XOR.
    pub struct Xor(input: [2]) { fc1: dense(8), tanh, fc2: dense(2) }
}

network! {
    /// Batch norm: trains through the minibatch path only.
    pub struct Normed(input: [3]) { fc1: dense(4), bn: batch_norm, relu, fc2: dense(2) }
}

/// Counts this thread's allocations (tests run in parallel on their own threads).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; counting is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        System.alloc(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        System.realloc(p, l, n)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn v1(x: f64) -> SVector<f64, 1> {
    SVector::from([x])
}

/// x = 0, 1, …, n − 1 and targets t = 3x − 1 (a line).
fn line(n: usize) -> (Vec<SVector<f64, 1>>, Vec<SVector<f64, 1>>) {
    let xs: Vec<_> = (0..n).map(|i| v1(i as f64 / n as f64)).collect();
    let ts = xs.iter().map(|x| v1(3.0 * x[0] - 1.0)).collect();
    (xs, ts)
}

network! {
    /// y = w·x + b.
    pub struct Line(input: [1]) { fc: dense(1) }
}

#[test]
fn one_record_per_epoch_and_a_line_is_learned() {
    let (xs, ts) = line(20);
    let mut net = Line::<f64>::new(&mut SplitMix64::new(1));
    let mut opt = Sgd::new(0.5);
    let h = Fit::new(300)
        .batch(5)
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap();
    assert_eq!(h.len(), 300);
    assert_eq!(h.stop, Stop::Completed);
    assert!(h.epochs.iter().enumerate().all(|(i, r)| r.epoch == i));
    assert!(h
        .epochs
        .iter()
        .all(|r| r.samples == 20 && r.val_loss.is_none()));
    // The least-squares line is y = 3x − 1 exactly.
    let mut p = [0.0; 2];
    net.copy_params_to(&mut p).unwrap();
    assert!(
        (p[0] - 3.0).abs() < 1e-3 && (p[1] + 1.0).abs() < 1e-3,
        "{p:?}"
    );
    assert!(h.last().unwrap().train_loss < 1e-6);
}

#[test]
fn xor_is_learned_with_accuracy_recorded() {
    let xs: Vec<SVector<f32, 2>> = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
        .iter()
        .map(|&p| SVector::from(p))
        .collect();
    let ys = vec![0usize, 1, 1, 0];
    let mut net = Xor::<f32>::new(&mut SplitMix64::new(7));
    let mut opt = Adam::new(0.05);
    let h = Fit::new(300)
        .batch(4)
        .validation(&xs, &ys)
        .metric(Accuracy::default())
        .quiet()
        .run(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
        .unwrap();
    let last = h.last().unwrap();
    assert_eq!(last.val_metric("accuracy"), Some(1.0));
    assert_eq!(last.train_metric("accuracy"), Some(1.0));
    assert!(last.val_loss.unwrap() < 0.05, "{last:?}");
    let eval = evaluate_classifier(&net, &SoftmaxCrossEntropy, &xs, &ys).unwrap();
    assert_eq!(eval.accuracy(), Some(1.0));
    assert!((eval.loss - last.val_loss.unwrap()).abs() < 1e-12);
}

/// Records the network's single weight after every epoch.
struct Weights(Rc<RefCell<Vec<f64>>>);

impl Callback<Scale<f64>> for Weights {
    fn on_epoch_end(&mut self, _: &EpochRecord, net: &Scale<f64>) -> Control {
        let mut w = [0.0];
        net.copy_params_to(&mut w).unwrap();
        self.0.borrow_mut().push(w[0]);
        Control::Continue
    }
}

#[test]
fn early_stopping_waits_patience_epochs_and_restores_the_best_weights() {
    // One sample x = 1, t = 1, Mse: L = (w − 1)², ∂L/∂w = 2(w − 1), w from 0. A rate of
    // 0.25 halves the error (w: 0.5, 0.75, 0.875); then a rate of −0.25 (ascent) makes it
    // 1.5 times larger every epoch (w: 0.8125, 0.71875, …), so the best epoch is 2.
    let xs = [v1(1.0)];
    let ts = [v1(1.0)];
    let mut net = Scale::<f64>::new(&mut SplitMix64::new(0));
    let mut opt = Sgd::new(0.0);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let h = Fit::new(20)
        .batch(1)
        .schedule(|e: usize| if e < 3 { 0.25 } else { -0.25 })
        .validation(&xs, &ts)
        .early_stopping(EarlyStopping::val_loss(2))
        .callback(Weights(seen.clone()))
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap();
    let seen = seen.borrow();
    assert_eq!(*seen, [0.5, 0.75, 0.875, 0.8125, 0.71875]);
    // Best at epoch 2; two epochs without improvement; stopped after epoch 4.
    assert_eq!(h.len(), 5);
    assert_eq!(h.best_epoch, Some(2));
    assert_eq!(h.stop, Stop::EarlyStopping { epoch: 4 });
    assert!(h.restored_best);
    let mut w = [0.0];
    net.copy_params_to(&mut w).unwrap();
    assert_eq!(w[0], seen[2]);
    let val: Vec<f64> = h.val_loss();
    assert_eq!(val, [0.25, 0.0625, 0.015625, 0.03515625, 0.0791015625]);
    assert_eq!(h.epochs[3].learning_rate, -0.25);

    // min_delta: an improvement smaller than it does not count. With 0.05, epoch 1's
    // 0.0625 beats 0.25, but epoch 2's 0.015625 is within 0.05 of it: best stays 1, and
    // patience 1 stops after epoch 2.
    let mut net = Scale::<f64>::new(&mut SplitMix64::new(0));
    let h = Fit::new(20)
        .batch(1)
        .schedule(|e: usize| if e < 3 { 0.25 } else { -0.25 })
        .validation(&xs, &ts)
        .early_stopping(EarlyStopping::val_loss(1).min_delta(0.05))
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap();
    assert_eq!((h.len(), h.best_epoch), (3, Some(1)));
    net.copy_params_to(&mut w).unwrap();
    assert_eq!(w[0], 0.75);
}

#[test]
fn evaluate_is_the_mean_of_the_hand_computed_losses() {
    let mut net = Affine::<f64>::new(&mut SplitMix64::new(0));
    // W = [[1, 2], [−1, 0.5]] ([out, in]), b = [0.5, −1].
    net.copy_params_from(&[1.0, 2.0, -1.0, 0.5, 0.5, -1.0])
        .unwrap();
    let xs = [
        SVector::from([1.0, 0.0]),
        SVector::from([0.0, 2.0]),
        SVector::from([-1.0, 1.0]),
    ];
    let ts = [
        SVector::from([0.0, 0.0]),
        SVector::from([4.0, 1.0]),
        SVector::from([1.0, 1.0]),
    ];
    // y = (1.5, −2), (4.5, 0), (1.5, 0.5); squared errors (2.25 + 4)/2, (0.25 + 1)/2,
    // (0.25 + 0.25)/2 = 3.125, 0.625, 0.25; mean 4/3.
    let e = evaluate(&net, &Mse, &xs, &ts).unwrap();
    assert_eq!(e.samples, 3);
    assert!((e.loss - 4.0 / 3.0).abs() < 1e-15, "{}", e.loss);
    assert!(e.metrics.is_empty());
    // Mean absolute error: (1.5 + 2 + 0.5 + 1 + 0.5 + 0.5) / 6 = 1.
    let mut mae = MeanAbsoluteError::default();
    let e = evaluate_with(&net, &Mse, &xs, &ts, &mut [&mut mae]).unwrap();
    assert!((e.metric("mae").unwrap() - 1.0).abs() < 1e-15);

    // As a classifier: logits (1.5, −2), (4.5, 0), (1.5, 0.5) against labels 0, 1, 1.
    let labels = [0usize, 1, 1];
    let ce = |z: [f64; 2], k: usize| (z[0].exp() + z[1].exp()).ln() - z[k];
    let want = (ce([1.5, -2.0], 0) + ce([4.5, 0.0], 1) + ce([1.5, 0.5], 1)) / 3.0;
    let e = evaluate_classifier(&net, &SoftmaxCrossEntropy, &xs, &labels).unwrap();
    assert!((e.loss - want).abs() < 1e-14, "{} vs {want}", e.loss);
    // Right on the first only.
    assert!((e.accuracy().unwrap() - 1.0 / 3.0).abs() < 1e-15);
    assert!(e.to_string().starts_with("loss "), "{e}");
    assert!(e.to_string().ends_with("accuracy 33.33%"), "{e}");
}

#[test]
fn mismatched_or_empty_data_is_a_typed_error() {
    let (xs, ts) = line(5);
    let mut net = Line::<f64>::new(&mut SplitMix64::new(1));
    let mut opt = Sgd::new(0.1);
    let err = Fit::new(1)
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts[..4])
        .unwrap_err();
    assert_eq!(
        err,
        FitError::LengthMismatch {
            data: "training",
            inputs: 5,
            targets: 4
        }
    );
    assert!(err.to_string().contains("5 inputs but 4 targets"), "{err}");
    let err = Fit::new(1)
        .validation(&xs[..2], &ts[..3])
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap_err();
    assert!(matches!(
        err,
        FitError::LengthMismatch {
            data: "validation",
            inputs: 2,
            targets: 3
        }
    ));
    let err = evaluate(&net, &Mse, &xs[..3], &ts).unwrap_err();
    assert!(matches!(
        err,
        FitError::LengthMismatch {
            data: "evaluation",
            inputs: 3,
            targets: 5
        }
    ));
    let err = Fit::new(1)
        .quiet()
        .run(&mut net, &mut opt, &Mse, &[], &ts[..0])
        .unwrap_err();
    assert_eq!(err, FitError::Empty { data: "training" });
    let err = Fit::new(1)
        .early_stopping(EarlyStopping::val_loss(1))
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap_err();
    assert_eq!(err, FitError::NoValidation);
    let err = Fit::new(1)
        .validation(&xs, &ts)
        .early_stopping(EarlyStopping::val_metric("accuracy", 1))
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap_err();
    assert!(matches!(err, FitError::UnknownMetric { .. }), "{err}");
    let err = Fit::new(1)
        .batch(0)
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts);
    assert_eq!(err.unwrap_err(), FitError::ZeroBatch);
}

/// A metric that logs the targets it saw, one list per reset: during an epoch the training
/// copy's list, then the validation copy's (both copies share the log).
#[derive(Clone)]
struct Seen(Rc<RefCell<Vec<Vec<f64>>>>);

impl Metric<SVector<f64, 1>, SVector<f64, 1>> for Seen {
    fn name(&self) -> &'static str {
        "seen"
    }
    fn reset(&mut self) {
        self.0.borrow_mut().push(Vec::new());
    }
    fn update(&mut self, _: &SVector<f64, 1>, t: &SVector<f64, 1>) {
        self.0.borrow_mut().last_mut().unwrap().push(t[0]);
    }
    fn value(&self) -> f64 {
        self.0.borrow().last().map_or(0, Vec::len) as f64
    }
    fn mode(&self) -> Mode {
        Mode::Max
    }
}

#[test]
fn validation_split_holds_out_a_seeded_disjoint_fraction() {
    // Targets are the sample indices, so the log says which samples went where.
    let xs: Vec<_> = (0..50).map(|i| v1(i as f64)).collect();
    let ts = xs.clone();
    let run = |fraction: f64, seed: u64, log: &Rc<RefCell<Vec<Vec<f64>>>>| {
        let mut net = Line::<f64>::new(&mut SplitMix64::new(1));
        let mut opt = Sgd::new(1e-4);
        Fit::new(2)
            .batch(8)
            .seed(seed)
            .validation_split(fraction)
            .metric(Seen(log.clone()))
            .quiet()
            .run(&mut net, &mut opt, &Mse, &xs, &ts)
    };
    let log = Rc::new(RefCell::new(Vec::new()));
    let h = run(0.2, 3, &log).unwrap();
    for r in &h.epochs {
        assert_eq!(r.samples, 40);
        assert_eq!(r.train_metric("seen"), Some(40.0));
        assert_eq!(r.val_metric("seen"), Some(10.0));
    }
    let sorted = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        v
    };
    let log = log.borrow();
    assert_eq!(log.len(), 4, "train, validation, train, validation");
    let (train, val) = (sorted(&log[0]), sorted(&log[1]));
    assert_eq!(
        sorted(&log[2]),
        train,
        "the same training samples every epoch"
    );
    assert_eq!(
        sorted(&log[3]),
        val,
        "the same validation samples every epoch"
    );
    assert_ne!(log[0], log[2], "reshuffled");
    let mut all = [train.clone(), val.clone()].concat();
    all.sort_by(f64::total_cmp);
    assert_eq!(
        all,
        (0..50).map(|i| i as f64).collect::<Vec<_>>(),
        "disjoint, complete"
    );
    assert_ne!(
        val,
        (40..50).map(|i| i as f64).collect::<Vec<_>>(),
        "drawn, not the tail"
    );

    let fresh = || Rc::new(RefCell::new(Vec::new()));
    let again = fresh();
    run(0.2, 3, &again).unwrap();
    assert_eq!(sorted(&again.borrow()[1]), val, "same seed, same split");
    let other = fresh();
    run(0.2, 4, &other).unwrap();
    assert_ne!(
        sorted(&other.borrow()[1]),
        val,
        "another seed, another split"
    );
    assert_eq!(run(0.3, 3, &fresh()).unwrap().epochs[0].samples, 35);
    for bad in [0.0, 1.0, -0.5, 0.005, 0.995, f64::NAN] {
        assert!(
            matches!(
                run(bad, 3, &fresh()),
                Err(FitError::ValidationFraction { samples: 50, .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_callback_stops_training() {
    let (xs, ts) = line(8);
    let mut net = Line::<f64>::new(&mut SplitMix64::new(1));
    let mut opt = Sgd::new(0.1);
    let mut calls = 0;
    let h = Fit::new(10)
        .quiet()
        .on_epoch(|r| {
            calls += 1;
            if r.epoch == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap();
    assert_eq!(calls, 3);
    assert_eq!(h.len(), 3);
    assert_eq!(h.stop, Stop::Callback { epoch: 2 });
}

#[test]
fn divergence_names_the_epoch_and_batch() {
    let (xs, ts) = line(8);
    let mut net = Line::<f32>::new(&mut SplitMix64::new(1));
    let mut opt = Sgd::new(1e30);
    let xs: Vec<SVector<f32, 1>> = xs.iter().map(|x| x.cast()).collect();
    let ts: Vec<SVector<f32, 1>> = ts.iter().map(|x| x.cast()).collect();
    let err = Fit::new(5)
        .batch(2)
        .quiet()
        .run(&mut net, &mut opt, &Mse, &xs, &ts)
        .unwrap_err();
    let FitError::Diverged { epoch, batch, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(epoch, 0);
    assert!(batch < 4);
    assert!(err.to_string().starts_with("epoch 1, batch "), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn batch_norm_trains_through_whole_batches() {
    let mut rng = SplitMix64::new(5);
    let xs: Vec<SVector<f32, 3>> = (0..18)
        .map(|_| SVector::from_fn(|_, _| stacknet::runtime::rng::uniform_sym(&mut rng, 1.0) as f32))
        .collect();
    let ys: Vec<usize> = xs.iter().map(|x| (x[0] > 0.0) as usize).collect();
    let mut net = Normed::<f32>::new(&mut SplitMix64::new(1));
    let mut opt = SgdMomentum::new(0.05, 0.9);
    let h = Fit::new(30)
        .validation(&xs, &ys)
        .metric(Accuracy::default())
        .quiet()
        .run_batches::<4>(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
        .unwrap();
    // 18 samples: four whole batches of 4, the last 2 dropped each epoch.
    assert!(h.epochs.iter().all(|r| r.samples == 16));
    assert!(h.last().unwrap().train_loss < h.epochs[0].train_loss);
    let err = Fit::new(1).batch(8).quiet().run_batches::<4>(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &xs,
        &ys,
    );
    assert_eq!(
        err.unwrap_err(),
        FitError::BatchMismatch {
            batch: 8,
            compiled: 4
        }
    );
    let err = Fit::new(1).quiet().run_batches::<4>(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &xs[..3],
        &ys[..3],
    );
    assert_eq!(
        err.unwrap_err(),
        FitError::TooFewSamples {
            samples: 3,
            batch: 4
        }
    );
}

#[test]
fn early_stopping_on_a_metric_follows_its_mode() {
    // Accuracy is better when larger: with a constant rate 0 nothing improves after epoch 0,
    // so patience 2 stops after epoch 2 and restores nothing (the best is epoch 0's weights,
    // which never changed).
    let xs: Vec<SVector<f32, 2>> = vec![SVector::from([1.0, 0.0]), SVector::from([0.0, 1.0])];
    let ys = vec![0usize, 1];
    let mut net = Xor::<f32>::new(&mut SplitMix64::new(2));
    let mut opt = Sgd::new(0.0);
    let h = Fit::new(10)
        .validation(&xs, &ys)
        .metric(Accuracy::default())
        .early_stopping(EarlyStopping::new(Monitor::ValMetric("accuracy"), 2))
        .quiet()
        .run(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
        .unwrap();
    assert_eq!((h.len(), h.best_epoch), (3, Some(0)));
    assert!(h.restored_best);
}

fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(root.attribute("viewBox").is_some());
    doc
}

fn texts<'a>(doc: &'a roxmltree::Document<'a>) -> Vec<&'a str> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect()
}

#[test]
fn learning_curves_and_heat_map_are_well_formed_svg() {
    let xs: Vec<SVector<f32, 2>> = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
        .iter()
        .map(|&p| SVector::from(p))
        .collect();
    let ys = vec![0usize, 1, 1, 0];
    let mut net = Xor::<f32>::new(&mut SplitMix64::new(7));
    let mut opt = Adam::new(0.05);
    let h = Fit::new(7)
        .batch(2)
        .validation(&xs, &ys)
        .metric(Accuracy::default())
        .quiet()
        .run(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
        .unwrap();
    let svg = h.to_svg();
    let doc = parse(&svg);
    let series = |name: &str| {
        doc.descendants()
            .find(|n| n.attribute("data-name") == Some(name))
            .unwrap_or_else(|| panic!("series {name} missing"))
    };
    for name in [
        "train loss",
        "validation loss",
        "train accuracy",
        "validation accuracy",
    ] {
        let g = series(name);
        let points = g.children().filter(|n| n.has_tag_name("circle")).count();
        assert_eq!(points, 7, "{name}");
        let line = g.children().find(|n| n.has_tag_name("polyline")).unwrap();
        assert_eq!(line.attribute("points").unwrap().split(' ').count(), 7);
    }
    let panels = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("panel"))
        .count();
    assert_eq!(panels, 2);
    let labels = texts(&doc);
    assert_eq!(labels.iter().filter(|t| **t == "epoch").count(), 2);
    assert!(labels.contains(&"loss") && labels.contains(&"accuracy"));
    assert!(
        labels.iter().any(|t| t.ends_with('%')),
        "accuracy ticks in percent"
    );

    let m = ConfusionMatrix::<3>::from_pairs([(0, 0), (0, 0), (1, 2), (2, 2), (2, 1), (2, 2)]);
    let svg = m.to_svg();
    let doc = parse(&svg);
    let cells: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("cell"))
        .collect();
    assert_eq!(cells.len(), 9);
    let count = |a: &str, p: &str| {
        cells
            .iter()
            .find(|c| {
                c.attribute("data-true") == Some(a) && c.attribute("data-predicted") == Some(p)
            })
            .and_then(|c| c.attribute("data-count"))
            .unwrap()
    };
    assert_eq!(
        (
            count("0", "0"),
            count("2", "2"),
            count("1", "2"),
            count("1", "1")
        ),
        ("2", "2", "1", "0")
    );
    let labels = texts(&doc);
    assert!(labels.contains(&"predicted class") && labels.contains(&"true class"));
    assert!(
        labels.iter().any(|t| t.contains("accuracy 66.67%")),
        "{labels:?}"
    );

    // Written to disk, directories created.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fit-svg");
    h.write_svg(dir.join("curves.svg")).unwrap();
    m.write_svg(dir.join("confusion.svg")).unwrap();
    parse(&std::fs::read_to_string(dir.join("curves.svg")).unwrap());
    h.write_csv(dir.join("history.csv")).unwrap();
    let csv = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert_eq!(csv.lines().count(), 8);
    assert!(csv.starts_with("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n"));
}

#[test]
fn steps_allocate_nothing() {
    // The allocations of a fit do not grow with the number of steps: 8 samples or 64, one
    // sample per step, the same count (buffers, records and metric values per epoch only).
    let data = |n: usize| {
        let xs: Vec<SVector<f32, 3>> = (0..n)
            .map(|i| SVector::from([i as f32 / n as f32, 0.5, -0.25]))
            .collect();
        let ys: Vec<usize> = (0..n).map(|i| i % 2).collect();
        (xs, ys)
    };
    let per_sample = |n: usize| {
        let (xs, ys) = data(n);
        let mut net = Xor::<f32>::new(&mut SplitMix64::new(1));
        let xs2: Vec<SVector<f32, 2>> = xs.iter().map(|x| SVector::from([x[0], x[1]])).collect();
        let mut opt = SgdMomentum::new(0.01, 0.9);
        allocations(|| {
            Fit::new(3)
                .batch(1)
                .validation_split(0.25)
                .metric(Accuracy::default())
                .quiet()
                .run(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs2, &ys)
                .unwrap();
        })
    };
    assert_eq!(per_sample(8), per_sample(64));
    let batched = |n: usize| {
        let (xs, ys) = data(n);
        let mut net = Normed::<f32>::new(&mut SplitMix64::new(1));
        let mut opt = Sgd::new(0.01);
        allocations(|| {
            Fit::new(3)
                .validation(&xs, &ys)
                .metric(Accuracy::default())
                .quiet()
                .run_batches::<2>(&mut net, &mut opt, &SoftmaxCrossEntropy, &xs, &ys)
                .unwrap();
        })
    };
    assert_eq!(batched(8), batched(64));
}

network! {
    /// A 2-6-3 classifier that can be replicated onto threads.
    #[derive(Clone)]
    pub struct Three(input: [2]) { fc1: dense(6), tanh, fc2: dense(3) }
}

#[test]
fn labels_of_any_unsigned_type_train_and_evaluate_alike() {
    // The same run on `u8`, `u16` and `usize` labels: the labels are widened on the way, so
    // every parameter ends bit for bit the same, on each training path.
    let mut rng = SplitMix64::new(11);
    let xs: Vec<SVector<f64, 2>> = (0..40)
        .map(|_| SVector::from_fn(|_, _| stacknet::runtime::rng::uniform_sym(&mut rng, 1.0)))
        .collect();
    let wide: Vec<usize> = xs
        .iter()
        .map(|x| (x[0] > 0.0) as usize + (x[1] > 0.5) as usize)
        .collect();
    let bytes: Vec<u8> = wide.iter().map(|&c| c as u8).collect();
    let shorts: Vec<u16> = wide.iter().map(|&c| c as u16).collect();
    let params = |net: &Three<f64>| {
        let mut p = vec![0.0; Three::<f64>::PARAMS];
        net.copy_params_to(&mut p).unwrap();
        p
    };
    fn fit<Y: Label>() -> Fit<'static, Three<f64>, Y> {
        Fit::new(3)
            .batch(8)
            .validation_split(0.25)
            .metric(Accuracy::default())
            .quiet()
    }
    type Train<'a> = &'a dyn Fn(&mut Three<f64>, &mut Adam<Three<f64>>) -> History;
    let run = |ys: Train<'_>| {
        let mut net = Three::<f64>::new(&mut SplitMix64::new(2));
        let mut opt = Adam::new(0.05);
        let h = ys(&mut net, &mut opt);
        (params(&net), h.last().unwrap().val_metric("accuracy"))
    };
    let ce = &SoftmaxCrossEntropy;
    let per_sample = [
        run(&|n, o| fit().run(n, o, ce, &xs, &wide).unwrap()),
        run(&|n, o| fit().run(n, o, ce, &xs, &bytes).unwrap()),
        run(&|n, o| fit().run(n, o, ce, &xs, &shorts).unwrap()),
    ];
    let threads = [
        run(&|n, o| fit().run_threads(2, n, o, ce, &xs, &wide).unwrap()),
        run(&|n, o| fit().run_threads(2, n, o, ce, &xs, &bytes).unwrap()),
    ];
    let batches = [
        run(&|n, o| fit().run_batches::<8>(n, o, ce, &xs, &wide).unwrap()),
        run(&|n, o| fit().run_batches::<8>(n, o, ce, &xs, &bytes).unwrap()),
    ];
    for runs in [&per_sample[..], &threads, &batches] {
        assert!(runs.iter().all(|r| r == &runs[0]), "{runs:?}");
    }
    // The paths differ from one another (the threaded sum rounds differently), so the checks
    // above compare like with like; training did move the parameters.
    let start = params(&Three::<f64>::new(&mut SplitMix64::new(2)));
    assert_ne!(per_sample[0].0, start);

    let net = Three::<f64>::new(&mut SplitMix64::new(2));
    let on_bytes = evaluate_classifier(&net, ce, &xs, &bytes).unwrap();
    assert_eq!(on_bytes, evaluate_classifier(&net, ce, &xs, &wide).unwrap());
    let mut acc = Accuracy::default();
    let with = evaluate_with(&net, ce, &xs, &shorts, &mut [&mut acc]).unwrap();
    assert_eq!(with.loss, evaluate(&net, ce, &xs, &wide).unwrap().loss);
    assert_eq!(with.accuracy(), on_bytes.accuracy());
}
