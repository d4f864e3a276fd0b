//! A character-level language model on real English text
//! (`cargo run --release --example char_rnn`): the bundled State of the Union addresses of
//! 1790–1821 (526 KB, public domain, `data/sotu`), the first 90 % to train and the rest held
//! out.
//!
//! Characters are embedded, read by an LSTM over 64 steps and each step's hidden state is
//! mapped to the next character's logits; the loss is the cross-entropy of every step (mean
//! over steps), and perplexity is its exponential. Each epoch reports train and held-out
//! perplexity beside a bigram baseline fitted on the same training text, and the end
//! generates text from a prompt with a one-step copy of the model (same weights: nothing in
//! them depends on the number of steps).
//!
//! Minibatches come by random sampling (chunks at random offsets, each from a zero state) or
//! adjacent sampling (`--sampling adjacent`: the text cut into one stream per batch slot, read
//! in order, each chunk starting from the state the previous one ended in, detached:
//! truncated backpropagation through time). Gradients are clipped to norm 1.

use stacknet::data::text::{decode, encode, ALPHABET};
use stacknet::data::{Args, Bigram, Command, Corpus, Progress};
use stacknet::prelude::*;
use stacknet::runtime::regularize::clip_grad_norm;
use stacknet::runtime::rng::{below, uniform01};
use stacknet::runtime::train::{clear, scale};
use std::time::Instant;

/// Steps per training chunk.
const STEPS: usize = 64;

network! {
    /// The language model over chunks of 64 characters.
    pub struct CharLstm(tokens: [64]) {
        embed: embedding(96, 32),
        lstm: lstm(128, sequences = true),
        head: dense(96),
    }
}

network! {
    /// The same model one character at a time, for generation.
    pub struct CharLstmStep(tokens: [1]) {
        embed: embedding(96, 32),
        lstm: lstm(128, sequences = true),
        head: dense(96),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sampling {
    Random,
    Adjacent,
}

fn main() {
    let defaults = Args {
        epochs: 4,
        batch: 32,
        lr: 0.003,
        seed: 1,
        ..Args::default()
    };
    let (args, sampling) = parse_args(defaults);
    let path = args.data.clone().unwrap_or_else(Corpus::bundled_path);
    let corpus = Corpus::load(&path).unwrap_or_else(|e| fail(e));
    let (mut train, held_out) = corpus.split(0.9);
    if let Some(n) = args.limit {
        train.ids.truncate(n);
    }
    assert_eq!(ALPHABET, 96, "the networks are declared for 96 symbols");

    print!("{}", CharLstm::<f32>::summary());
    println!(
        "{} characters from {}: {} to train, {} held out; {} sampling",
        corpus.len(),
        path.display(),
        train.len(),
        held_out.len(),
        if sampling == Sampling::Adjacent {
            "adjacent"
        } else {
            "random"
        }
    );
    let bigram = Bigram::fit(&train);
    let baseline = bigram.perplexity(&held_out);
    println!("bigram baseline: held-out perplexity {baseline:.2}");

    let mut rng = SplitMix64::new(args.seed);
    let mut net = Box::new(CharLstm::<f32>::new(&mut rng));
    let mut opt = Box::new(Adam::<CharLstm>::new(args.lr));
    let mut work = Box::new(Work::new(args.batch));
    let chunks = train.len().saturating_sub(1) / STEPS;
    let batches = chunks / args.batch;
    if batches == 0 {
        fail(format!(
            "the training text is too short for one batch of {} chunks of {STEPS}",
            args.batch
        ));
    }
    let mut progress = Progress::new(args.epochs, batches * args.batch);
    let started = Instant::now();
    let mut held = f64::NAN;
    for epoch in 0..args.epochs {
        progress.start_epoch(epoch);
        work.reset_states();
        let (mut sum, mut n) = (0.0f64, 0usize);
        for b in 0..batches {
            let starts: Vec<usize> = match sampling {
                // Slot k reads stream k (the text cut in `batch` parts) chunk by chunk.
                Sampling::Adjacent => (0..args.batch)
                    .map(|k| k * (batches * STEPS) + b * STEPS)
                    .collect(),
                Sampling::Random => (0..args.batch)
                    .map(|_| below(&mut rng, train.len() - STEPS))
                    .collect(),
            };
            let loss = work.step(&mut net, &mut opt, &train.ids, &starts, sampling);
            if !loss.is_finite() {
                fail(format!(
                    "the loss became {loss} at epoch {epoch}; try a smaller --lr"
                ));
            }
            sum += loss as f64;
            n += 1;
            progress.update(args.batch, loss as f64);
        }
        held = perplexity(&net, &held_out);
        progress.finish_epoch_with(format_args!(
            "train perplexity {:.2}, held-out {held:.2} (bigram {baseline:.2})",
            (sum / n as f64).exp()
        ));
    }
    eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
    println!("held-out perplexity: {held:.2} (bigram baseline {baseline:.2})");
    let prompt = "Fellow-Citizens of the Senate and House of Representatives: ";
    println!(
        "\nsample (temperature 0.7):\n{}",
        generate(&net, prompt, 400, 0.7, &mut rng)
    );
}

/// The training buffers of one minibatch: a record, output gradient and, for adjacent
/// sampling, the state each batch slot carries.
struct Work {
    record: <CharLstm<f32> as Network<f32>>::Record,
    grad: <CharLstm<f32> as Network<f32>>::Grad,
    dy: SVector<f32, { STEPS * 96 }>,
    states: Vec<CharLstmState<f32>>,
}

impl Work {
    fn new(batch: usize) -> Self {
        Work {
            record: Zeros::zeros(),
            grad: Zeros::zeros(),
            dy: SVector::zeros(),
            states: (0..batch).map(|_| Zeros::zeros()).collect(),
        }
    }

    fn reset_states(&mut self) {
        self.states.iter_mut().for_each(|s| *s = Zeros::zeros());
    }

    /// One update from the chunks starting at `starts`: the mean of their gradients, clipped
    /// to norm 1. Returns the mean loss per character.
    fn step(
        &mut self,
        net: &mut CharLstm<f32>,
        opt: &mut Adam<CharLstm>,
        ids: &[u32],
        starts: &[usize],
        sampling: Sampling,
    ) -> f32 {
        clear(&mut self.grad);
        let mut total = 0.0;
        for (k, &at) in starts.iter().enumerate() {
            let (x, targets) = chunk(ids, at);
            if sampling == Sampling::Random {
                self.states[k] = Zeros::zeros();
            }
            let y = net.forward_train_from(&x, &mut self.states[k], &mut self.record);
            total += Loss::value_and_grad(
                &SequenceCrossEntropy::<STEPS, 96>,
                y,
                &targets,
                &mut self.dy,
            );
            net.backward(&self.record, &self.dy, &mut self.grad, None);
        }
        scale(&mut self.grad, 1.0 / starts.len() as f32);
        clip_grad_norm(&mut self.grad, 1.0);
        opt.step(net, &self.grad);
        total / starts.len() as f32
    }
}

/// The 64 ids from `at` and the 64 that follow each (the targets).
fn chunk(ids: &[u32], at: usize) -> ([u32; STEPS], [usize; STEPS]) {
    let x = core::array::from_fn(|t| ids[at + t]);
    let targets = core::array::from_fn(|t| ids[at + t + 1] as usize);
    (x, targets)
}

/// Perplexity of `text` under the model: the text read in order chunk by chunk, each
/// starting from the state the previous one ended in, every character after the first
/// predicted once.
fn perplexity(net: &CharLstm<f32>, text: &Corpus) -> f64 {
    let mut state = CharLstmState::zeros();
    let (mut nll, mut n) = (0.0f64, 0usize);
    let mut at = 0;
    while at + STEPS < text.len() {
        let (x, targets) = chunk(&text.ids, at);
        let y = net.forward_from(&x, &mut state);
        nll += Loss::value(&SequenceCrossEntropy::<STEPS, 96>, &y, &targets) as f64 * STEPS as f64;
        n += STEPS;
        at += STEPS;
    }
    (nll / n.max(1) as f64).exp()
}

/// `prompt` continued by `len` characters drawn from the model at `temperature`.
fn generate(
    net: &CharLstm<f32>,
    prompt: &str,
    len: usize,
    temperature: f64,
    rng: &mut SplitMix64,
) -> String {
    let mut step = Box::new(CharLstmStep::<f32>::new(rng));
    let mut params = vec![0.0; CharLstm::<f32>::PARAMS];
    net.copy_params_to(&mut params).unwrap_or_else(|e| fail(e));
    step.copy_params_from(&params).unwrap_or_else(|e| fail(e));
    let mut state = CharLstmStepState::<f32>::zeros();
    let mut text = prompt.to_string();
    let mut logits = SVector::<f32, 96>::zeros();
    for c in prompt.chars() {
        logits = step.forward_from(&[encode(c).unwrap_or(1)], &mut state);
    }
    for _ in 0..len {
        let next = sample(&logits, temperature, rng);
        text.push(decode(next));
        logits = step.forward_from(&[next], &mut state);
    }
    text
}

/// A draw from softmax(logits / temperature).
fn sample(logits: &SVector<f32, 96>, temperature: f64, rng: &mut SplitMix64) -> u32 {
    let max = logits.max() as f64;
    let weights: Vec<f64> = logits
        .iter()
        .map(|&l| ((l as f64 - max) / temperature).exp())
        .collect();
    let mut u = uniform01(rng) * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        u -= w;
        if u <= 0.0 {
            return i as u32;
        }
    }
    95
}

/// The shared flags plus `--sampling random|adjacent`.
fn parse_args(defaults: Args) -> (Args, Sampling) {
    let about = "Trains a character-level LSTM on the bundled State of the Union addresses (or --data FILE) and reports perplexity beside a bigram baseline.";
    let mut sampling = Sampling::Random;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--sampling") {
            Some("") => args.next(),
            Some(v) if v.starts_with('=') => Some(v[1..].to_string()),
            _ => {
                rest.push(arg);
                continue;
            }
        };
        sampling = match value.as_deref() {
            Some("random") => Sampling::Random,
            Some("adjacent") => Sampling::Adjacent,
            other => fail(format!(
                "--sampling takes `random` or `adjacent`, found {other:?}"
            )),
        };
    }
    match Args::parse(defaults.clone(), rest) {
        Ok(Command::Run(args)) => (args, sampling),
        Ok(Command::Help) => {
            print!("{}", Args::usage(&defaults, "char_rnn", about));
            println!("  --sampling MODE  random (default) or adjacent: chunks read in order, carrying the state");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!(
                "error: {e}\n\n{}",
                Args::usage(&defaults, "char_rnn", about)
            );
            std::process::exit(2)
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1)
}
