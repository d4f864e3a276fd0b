// A loss that does not fit the output: `Mse` compares vectors, not class labels.
use stacknet::prelude::*;

network! {
    struct Digits(input: [64]) {
        out: dense(10),
    }
}

fn main() {
    let mut net = Digits::<f32>::new(&mut SplitMix64::new(1));
    let mut trainer = Trainer::new();
    let xs = vec![SVector::<f32, 64>::zeros(); 4];
    let labels = vec![3usize; 4];
    let _ = trainer.step(&mut net, &mut Sgd::new(0.1), &Mse, xs.iter().zip(&labels));
}
