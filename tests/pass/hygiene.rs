//! The generated code names every primitive type by its full path, so a module's aliases
//! (`type usize = u32;`) or networks named after primitive types do not change its meaning.
#![deny(warnings)]
#![allow(non_camel_case_types)]

mod aliased {
    #![allow(dead_code)]
    use stacknet::prelude::*;

    type usize = u32;
    type bool = u8;
    type f32 = f64;

    network! {
        pub struct Net(input: [4]) {
            fc: dense(3), relu,
            lstm_free: dense(2),
        }
    }

    pub fn outputs() -> ::core::primitive::usize {
        let net = Net::<::core::primitive::f32>::new(&mut SplitMix64::new(1));
        net.forward(&SVector::zeros()).len()
    }
}

mod named {
    use stacknet::prelude::*;

    network! {
        pub struct usize(input: [4]) { dense(2) }
    }

    network! {
        pub struct bool(input: [3, 2]) { lstm(2), dense(1) }
    }

    pub fn outputs() -> (::core::primitive::usize, ::core::primitive::usize) {
        let a = usize::<f64>::new(&mut SplitMix64::new(1));
        let b = bool::<f64>::new(&mut SplitMix64::new(2));
        (
            a.forward(&SVector::zeros()).len(),
            b.forward(&SVector::zeros()).len(),
        )
    }
}

/// Networks named like the generated code's locals and the scalar it defaults to, through
/// inference, both training paths and the int8 twin.
mod locals {
    #![allow(dead_code)]
    use stacknet::prelude::*;

    network! {
        #[int8]
        pub struct f32(input: [1, 4, 4]) {
            conv2d(2, kernel = 3), relu, flatten, dense(2)
        }
    }

    network! {
        pub struct i(input: [1, 4, 4]) {
            conv2d(2, kernel = 3, padding = 1), batch_norm, relu,
            residual { conv2d(2, kernel = 3, padding = 1), batch_norm },
            flatten, dense(2)
        }
    }

    network! {
        pub struct r(input: [3, 2]) { gru(2), dense(2) }
    }

    network! {
        pub struct rng(input: [4]) { dense(3), dropout(0.5), dense(2) }
    }

    pub fn trains() -> ::core::primitive::usize {
        let mut seed = SplitMix64::new(3);
        let mut a = f32::<::core::primitive::f64>::new(&mut seed);
        let mut b = i::<::core::primitive::f64>::new(&mut seed);
        let mut c = r::<::core::primitive::f64>::new(&mut seed);
        let mut d = rng::<::core::primitive::f64>::new(&mut seed);
        let xs = [SVector::<::core::primitive::f64, 16>::repeat(0.5); 2];
        let (labels, loss) = ([0usize, 1], SoftmaxCrossEntropy);
        let mut sgd = Sgd::new(0.1);
        BatchTrainer::<i<::core::primitive::f64>, 2>::new()
            .step(&mut b, &mut sgd, &loss, &xs, &labels)
            .unwrap();
        Trainer::<f32<::core::primitive::f64>>::new()
            .step(&mut a, &mut sgd, &loss, xs.iter().zip(labels.iter()))
            .unwrap();
        let seq = [SVector::<::core::primitive::f64, 6>::repeat(0.1); 2];
        Trainer::<r<::core::primitive::f64>>::new()
            .step(&mut c, &mut sgd, &loss, seq.iter().zip(labels.iter()))
            .unwrap();
        let flat = [SVector::<::core::primitive::f64, 4>::repeat(0.2); 2];
        Trainer::<rng<::core::primitive::f64>>::new()
            .step(&mut d, &mut sgd, &loss, flat.iter().zip(labels.iter()))
            .unwrap();
        let twin = a.quantize(&xs).unwrap();
        twin.predict(&xs[0]) + b.forward(&xs[0]).len() + c.forward(&seq[0]).len()
    }
}

fn main() {
    assert_eq!(aliased::outputs(), 2);
    assert_eq!(named::outputs(), (2, 1));
    assert!(locals::trains() >= 4);
}
