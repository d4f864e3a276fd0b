//! The README's quick start, as a program: LeNet-5 trained with `Fit` on the bundled digits,
//! with a validation split, early stopping and learning curves, then evaluated on the test
//! digits. `cargo run --release --example quickstart`.

use stacknet::data::Mnist;
use stacknet::prelude::*;

network! {
    /// LeNet-5 for 28×28 grayscale digits.
    #[derive(Clone)]
    pub struct LeNet5(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, padding = 2),
        relu,
        max_pool2d(2),
        conv2: conv2d(16, kernel = 5),
        relu,
        max_pool2d(2),
        flatten,
        fc1: dense(120), relu,
        fc2: dense(84), relu,
        fc3: dense(10),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load_bundled(Mnist::bundled_dir())?; // 8,000 digits to train, 2,000 to test
    let (train_x, train_y) = (mnist.train.inputs(), mnist.train.targets());
    let (test_x, test_y) = (mnist.test.inputs(), mnist.test.targets());

    let mut net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(1)));
    let mut opt = Box::new(SgdMomentum::new(0.02, 0.9));
    let history = Fit::new(30) // epochs
        .batch(32)
        .schedule(Cosine::new(0.02, 30))
        .validation_split(0.1) // 800 held out, drawn with the seed
        .metric(Accuracy::default())
        .early_stopping(EarlyStopping::val_loss(5)) // then back to the best epoch's weights
        .run_threads(
            0,
            &mut *net,
            &mut *opt,
            &SoftmaxCrossEntropy,
            &train_x,
            &train_y,
        )?;
    std::fs::create_dir_all("target")?;
    history.write_svg("target/quickstart-curves.svg")?; // loss and accuracy per epoch

    let test = evaluate_classifier(&*net, &SoftmaxCrossEntropy, &test_x, &test_y)?;
    println!("test {test}");
    let logits = net.forward(&test_x[0]); // SVector<f32, 784> → SVector<f32, 10>
    println!(
        "digit 0 is a {} (label {})",
        argmax(logits.as_slice()),
        test_y[0]
    );
    Ok(())
}
