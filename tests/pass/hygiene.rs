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

fn main() {
    assert_eq!(aliased::outputs(), 2);
    assert_eq!(named::outputs(), (2, 1));
}
