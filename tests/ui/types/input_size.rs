// An input vector of the wrong size: the message says it is not the network's input.
use stacknet::prelude::*;

network! {
    struct Digits(input: [64]) {
        hidden: dense(16), relu,
        out: dense(10),
    }
}

fn main() {
    let mut net = Digits::<f32>::new(&mut SplitMix64::new(1));
    let mut trainer = Trainer::new();
    let xs = vec![SVector::<f32, 784>::zeros(); 4];
    let labels = vec![1u8; 4];
    let _ = trainer.step(&mut net, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, xs.iter().zip(&labels));
}
