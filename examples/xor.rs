//! A 2-4-1 network learns XOR: the smallest problem a linear model cannot solve.
//!
//! `cargo run --release --example xor`

use stacknet::prelude::*;

network! {
    /// Two inputs, four tanh units, one logit.
    pub struct Xor(input: [2]) {
        hidden: dense(4), tanh,
        out: dense(1),
    }
}

fn main() {
    let inputs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]].map(SVector::<f32, 2>::from);
    let targets = [0.0, 1.0, 1.0, 0.0].map(|t| SVector::<f32, 1>::from([t]));

    print!("{}", Xor::<f32>::summary());
    let mut net = Xor::<f32>::new(&mut SplitMix64::new(7));
    let mut trainer = Trainer::new();
    let mut opt = Sgd::new(0.5);
    for epoch in 0..=2000 {
        let loss = trainer
            .step(
                &mut net,
                &mut opt,
                &BinaryCrossEntropy,
                inputs.iter().zip(&targets),
            )
            .expect("xor training diverged");
        if epoch % 500 == 0 {
            println!("epoch {epoch:>4}: binary cross-entropy {loss:.4}");
        }
    }
    let mut right = 0;
    for (x, t) in inputs.iter().zip(&targets) {
        let p = stacknet::runtime::layers::activation::sigmoid(net.forward(x)[0]);
        println!("{} xor {} → {p:.3}", x[0], x[1]);
        right += ((p > 0.5) == (t[0] > 0.5)) as usize;
    }
    println!("{right}/4 correct");
    if right != 4 {
        std::process::exit(1);
    }
}
