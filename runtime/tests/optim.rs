//! Optimisers, schedules, regularisation and dropout on hand-expanded networks: every
//! optimiser against its update formula written out here, element by element in `f64`;
//! training to a stated loss; and a counting allocator proving that steps never allocate.

mod common;

use common::TinyGrad;
use common::{flat, regression_data, Tiny, TinyDrop};
use stacknet_runtime::gradcheck::{
    check_network, check_network_tensors, relative_error, TensorCheck, EPS,
};
use stacknet_runtime::loss::{Mse, SoftmaxCrossEntropy};
use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::optim::{
    Adadelta, Adagrad, Adam, AdamW, EpsPlacement, Optimizer, RmsProp, Sgd, SgdMomentum,
};
use stacknet_runtime::regularize::{clip_grad_norm, clip_grad_value, Regularizer, L1, L2};
use stacknet_runtime::rng::SplitMix64;
use stacknet_runtime::schedule::{Cosine, Schedule, StepDecay};
use stacknet_runtime::train::{clear, scale, Trainer};
use stacknet_runtime::{Network, Params, TensorKind, Zeros};

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// ---------------------------------------------------------------------------------------------
// A counting allocator. Counts are per thread, so tests running in parallel do not disturb
// each other's counts.

struct Counting;

thread_local! {
    // `const` initialisation: no lazy registration, so reading it cannot itself allocate.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the slot may be gone; those allocations are not ours.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; counting touches only a
// thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

// ---------------------------------------------------------------------------------------------
// Update formulas, checked step by step.

type Net = Tiny<f64>;

/// Runs 10 full-batch steps of `opt` on the regression problem; after each, applies
/// `reference(params, grad, t)` (t from 1) to an independent copy of the parameters, fed the
/// same mean gradient, and requires every parameter to agree within 1e-12.
fn against_formula<O: Optimizer<Net>>(
    mut opt: O,
    mut reference: impl FnMut(&mut [f64], &[f64], usize),
) {
    let mut net = Net::new(&mut SplitMix64::new(42));
    let (xs, ts) = regression_data();
    let mut trainer = Trainer::<Net>::new();
    let mut want = flat(&net);
    let mut moved = 0.0f64;
    for t in 1..=10 {
        trainer
            .step(&mut net, &mut opt, &Mse, xs.iter().zip(&ts))
            .unwrap();
        // `Trainer::step` leaves the mean gradient it stepped with in `trainer.grad`.
        let g = flat(&trainer.grad);
        let before = want.clone();
        reference(&mut want, &g, t);
        moved = moved.max(
            want.iter()
                .zip(&before)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max),
        );
        for (k, (got, want)) in flat(&net).iter().zip(&want).enumerate() {
            let err = (got - want).abs() / want.abs().max(1.0);
            assert!(
                err <= 1e-12,
                "step {t}, parameter {k}: {got} vs formula {want} ({err:e})"
            );
        }
    }
    // A formula that barely moves the parameters would make the comparison vacuous.
    assert!(moved > 1e-4, "steps too small to test anything: {moved}");
}

/// Per-parameter state for the reference formulas.
fn zeros() -> Vec<f64> {
    vec![0.0; Net::PARAMS]
}

#[test]
fn sgd_matches_formula() {
    against_formula(Sgd::new(0.3), |w, g, _| {
        for k in 0..w.len() {
            w[k] -= 0.3 * g[k];
        }
    });
    // Weight decay on every tensor: w ← w − α (g + λ w).
    against_formula(Sgd::new(0.3).weight_decay(0.05), |w, g, _| {
        for k in 0..w.len() {
            w[k] -= 0.3 * (g[k] + 0.05 * w[k]);
        }
    });
}

#[test]
fn momentum_accumulate_convention() {
    // v ← γ v + η g, w ← w − v: `SgdMomentum::new(η, γ)`.
    let (eta, gamma) = (0.2, 0.9);
    let mut v = zeros();
    against_formula(SgdMomentum::new(eta, gamma), move |w, g, _| {
        for k in 0..w.len() {
            v[k] = gamma * v[k] + eta * g[k];
            w[k] -= v[k];
        }
    });
}

#[test]
fn momentum_exponential_average_convention() {
    // v ← β v + (1 − β) g from v = 0, w ← w − α v.
    let (alpha, beta) = (0.5, 0.8);
    let mut v = zeros();
    against_formula(
        SgdMomentum::exponential_average(alpha, beta),
        move |w, g, _| {
            for k in 0..w.len() {
                v[k] = beta * v[k] + (1.0 - beta) * g[k];
                w[k] -= alpha * v[k];
            }
        },
    );
}

#[test]
fn momentum_pytorch_dampening_starts_at_first_gradient() {
    // PyTorch: b ← g on the first step, then b ← μ b + (1 − τ) g; w ← w − α b.
    let (lr, mu, tau) = (0.4, 0.7, 0.3);
    let mut b = zeros();
    against_formula(SgdMomentum::new(lr, mu).dampening(tau), move |w, g, t| {
        for k in 0..w.len() {
            b[k] = if t == 1 {
                g[k]
            } else {
                mu * b[k] + (1.0 - tau) * g[k]
            };
            w[k] -= lr * b[k];
        }
    });
}

#[test]
fn nesterov_with_weight_decay() {
    // g′ = g + λ w; b ← μ b + g′ (b = g′ first); w ← w − α (g′ + μ b).
    let (lr, mu, wd) = (0.1, 0.9, 0.01);
    let mut b = zeros();
    let opt = Sgd::new(lr).weight_decay(wd).momentum(mu).nesterov();
    against_formula(opt, move |w, g, t| {
        for k in 0..w.len() {
            let gd = g[k] + wd * w[k];
            b[k] = if t == 1 { gd } else { mu * b[k] + gd };
            w[k] -= lr * (gd + mu * b[k]);
        }
    });
}

#[test]
fn adagrad_pytorch_form() {
    // s ← s + g², w ← w − η g / (√s + 1e-10).
    let mut s = zeros();
    against_formula(Adagrad::new(0.1), move |w, g, _| {
        for k in 0..w.len() {
            s[k] += g[k] * g[k];
            w[k] -= 0.1 * g[k] / (s[k].sqrt() + 1e-10);
        }
    });
}

#[test]
fn adagrad_eps_inside_with_options() {
    // s₀ = 0.1, g′ = g + λ w, η_t = η / (1 + (t − 1) k), s ← s + g′², w ← w − η_t g′/√(s + ε).
    let (eta, k_decay, wd, eps) = (0.2, 0.1, 0.02, 1e-3);
    let mut s = vec![0.1; Net::PARAMS];
    let opt = Adagrad::new(eta)
        .lr_decay(k_decay)
        .weight_decay(wd)
        .eps(eps)
        .eps_placement(EpsPlacement::Inside)
        .initial_accumulator(0.1);
    against_formula(opt, move |w, g, t| {
        let lr = eta / (1.0 + (t - 1) as f64 * k_decay);
        for k in 0..w.len() {
            let gd = g[k] + wd * w[k];
            s[k] += gd * gd;
            w[k] -= lr * gd / (s[k] + eps).sqrt();
        }
    });
}

#[test]
fn rmsprop_pytorch_form() {
    // s ← 0.99 s + 0.01 g², w ← w − α g / (√s + 1e-8).
    let mut s = zeros();
    against_formula(RmsProp::new(0.01), move |w, g, _| {
        for k in 0..w.len() {
            s[k] = 0.99 * s[k] + 0.01 * g[k] * g[k];
            w[k] -= 0.01 * g[k] / (s[k].sqrt() + 1e-8);
        }
    });
}

#[test]
fn rmsprop_eps_inside_with_weight_decay() {
    let (lr, gamma, eps, wd) = (0.02, 0.9, 1e-4, 0.1);
    let mut s = zeros();
    let opt = RmsProp::new(lr)
        .alpha(gamma)
        .eps(eps)
        .eps_placement(EpsPlacement::Inside);
    against_formula(opt.weight_decay(wd), move |w, g, _| {
        for k in 0..w.len() {
            let gd = g[k] + wd * w[k];
            s[k] = gamma * s[k] + (1.0 - gamma) * gd * gd;
            w[k] -= lr * gd / (s[k] + eps).sqrt();
        }
    });
}

/// AdaDelta: s ← ρs + (1 − ρ)g², g′ = √((Δx + ε)/(s + ε)) g, Δx ← ρΔx + (1 − ρ)g′², w ← w − α g′.
fn adadelta_reference(
    lr: f64,
    rho: f64,
    eps: f64,
    wd: f64,
) -> impl FnMut(&mut [f64], &[f64], usize) {
    let (mut s, mut dx) = (zeros(), zeros());
    move |w, g, _| {
        for k in 0..w.len() {
            let gd = g[k] + wd * w[k];
            s[k] = rho * s[k] + (1.0 - rho) * gd * gd;
            let step = ((dx[k] + eps) / (s[k] + eps)).sqrt() * gd;
            dx[k] = rho * dx[k] + (1.0 - rho) * step * step;
            w[k] -= lr * step;
        }
    }
}

#[test]
fn adadelta_matches_formula() {
    // PyTorch's defaults: α = 1, ρ = 0.9, ε = 1e-6. Its first steps are about √ε = 1e-3,
    // so a larger ε makes the comparison bite harder.
    against_formula(
        Adadelta::default().eps(1e-4),
        adadelta_reference(1.0, 0.9, 1e-4, 0.0),
    );
    let opt = Adadelta::new(0.5).rho(0.8).eps(1e-3).weight_decay(0.05);
    against_formula(opt, adadelta_reference(0.5, 0.8, 1e-3, 0.05));
}

/// Adam as in Kingma and Ba, with PyTorch's ε after bias correction:
/// m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), w ← w − α m̂/(√v̂ + ε). `decoupled` applies AdamW's
/// w ← w − αλw first; otherwise λw is added to the gradient.
fn adam_reference(
    lr: impl Fn(usize) -> f64,
    (b1, b2): (f64, f64),
    eps: f64,
    wd: f64,
    decoupled: bool,
) -> impl FnMut(&mut [f64], &[f64], usize) {
    let (mut m, mut v) = (zeros(), zeros());
    move |w, g, t| {
        let lr = lr(t);
        for k in 0..w.len() {
            let gd = if decoupled {
                w[k] -= lr * wd * w[k];
                g[k]
            } else {
                g[k] + wd * w[k]
            };
            m[k] = b1 * m[k] + (1.0 - b1) * gd;
            v[k] = b2 * v[k] + (1.0 - b2) * gd * gd;
            let m_hat = m[k] / (1.0 - b1.powi(t as i32));
            let v_hat = v[k] / (1.0 - b2.powi(t as i32));
            w[k] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
}

#[test]
fn adam_matches_formula() {
    against_formula(
        Adam::new(0.01),
        adam_reference(|_| 0.01, (0.9, 0.999), 1e-8, 0.0, false),
    );
    // A large ε shows where it sits; coupled weight decay.
    let opt = Adam::new(0.05).betas(0.8, 0.99).eps(1e-3).weight_decay(0.1);
    against_formula(opt, adam_reference(|_| 0.05, (0.8, 0.99), 1e-3, 0.1, false));
}

#[test]
fn adamw_matches_formula() {
    // PyTorch's default decoupled decay 0.01, then a larger one.
    against_formula(
        AdamW::new(0.01),
        adam_reference(|_| 0.01, (0.9, 0.999), 1e-8, 0.01, true),
    );
    let opt = AdamW::new(0.05).weight_decay(0.5).eps(1e-3);
    against_formula(opt, adam_reference(|_| 0.05, (0.9, 0.999), 1e-3, 0.5, true));
}

#[test]
fn set_learning_rate_takes_effect_on_the_next_step() {
    /// Adam whose rate is halved before its 6th step, through the trait.
    struct Halving(Adam<Net>, usize);
    impl Optimizer<Net> for Halving {
        fn step(&mut self, net: &mut Net, grad: &<Net as Network<f64>>::Grad) {
            self.1 += 1;
            if self.1 == 6 {
                let lr = self.0.learning_rate();
                self.0.set_learning_rate(lr / 2.0);
            }
            self.0.step(net, grad);
        }
        fn learning_rate(&self) -> f64 {
            self.0.learning_rate()
        }
        fn set_learning_rate(&mut self, lr: f64) {
            self.0.set_learning_rate(lr);
        }
    }
    let lr = |t: usize| if t <= 5 { 0.02 } else { 0.01 };
    against_formula(
        Halving(Adam::new(0.02), 0),
        adam_reference(lr, (0.9, 0.999), 1e-8, 0.0, false),
    );
}

// ---------------------------------------------------------------------------------------------
// Training to a stated loss.

/// The loss of the first and the last of `steps` full-batch steps from a fixed start.
fn train<O: Optimizer<Net>>(mut opt: O, steps: usize) -> (f64, f64) {
    let mut net = Net::new(&mut SplitMix64::new(3));
    let (xs, ts) = regression_data();
    let mut trainer = Trainer::<Net>::new();
    let first = trainer
        .step(&mut net, &mut opt, &Mse, xs.iter().zip(&ts))
        .unwrap();
    let mut last = first;
    for _ in 1..steps {
        last = trainer
            .step(&mut net, &mut opt, &Mse, xs.iter().zip(&ts))
            .unwrap();
    }
    (first, last)
}

#[test]
fn every_optimiser_trains_the_regression_below_1e_3() {
    // The mean squared error starts above 0.05; each optimiser must bring it below 1e-3
    // within its budget of full-batch steps.
    let cases = [
        ("sgd", train(Sgd::new(0.5), 400)),
        ("momentum", train(SgdMomentum::new(0.1, 0.9), 300)),
        (
            "ema momentum",
            train(SgdMomentum::exponential_average(0.5, 0.9), 400),
        ),
        (
            "nesterov",
            train(SgdMomentum::new(0.1, 0.9).nesterov(), 300),
        ),
        ("adagrad", train(Adagrad::new(0.1), 400)),
        ("rmsprop", train(RmsProp::new(0.005), 400)),
        ("adadelta", train(Adadelta::default(), 400)),
        ("adam", train(Adam::new(0.02), 300)),
        ("adamw", train(AdamW::new(0.02), 300)),
    ];
    for (name, (first, last)) in cases {
        assert!(first > 0.05, "{name}: the problem starts too easy: {first}");
        assert!(
            last < 1e-3,
            "{name}: loss {first} → {last}, expected below 1e-3"
        );
    }
}

#[test]
fn schedules_drive_the_learning_rate() {
    // Step decay on SGD: α = 0.5·0.5^⌊epoch/10⌋; cosine on Adam: 0.02·(1 + cos(π e/30))/2.
    let (xs, ts) = regression_data();
    let (step, cosine) = (StepDecay::new(0.5, 10, 0.5), Cosine::new(0.02, 30));
    let mut trainer = Trainer::<Net>::new();
    let (mut a, mut b) = (
        Net::new(&mut SplitMix64::new(3)),
        Net::new(&mut SplitMix64::new(3)),
    );
    let mut sgd = Sgd::new(1.0);
    let mut adam = Adam::<Net>::new(1.0);
    let (mut first_a, mut first_b, mut last_a, mut last_b) = (0.0, 0.0, 0.0, 0.0);
    for epoch in 0..30 {
        sgd.set_learning_rate(step.lr(epoch));
        adam.set_learning_rate(cosine.lr(epoch));
        assert_eq!(sgd.learning_rate(), 0.5 * 0.5f64.powi(epoch as i32 / 10));
        let want = 0.01 * (1.0 + (std::f64::consts::PI * epoch as f64 / 30.0).cos());
        assert!((adam.learning_rate() - want).abs() < 1e-15);
        for _ in 0..10 {
            last_a = trainer
                .step(&mut a, &mut sgd, &Mse, xs.iter().zip(&ts))
                .unwrap();
            last_b = trainer
                .step(&mut b, &mut adam, &Mse, xs.iter().zip(&ts))
                .unwrap();
            if epoch == 0 && first_a == 0.0 {
                (first_a, first_b) = (last_a, last_b);
            }
        }
    }
    assert!(
        last_a < first_a / 50.0,
        "sgd + step decay: {first_a} → {last_a}"
    );
    assert!(
        last_b < first_b / 50.0,
        "adam + cosine: {first_b} → {last_b}"
    );
}

// ---------------------------------------------------------------------------------------------
// Regularisation and clipping on a whole network.

/// `reg` on a network: the value against `formula` over (value, is_weight) pairs, the gradient
/// against central differences of the penalty, added to what the buffer held, and tensors the
/// penalty skips left alone.
fn check_penalty(
    reg: &impl Regularizer<f64>,
    biases: bool,
    formula: impl Fn(&[(f64, bool)]) -> f64,
) {
    let net = Net::new(&mut SplitMix64::new(8));
    let mut grad = TinyGrad::zeros();
    for i in 0..Net::TENSORS {
        grad.tensor_mut(i).fill(1.0);
    }
    let value: f64 = reg.add_grad(&net, &mut grad);
    let pairs: Vec<(f64, bool)> = (0..Net::TENSORS)
        .flat_map(|i| {
            let weight = Net::tensor_info(i).kind == TensorKind::Weight;
            net.tensor(i)
                .iter()
                .map(move |&w| (w, weight))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        (value - formula(&pairs)).abs() < 1e-14,
        "{value} vs {}",
        formula(&pairs)
    );
    assert_eq!(reg.penalty(&net), value);
    for i in 0..Net::TENSORS {
        let info = Net::tensor_info(i);
        let skipped = info.kind == TensorKind::Bias && !biases;
        for k in 0..net.tensor(i).len() {
            let added = grad.tensor(i)[k] - 1.0;
            if skipped {
                assert_eq!(added, 0.0, "{info}[{k}] must not be penalised");
                continue;
            }
            let (mut hi, mut lo) = (net.clone(), net.clone());
            hi.tensor_mut(i)[k] += EPS;
            lo.tensor_mut(i)[k] -= EPS;
            let numeric = (reg.penalty(&hi) - reg.penalty(&lo)) / (2.0 * EPS);
            assert!(
                relative_error(added, numeric) < 1e-7,
                "{info}[{k}]: {added} vs {numeric}"
            );
        }
    }
}

#[test]
fn penalties_on_a_network() {
    // λ/2·Σw² and λ·Σ|w| over weights (and biases when asked).
    let l2 = |biases: bool| {
        move |p: &[(f64, bool)]| {
            0.15 * p
                .iter()
                .filter(|q| q.1 || biases)
                .map(|q| q.0 * q.0)
                .sum::<f64>()
        }
    };
    let l1 = |biases: bool| {
        move |p: &[(f64, bool)]| {
            0.3 * p
                .iter()
                .filter(|q| q.1 || biases)
                .map(|q| q.0.abs())
                .sum::<f64>()
        }
    };
    check_penalty(&L2::new(0.3), false, l2(false));
    check_penalty(&L2::new(0.3).with_biases(), true, l2(true));
    check_penalty(&L1::new(0.3), false, l1(false));
    check_penalty(&L1::new(0.3).with_biases(), true, l1(true));
}

#[test]
fn l2_on_every_tensor_is_sgd_weight_decay() {
    // The documented equivalence: Sgd(weight_decay = λ) == L2(λ) with biases, then Sgd.
    let (xs, ts) = regression_data();
    let mut a = Net::new(&mut SplitMix64::new(5));
    let mut b = a.clone();
    let mut decayed = Sgd::new(0.3).weight_decay(0.1);
    let mut plain = Sgd::new(0.3);
    let (mut ta, mut tb) = (Trainer::<Net>::new(), Trainer::<Net>::new());
    for _ in 0..10 {
        ta.step(&mut a, &mut decayed, &Mse, xs.iter().zip(&ts))
            .unwrap();
        clear(&mut tb.grad);
        for (x, t) in xs.iter().zip(&ts) {
            tb.accumulate(&mut b, &Mse, x, t);
        }
        scale(&mut tb.grad, 1.0 / 16.0);
        L2::new(0.1).with_biases().add_grad(&b, &mut tb.grad);
        Optimizer::<Net>::step(&mut plain, &mut b, &tb.grad);
    }
    for (x, y) in flat(&a).iter().zip(flat(&b)) {
        assert!((x - y).abs() < 1e-12);
    }
}

#[test]
fn clipping_a_network_gradient() {
    let (xs, ts) = regression_data();
    let mut net = Net::new(&mut SplitMix64::new(5));
    let mut trainer = Trainer::<Net>::new();
    for (x, t) in xs.iter().zip(&ts) {
        trainer.accumulate(&mut net, &Mse, x, t);
    }
    let g = flat(&trainer.grad);
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(norm > 0.1);
    let returned: f64 = clip_grad_norm(&mut trainer.grad, 0.1);
    assert!((returned - norm).abs() < 1e-13 * norm);
    for (got, before) in flat(&trainer.grad).iter().zip(&g) {
        assert!((got - before * 0.1 / norm).abs() < 1e-15);
    }
    // Already within the bound: unchanged.
    let clipped = flat(&trainer.grad);
    clip_grad_norm::<f64, _>(&mut trainer.grad, 1.0);
    assert_eq!(flat(&trainer.grad), clipped);

    let c = g.iter().map(|v| v.abs()).fold(0.0, f64::max) / 3.0;
    for i in 0..Net::TENSORS {
        trainer.grad.tensor_mut(i).fill(0.0);
    }
    for (x, t) in xs.iter().zip(&ts) {
        trainer.accumulate(&mut net, &Mse, x, t);
    }
    clip_grad_value(&mut trainer.grad, c);
    for (got, before) in flat(&trainer.grad).iter().zip(&g) {
        assert_eq!(*got, before.clamp(-c, c));
    }
}

// ---------------------------------------------------------------------------------------------
// Dropout inside a network.

#[test]
fn dropout_network_gradients_match_finite_differences() {
    // `check_network` clones the network for every probe, so the dropout layer draws the
    // same mask in each forward: the check sees one fixed mask.
    let net = TinyDrop::<f64>::new(&mut SplitMix64::new(4));
    let x = SVector::from([0.3, -0.8, 0.5]);
    let check = check_network(&net, &x, &1, &SoftmaxCrossEntropy, 100, |info, err| {
        assert!(err < 1e-6, "{info}: {err}");
    });
    assert!(check.passes(1e-6), "{check:?}");
}

#[test]
fn dropout_network_trains_and_infers_deterministically() {
    let (xs, ts) = regression_data();
    let mut net = TinyDrop::<f64>::new(&mut SplitMix64::new(6));
    let mut trainer = Trainer::<TinyDrop<f64>>::new();
    let mut opt = Adam::new(0.01);
    let mse = |net: &TinyDrop<f64>| {
        xs.iter()
            .zip(&ts)
            .map(|(x, t)| (net.forward(x) - t).norm_squared() / 2.0)
            .sum::<f64>()
            / 16.0
    };
    let before = mse(&net);
    for _ in 0..600 {
        trainer
            .step(&mut net, &mut opt, &Mse, xs.iter().zip(&ts))
            .unwrap();
    }
    // Inference (no dropout) fits well even though every training step dropped units.
    let after = mse(&net);
    assert!(after < 2e-3 && after < before / 20.0, "{before} → {after}");
    assert_eq!(net.forward(&xs[3]), net.forward(&xs[3]));
}

// ---------------------------------------------------------------------------------------------
// No heap in any step.

/// Allocations of 3 trainer steps (forward, backward, update) with an optimiser built beforehand.
fn step_allocations<O: Optimizer<Net>>(mut opt: O) -> usize {
    let (xs, ts) = regression_data();
    let mut net = Net::new(&mut SplitMix64::new(1));
    let mut trainer = Trainer::<Net>::new();
    allocations(|| {
        for _ in 0..3 {
            trainer
                .step(&mut net, &mut opt, &Mse, xs.iter().zip(&ts))
                .unwrap();
        }
    })
}

#[test]
fn no_heap_allocation_in_any_step() {
    // The counter works: a Vec allocates.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))) > 0);

    assert_eq!(step_allocations(Sgd::new(0.1)), 0, "sgd");
    assert_eq!(
        step_allocations(Sgd::new(0.1).weight_decay(0.01)),
        0,
        "sgd + decay"
    );
    assert_eq!(step_allocations(SgdMomentum::new(0.1, 0.9)), 0, "momentum");
    assert_eq!(
        step_allocations(SgdMomentum::new(0.1, 0.9).nesterov()),
        0,
        "nesterov"
    );
    assert_eq!(
        step_allocations(SgdMomentum::exponential_average(0.1, 0.9)),
        0,
        "ema"
    );
    assert_eq!(step_allocations(Adagrad::new(0.1)), 0, "adagrad");
    assert_eq!(step_allocations(RmsProp::new(0.01)), 0, "rmsprop");
    assert_eq!(step_allocations(Adadelta::default()), 0, "adadelta");
    assert_eq!(step_allocations(Adam::new(0.01)), 0, "adam");
    assert_eq!(step_allocations(AdamW::new(0.01)), 0, "adamw");

    // Regularisation, clipping, schedules and dropout's training forward.
    let (xs, ts) = regression_data();
    let mut net = TinyDrop::<f64>::new(&mut SplitMix64::new(2));
    let mut trainer = Trainer::<TinyDrop<f64>>::new();
    let mut opt = Adam::new(0.01);
    let schedule = Cosine::new(0.01, 10);
    let n = allocations(|| {
        for epoch in 0..3 {
            opt.set_learning_rate(schedule.lr(epoch));
            clear(&mut trainer.grad);
            for (x, t) in xs.iter().zip(&ts) {
                trainer.accumulate(&mut net, &Mse, x, t);
            }
            scale(&mut trainer.grad, 1.0 / 16.0);
            L2::new(1e-3).add_grad(&net, &mut trainer.grad);
            L1::new(1e-4).add_grad(&net, &mut trainer.grad);
            clip_grad_norm::<f64, _>(&mut trainer.grad, 1.0);
            clip_grad_value(&mut trainer.grad, 0.5);
            opt.step(&mut net, &trainer.grad);
        }
    });
    assert_eq!(n, 0, "regularised step with dropout");
}

// ---------------------------------------------------------------------------------------------
// The gradient checker's per-tensor report.

/// `Tiny` with a bug planted in backward: `out.bias` gets twice its gradient.
#[derive(Clone)]
struct Broken(Net);

impl Params<f64> for Broken {
    const TENSORS: usize = <Net as Params<f64>>::TENSORS;
    const LEN: usize = <Net as Params<f64>>::LEN;
    fn tensor(&self, i: usize) -> &[f64] {
        self.0.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f64] {
        self.0.tensor_mut(i)
    }
    fn tensor_info(i: usize) -> stacknet_runtime::TensorInfo {
        Net::tensor_info(i)
    }
}

impl stacknet_runtime::Model for Broken {
    type Scalar = f64;
}

impl Network<f64> for Broken {
    type Input = <Net as Network<f64>>::Input;
    type Output = <Net as Network<f64>>::Output;
    type Grad = <Net as Network<f64>>::Grad;
    type Record = <Net as Network<f64>>::Record;
    const INPUT_SHAPE: stacknet_runtime::Shape = Net::INPUT_SHAPE;
    const OUTPUT_SHAPE: stacknet_runtime::Shape = Net::OUTPUT_SHAPE;
    const LAYERS: &'static [stacknet_runtime::LayerRow] = Net::LAYERS;
    fn forward(&self, x: &Self::Input) -> Self::Output {
        self.0.forward(x)
    }
    fn forward_train(&mut self, x: &Self::Input, rec: &mut Self::Record) {
        self.0.forward_train(x, rec);
    }
    fn output(rec: &Self::Record) -> &Self::Output {
        Net::output(rec)
    }
    fn backward(
        &self,
        rec: &Self::Record,
        dy: &Self::Output,
        grad: &mut Self::Grad,
        dx: Option<&mut Self::Input>,
    ) {
        self.0.backward(rec, dy, grad, dx);
        grad.out.bias += dy;
    }
}

#[test]
fn checker_reports_the_worst_entry_of_each_tensor() {
    let net = Broken(Net::new(&mut SplitMix64::new(1)));
    let x = SVector::from([0.3, -0.8, 0.5]);
    let mut reports = Vec::new();
    let check = check_network_tensors(&net, &x, &1, &SoftmaxCrossEntropy, 100, |t| {
        reports.push(*t);
    });
    let names: Vec<String> = reports.iter().map(|t| t.info.to_string()).collect();
    assert_eq!(
        names,
        ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    );
    assert_eq!(
        reports.iter().map(|t| t.checked).collect::<Vec<_>>(),
        [12, 4, 8, 2]
    );
    for t in &reports[..3] {
        assert!(t.passes(1e-6), "{t}");
    }
    // Backward doubles out.bias's gradient: analytic = 2·numeric, an error of exactly 1/2.
    let bad = reports[3];
    assert!(!bad.passes(1e-6));
    assert!((bad.worst - 0.5).abs() < 1e-6, "{bad}");
    assert!((bad.analytic - 2.0 * bad.numeric).abs() < 1e-8, "{bad}");
    assert!(!check.passes(1e-6));
    assert_eq!(
        check.worst_at.map(|(info, _)| info.to_string()),
        Some("out.bias".into())
    );
    // The plain API reports the same per-tensor worst errors.
    let mut worst = Vec::new();
    check_network(&net, &x, &1, &SoftmaxCrossEntropy, 100, |_, err| {
        worst.push(err)
    });
    assert_eq!(worst, reports.iter().map(|t| t.worst).collect::<Vec<_>>());
}

#[test]
fn tensor_check_prints_a_pytorch_index() {
    let t = TensorCheck {
        info: Net::tensor_info(0),
        worst: 2.5e-3,
        index: 5,
        analytic: 0.25,
        numeric: 0.5,
        checked: 12,
    };
    // hidden.weight is [4, 3]: flat index 5 is row 1, column 2.
    assert_eq!(
        t.to_string(),
        "hidden.weight [4, 3]: worst error 2.5e-3 at [1, 2] (backward 0.25, finite differences \
         0.5), 12 entries checked"
    );
}
