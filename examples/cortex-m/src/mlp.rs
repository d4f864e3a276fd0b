//! On-device training: a 196-32-10 perceptron on 14×14 digits, trained with plain SGD in
//! minibatches, every buffer on the stack (no allocator, nothing in `static mut`).

use crate::{
    pool::pool14, train14_image, Clock, Eval, TEST, TEST_LABELS, TRAIN, TRAIN14_LABELS, UNIT,
};
use stacknet::nalgebra::SVector;
use stacknet::runtime::data::minibatches;
use stacknet::runtime::loss::SoftmaxCrossEntropy;
use stacknet::runtime::optim::Sgd;
use stacknet::runtime::rng::SplitMix64;
use stacknet::runtime::train::Trainer;
use stacknet::runtime::Network;

stacknet::network! {
    /// A digit classifier on 14×14 images (2×2 means of MNIST's 28×28).
    pub struct Mlp(input: [196]) {
        hidden: dense(32), relu,
        out: dense(10),
    }
}

pub const EPOCHS: usize = 4;
pub const BATCH: usize = 10;
pub const LR: f32 = 0.1;

/// The network input of 14×14 bytes.
fn input(im: &[u8; 196]) -> SVector<f32, 196> {
    SVector::from_fn(|p, _| UNIT[usize::from(im[p])])
}

/// Accuracy on the bundled test digits, pooled here to 14×14 as `build.rs` pooled the
/// training digits.
fn evaluate(net: &Mlp<f32>) -> Eval {
    let mut eval = Eval::new();
    for (i, &label) in TEST_LABELS.iter().enumerate().take(TEST) {
        let y = net.forward(&input(&pool14(crate::test_image(i))));
        eval.add(y.as_slice(), label);
    }
    eval
}

/// What one epoch reports: its mean loss (in millionths, an integer for the firmware's
/// printing) and the test accuracy after it.
pub struct Epoch {
    pub epoch: usize,
    pub loss_micro: u32,
    pub eval: Eval,
}

/// Trains from a seeded initialisation; `report` sees the accuracy before training (epoch
/// 0) and after each epoch. Returns the instructions spent in training steps.
#[inline(never)]
pub fn train(clock: &impl Clock, mut report: impl FnMut(&Epoch)) -> u64 {
    let mut rng = SplitMix64::new(1);
    let mut net = Mlp::<f32>::new(&mut rng);
    let mut trainer = Trainer::<Mlp>::new();
    let mut opt = Sgd::<f32>::new(LR);
    let mut order = [0usize; TRAIN];
    let mut instructions = 0;
    report(&Epoch {
        epoch: 0,
        loss_micro: 0,
        eval: evaluate(&net),
    });
    for epoch in 1..=EPOCHS {
        let mut loss = 0.0f32;
        let batches = minibatches(&mut order, BATCH, &mut rng).unwrap_or_else(|_| [].chunks(1));
        let mut steps = 0;
        for batch in batches {
            let xs: [SVector<f32, 196>; BATCH] =
                core::array::from_fn(|k| input(train14_image(batch[k % batch.len()])));
            let ts: [usize; BATCH] =
                core::array::from_fn(|k| usize::from(TRAIN14_LABELS[batch[k % batch.len()]]));
            let n = batch.len();
            let t0 = clock.now();
            let step = trainer.step(
                &mut net,
                &mut opt,
                &SoftmaxCrossEntropy,
                xs[..n].iter().zip(&ts[..n]),
            );
            // Not `expect`: formatting the error's loss would link core's float printing,
            // some 36 KB of flash the firmware otherwise does without.
            let Ok(step) = step else {
                panic!("training diverged");
            };
            loss += step;
            instructions += clock.now() - t0;
            steps += 1;
        }
        report(&Epoch {
            epoch,
            loss_micro: (loss / steps.max(1) as f32 * 1e6) as u32,
            eval: evaluate(&net),
        });
    }
    instructions
}

/// Bytes of the training state as the summary states them: parameters, gradients and one
/// sample's working memory (SGD keeps no state).
pub const TRAINING_STATE_BYTES: usize = <Mlp<f32> as Network<f32>>::PARAM_BYTES
    + <Mlp<f32> as Network<f32>>::GRAD_BYTES
    + <Mlp<f32> as Network<f32>>::TRAINING_BYTES;
