//! Accepted mutants of the macro's mutation test (`macros/src/mutations.rs`), built by
//! the ui test. Generated: `STACKNET_SAMPLE=overwrite cargo test -p stacknet-macros mutations`.
#![allow(dead_code, unused)]
use stacknet::prelude::*;

fn exercise<T: Scalar, N: BatchNetwork<T>>(mut net: Box<N>) {
    let x = <N::Input as Zeros>::zeros();
    let _ = net.forward(&x);
    let mut rec = Box::new(<N::BatchRecord<2> as Zeros>::zeros());
    net.forward_train_batch(&[x.clone(), x], &mut rec);
    let dy = [<N::Output as Zeros>::zeros(), <N::Output as Zeros>::zeros()];
    let mut grad = Box::new(<N::Grad as Zeros>::zeros());
    net.backward_batch(&rec, &dy, &mut grad);
}

mod m0 {
    use stacknet::prelude::*;
    network! { struct Incept (input : [4 , 6 , 6]) { concat { conv2d (2 , 1) , { conv2d (3 , 1) , relu , conv2d (3 , 3 , padding = 1) } , { max_pool2d (3 , stride = 1 , padding = 1 , ceil_mode = true) } , } , conv2d (4 , 3 , groups = 1 , dilation = 2) , global_max_pool2d , dense (2 , init = normal (0.1)) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Incept::<f32>::new(rng)));
        super::exercise(Box::new(Incept::<f64>::new(rng)));
    }
}

mod m1 {
    use stacknet::prelude::*;
    network! { struct Incept (input : [4 , 6 , 6]) { conv2d (4 , 3 , groups = 1 , dilation = 2) , global_max_pool2d , dense (2 , init = normal (0.1)) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Incept::<f32>::new(rng)));
        super::exercise(Box::new(Incept::<f64>::new(rng)));
    }
}

mod m2 {
    use stacknet::prelude::*;
    network! { struct LeNet5 (input : [1 , 28 , 28]) { conv1 : conv2d (6 , kernel = 5 , padding = 2) , relu , max_pool2d (2) , conv2 : conv2d (16 , kernel = 5) , relu , avg_pool2d (2) , avg_pool2d (2) , flatten , fc1 : dense (120) , relu , fc2 : dense (84) , leaky_relu (0.01) , fc3 : dense (10) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(LeNet5::<f32>::new(rng)));
        super::exercise(Box::new(LeNet5::<f64>::new(rng)));
    }
}

mod m3 {
    use stacknet::prelude::*;
    network! { struct Incept (input : [4 , 6 , 6]) { concat { conv2d (2 , 1 , 1) , { conv2d (3 , 1) , relu , conv2d (3 , 3 , padding = 1) } , { max_pool2d (3 , stride = 1 , padding = 1 , ceil_mode = true) } , { } } , conv2d (4 , 3 , groups = 1 , dilation = 2) , global_max_pool2d , dense (2 , init = normal (0.1)) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Incept::<f32>::new(rng)));
        super::exercise(Box::new(Incept::<f64>::new(rng)));
    }
}

mod m4 {
    use stacknet::prelude::*;
    network! { struct Incept (input : [4 , 6 , 6]) { concat { conv2d (2 , 1) , { conv2d (3 , 1) , relu , conv2d (3 , 3 , padding = 1) } , { max_pool2d (3 , stride = 1 , padding = 1 , ceil_mode = true) } , { } } , conv2d (4 , 3 , dilation = 2) , global_max_pool2d , dense (2 , init = normal (0.1)) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Incept::<f32>::new(rng)));
        super::exercise(Box::new(Incept::<f64>::new(rng)));
    }
}

mod m5 {
    use stacknet::prelude::*;
    network! { struct Incept (input : [4 , 6 , 6]) { concat { { conv2d (3 , 1) , relu , conv2d (3 , 3 , padding = 1) } , conv2d (2 , 1) , { max_pool2d (3 , stride = 1 , padding = 1 , ceil_mode = true) } , { } } , conv2d (4 , 3 , groups = 1 , dilation = 2) , global_max_pool2d , dense (2 , init = normal (0.1)) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Incept::<f32>::new(rng)));
        super::exercise(Box::new(Incept::<f64>::new(rng)));
    }
}

mod m6 {
    use stacknet::prelude::*;
    network! { struct Time (input : [5 , 4]) { dense (6) , lstm (3 , sequences = true) , lstm (3 , sequences = true) , last , dense (2) } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Time::<f32>::new(rng)));
        super::exercise(Box::new(Time::<f64>::new(rng)));
    }
}

mod m7 {
    use stacknet::prelude::*;
    network! { struct Seq (input : [6 , 3]) { conv1d (2 , 3 , padding = same) , elu (1.0) , max_pool1d (2) , lstm (5 , sequences = true , bidirectional = true) , gru (4) , dense (3) , softmax } }
    pub fn run(rng: &mut SplitMix64) {
        super::exercise(Box::new(Seq::<f32>::new(rng)));
        super::exercise(Box::new(Seq::<f64>::new(rng)));
    }
}

fn main() {
    let mut rng = SplitMix64::new(1);
    if std::env::args().count() > 1000 {
        m0::run(&mut rng);
        m1::run(&mut rng);
        m2::run(&mut rng);
        m3::run(&mut rng);
        m4::run(&mut rng);
        m5::run(&mut rng);
        m6::run(&mut rng);
        m7::run(&mut rng);
    }
}
