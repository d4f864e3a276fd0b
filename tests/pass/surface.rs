//! The declaration surface: visibility, modules, attributes, a renamed crate, raw field names,
//! parameter-free networks, and generated code that needs no imports at the call site.
#![deny(warnings)]

mod inner {
    // No `use` at all: the generated code names everything through `$crate`.
    stacknet::network! {
        /// Visible in the crate only.
        #[derive(Clone, Debug)]
        pub(crate) struct Crate(input: [2]) {
            dense(2),
        }
    }

    stacknet::network! {
        struct Private(input: [2, 1, 3]) {
            relu,
            flatten,
            softmax,
        }
    }

    pub fn private_rows() -> Vec<(&'static str, stacknet::runtime::Shape)> {
        use stacknet::runtime::Network;
        let net = Private::<f32>::new(&mut stacknet::runtime::rng::SplitMix64::new(0));
        let y = net.forward(&stacknet::nalgebra::SVector::from([
            1.0, -2.0, 0.5, 3.0, -1.0, 0.0,
        ]));
        assert!((y.sum() - 1.0).abs() < 1e-6, "softmax sums to one");
        assert_eq!(<Private as stacknet::runtime::Params<f32>>::TENSORS, 0);
        Private::<f32>::LAYERS
            .iter()
            .map(|row| (row.name, row.output))
            .collect()
    }
}

mod renamed {
    use stacknet as sn;

    sn::network! {
        pub struct Raw(input: [1]) {
            r#type: dense(1),
            r#loop: sigmoid,
        }
    }
}

use stacknet::prelude::*;
use stacknet::runtime::Shape;

fn main() {
    let net: inner::Crate = inner::Crate::new(&mut SplitMix64::new(1));
    let _ = format!("{:?}", net.clone());
    assert_eq!(inner::Crate::<f32>::PARAM_BYTES, 6 * 4);
    assert_eq!(inner::Crate::<f64>::PARAM_BYTES, 6 * 8);
    assert_eq!(inner::Crate::<f64>::LAYERS[0].name, "dense_0");

    assert_eq!(
        inner::private_rows(),
        [
            ("relu_0", Shape::image(2, 1, 3)),
            ("flatten_1", Shape::vector(6)),
            ("softmax_2", Shape::vector(6))
        ]
    );

    let mut raw = renamed::Raw::<f64>::new(&mut SplitMix64::new(2));
    raw.r#type.weight[(0, 0)] = 2.0;
    raw.r#type.bias[0] = -1.0;
    // σ(2·1.5 − 1) = σ(2)
    let y = raw.forward(&SVector::from([1.5]));
    assert!((y[0] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    let names: Vec<String> = (0..renamed::Raw::<f64>::TENSORS)
        .map(|i| renamed::Raw::<f64>::tensor_info(i).to_string())
        .collect();
    assert_eq!(names, ["type.weight", "type.bias"]);
    assert_eq!(renamed::Raw::<f64>::LAYERS[1].name, "loop");
}
