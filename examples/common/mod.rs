//! The training loop the MNIST examples share: minibatches, a progress bar, test accuracy.

use stacknet::data::{Args, Minibatches, MnistSplit, Progress};
use stacknet::nalgebra::SVector;
use stacknet::prelude::*;
use std::time::Instant;

/// The digits as network inputs (pixels / 255) and class labels.
pub struct Samples {
    pub inputs: Vec<SVector<f32, 784>>,
    pub labels: Vec<usize>,
}

impl Samples {
    pub fn of(split: &MnistSplit) -> Self {
        Samples {
            inputs: split.inputs(),
            labels: split.targets(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&SVector<f32, 784>, usize)> {
        self.inputs.iter().zip(self.labels.iter().copied())
    }
}

/// Trains `net` for `args.epochs` epochs of shuffled minibatches with softmax cross-entropy,
/// printing a progress bar and the test accuracy after each epoch; `lr(epoch)` sets the
/// learning rate of each epoch. Returns the final test accuracy, or the first step's
/// [`Diverged`] (a non-finite loss or gradient), which stops training at once.
#[allow(dead_code)]
pub fn fit<N, O>(
    net: &mut N,
    opt: &mut O,
    lr: impl Fn(usize) -> f64,
    train: &Samples,
    test: &Samples,
    args: &Args,
) -> Result<f64, Diverged>
where
    N: PerSample<f32, Input = SVector<f32, 784>, Output = SVector<f32, 10>>,
    O: Optimizer<f32, N>,
{
    let mut trainer: Box<Trainer<f32, N>> = Box::new(Trainer::new());
    let mut batches = Minibatches::new(train.len(), args.batch, args.seed);
    let mut progress = Progress::new(args.epochs, train.len());
    let started = Instant::now();
    let mut acc = accuracy(net, test.pairs());
    for epoch in 0..args.epochs {
        opt.set_learning_rate(lr(epoch) as f32);
        progress.start_epoch(epoch);
        for batch in batches.epoch() {
            let pairs = batch.iter().map(|&i| (&train.inputs[i], &train.labels[i]));
            let loss = trainer.step(net, opt, &SoftmaxCrossEntropy, pairs)?;
            progress.update(batch.len(), loss as f64);
        }
        acc = accuracy(net, test.pairs());
        progress.finish_epoch_with(format_args!("test accuracy {:.2}%", 100.0 * acc));
    }
    eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
    Ok(acc)
}

/// [`fit`] for networks with batch statistics (`batch_norm`): whole minibatches of `B`
/// through the batch path (a last partial minibatch is skipped).
#[allow(dead_code)]
pub fn fit_batches<N, O, const B: usize>(
    net: &mut N,
    opt: &mut O,
    lr: impl Fn(usize) -> f64,
    train: &Samples,
    test: &Samples,
    args: &Args,
) -> Result<f64, Diverged>
where
    N: BatchNetwork<f32, Input = SVector<f32, 784>, Output = SVector<f32, 10>>,
    O: Optimizer<f32, N>,
{
    let mut trainer: Box<BatchTrainer<f32, N, B>> = Box::new(BatchTrainer::new());
    let mut batches = Minibatches::new(train.len(), B, args.seed);
    let mut progress = Progress::new(args.epochs, train.len());
    let mut xs: Box<[SVector<f32, 784>; B]> = Box::new([SVector::zeros(); B]);
    let mut ys = [0usize; B];
    let started = Instant::now();
    let mut acc = accuracy(net, test.pairs());
    for epoch in 0..args.epochs {
        opt.set_learning_rate(lr(epoch) as f32);
        progress.start_epoch(epoch);
        for batch in batches.epoch().filter(|b| b.len() == B) {
            for (k, &i) in batch.iter().enumerate() {
                xs[k] = train.inputs[i];
                ys[k] = train.labels[i];
            }
            let loss = trainer.step(net, opt, &SoftmaxCrossEntropy, &xs, &ys)?;
            progress.update(B, loss as f64);
        }
        acc = accuracy(net, test.pairs());
        progress.finish_epoch_with(format_args!("test accuracy {:.2}%", 100.0 * acc));
    }
    eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
    Ok(acc)
}
