//! Labels of any unsigned integer type, inputs and targets by reference or by value, a boxed
//! `dyn Optimizer`, and a cloned gradient.
use stacknet::prelude::*;

network! {
    #[derive(Clone)]
    struct Digits(input: [64]) {
        hidden: dense(16), relu,
        out: dense(10),
    }
}

fn main() {
    let mut net = Digits::<f32>::new(&mut SplitMix64::new(1));
    let mut trainer = Trainer::new();
    let xs = vec![SVector::<f32, 64>::from_element(0.5); 4];
    let bytes = vec![1u8, 2, 3, 4];
    let words = vec![1u16, 2, 3, 4];
    let mut opt: Box<dyn Optimizer<Digits>> = Box::new(Sgd::new(0.1));
    trainer.step(&mut net, &mut *opt, &SoftmaxCrossEntropy, xs.iter().zip(&bytes)).unwrap();
    trainer.step(&mut net, &mut *opt, &SoftmaxCrossEntropy, xs.iter().zip(words.iter().copied())).unwrap();
    trainer.step(&mut net, &mut *opt, &SoftmaxCrossEntropy, xs.iter().copied().zip(0usize..)).unwrap();
    let a = accuracy(&net, xs.iter().zip(&bytes));
    let b = accuracy(&net, xs.iter().zip(words.iter().copied()));
    assert_eq!(a, b);
    let grad = trainer.grad.clone();
    let _ = grad;
}
