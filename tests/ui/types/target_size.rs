// A regression target of the wrong size.
use stacknet::prelude::*;

network! {
    struct Sine(input: [1]) {
        hidden: dense(16), tanh,
        out: dense(1),
    }
}

fn main() {
    let mut net = Sine::<f32>::new(&mut SplitMix64::new(1));
    let mut trainer = Trainer::new();
    let xs = vec![SVector::<f32, 1>::zeros(); 4];
    let ys = vec![SVector::<f32, 2>::zeros(); 4];
    let _ = trainer.step(&mut net, &mut Sgd::new(0.1), &Mse, xs.iter().zip(&ys));
}
