//! A network written by hand exactly as `network!` expands it, so the runtime's contract is
//! tested without the macro, and the macro's expansion has a readable reference.
//!
//! ```text
//! network! {
//!     pub struct Tiny(input: [3]) {
//!         hidden: dense(4), tanh,
//!         out: dense(2),
//!     }
//! }
//! ```

use stacknet_runtime::gradcheck::check_network;
use stacknet_runtime::init::Init;
use stacknet_runtime::layers::{Activation, Dense, Tanh};
use stacknet_runtime::loss::{Mse, SoftmaxCrossEntropy};
use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::optim::Sgd;
use stacknet_runtime::rng::SplitMix64;
use stacknet_runtime::train::{BatchTrainer, Trainer};
use stacknet_runtime::{
    BatchNetwork, Layer, LayerRow, Network, NoParams, Params, Scalar, Shape, TensorInfo, Zeros,
};

#[derive(Clone, Debug)]
pub struct Tiny<T: Scalar = f32> {
    pub hidden: Dense<T, 3, 4>,
    pub tanh_1: Activation<Tanh, 4>,
    pub out: Dense<T, 4, 2>,
}

pub struct TinyGrad<T: Scalar = f32> {
    pub hidden: <Dense<T, 3, 4> as Layer<T>>::Grad,
    pub tanh_1: NoParams,
    pub out: <Dense<T, 4, 2> as Layer<T>>::Grad,
}

pub struct TinyRecord<T: Scalar = f32> {
    x0: SVector<T, 3>,
    x1: SVector<T, 4>,
    x2: SVector<T, 4>,
    x3: SVector<T, 2>,
    r1: <Dense<T, 3, 4> as Layer<T>>::Record,
    r2: <Activation<Tanh, 4> as Layer<T>>::Record,
    r3: <Dense<T, 4, 2> as Layer<T>>::Record,
}

/// The batch record: every activation of `B` samples, layer by layer, so each layer sees
/// its whole minibatch as one contiguous slice.
pub struct TinyBatchRecord<T: Scalar, const B: usize> {
    x0: [SVector<T, 3>; B],
    x1: [SVector<T, 4>; B],
    x2: [SVector<T, 4>; B],
    x3: [SVector<T, 2>; B],
    r1: [<Dense<T, 3, 4> as Layer<T>>::Record; B],
    r2: [<Activation<Tanh, 4> as Layer<T>>::Record; B],
    r3: [<Dense<T, 4, 2> as Layer<T>>::Record; B],
}

impl<T: Scalar, const B: usize> Zeros for TinyBatchRecord<T, B> {
    fn zeros() -> Self {
        TinyBatchRecord {
            x0: Zeros::zeros(),
            x1: Zeros::zeros(),
            x2: Zeros::zeros(),
            x3: Zeros::zeros(),
            r1: Zeros::zeros(),
            r2: Zeros::zeros(),
            r3: Zeros::zeros(),
        }
    }
}

impl<T: Scalar> BatchNetwork<T> for Tiny<T> {
    type BatchRecord<const B: usize> = TinyBatchRecord<T, B>;

    fn forward_train_batch<const B: usize>(
        &mut self,
        xs: &[SVector<T, 3>; B],
        r: &mut TinyBatchRecord<T, B>,
    ) {
        r.x0.clone_from(xs);
        self.hidden.forward_train_batch(&r.x0, &mut r.x1, &mut r.r1);
        self.tanh_1.forward_train_batch(&r.x1, &mut r.x2, &mut r.r2);
        self.out.forward_train_batch(&r.x2, &mut r.x3, &mut r.r3);
    }

    fn batch_outputs<const B: usize>(r: &TinyBatchRecord<T, B>) -> &[SVector<T, 2>; B] {
        &r.x3
    }

    fn backward_batch<const B: usize>(
        &self,
        r: &TinyBatchRecord<T, B>,
        d3: &[SVector<T, 2>; B],
        g: &mut TinyGrad<T>,
    ) {
        let mut d2: [SVector<T, 4>; B] = Zeros::zeros();
        self.out
            .backward_batch(&r.x2, &r.x3, &r.r3, d3, Some(&mut d2), &mut g.out);
        let mut d1: [SVector<T, 4>; B] = Zeros::zeros();
        self.tanh_1
            .backward_batch(&r.x1, &r.x2, &r.r2, &d2, Some(&mut d1), &mut g.tanh_1);
        self.hidden
            .backward_batch(&r.x0, &r.x1, &r.r1, &d1, None, &mut g.hidden);
    }
}

impl<T: Scalar> Tiny<T> {
    pub fn new(rng: &mut (impl stacknet_runtime::rand_core::RngCore + ?Sized)) -> Self {
        Tiny {
            hidden: Dense::new(Init::XavierUniform, rng),
            tanh_1: Activation(Tanh),
            out: Dense::new(Init::XavierUniform, rng),
        }
    }
}

impl<T: Scalar> Zeros for TinyGrad<T> {
    fn zeros() -> Self {
        TinyGrad {
            hidden: Zeros::zeros(),
            tanh_1: NoParams,
            out: Zeros::zeros(),
        }
    }
}

impl<T: Scalar> Zeros for TinyRecord<T> {
    fn zeros() -> Self {
        TinyRecord {
            x0: Zeros::zeros(),
            x1: Zeros::zeros(),
            x2: Zeros::zeros(),
            x3: Zeros::zeros(),
            r1: Zeros::zeros(),
            r2: Zeros::zeros(),
            r3: Zeros::zeros(),
        }
    }
}

/// Tensor dispatch: walk the layers, subtracting each one's tensor count.
macro_rules! params_impl {
    ($ty:ident { $($field:ident: $lt:ty),* }) => {
        impl<T: Scalar> Params<T> for $ty<T> {
            const TENSORS: usize = 0 $(+ <$lt as Params<T>>::TENSORS)*;
            const LEN: usize = 0 $(+ <$lt as Params<T>>::LEN)*;
            fn tensor(&self, i: usize) -> &[T] {
                let mut i = i;
                $(
                    if i < <$lt as Params<T>>::TENSORS { return self.$field.tensor(i); }
                    i -= <$lt as Params<T>>::TENSORS;
                )*
                let _ = i;
                &[]
            }
            fn tensor_mut(&mut self, i: usize) -> &mut [T] {
                let mut i = i;
                $(
                    if i < <$lt as Params<T>>::TENSORS { return self.$field.tensor_mut(i); }
                    i -= <$lt as Params<T>>::TENSORS;
                )*
                let _ = i;
                &mut []
            }
            fn tensor_info(i: usize) -> TensorInfo {
                let mut i = i;
                $(
                    if i < <$lt as Params<T>>::TENSORS {
                        return TensorInfo { layer: stringify!($field), ..<$lt as Params<T>>::tensor_info(i) };
                    }
                    i -= <$lt as Params<T>>::TENSORS;
                )*
                let _ = i;
                <NoParams as Params<T>>::tensor_info(0)
            }
        }
    };
}

params_impl!(Tiny { hidden: Dense<T, 3, 4>, tanh_1: Activation<Tanh, 4>, out: Dense<T, 4, 2> });
params_impl!(TinyGrad { hidden: Dense<T, 3, 4>, tanh_1: NoParams, out: Dense<T, 4, 2> });

impl<T: Scalar> Network<T> for Tiny<T> {
    type Input = SVector<T, 3>;
    type Output = SVector<T, 2>;
    type Grad = TinyGrad<T>;
    type Record = TinyRecord<T>;
    const INPUT_SHAPE: Shape = Shape::vector(3);
    const OUTPUT_SHAPE: Shape = Shape::vector(2);
    const NEEDS_BATCH: bool = <Dense<T, 3, 4> as Layer<T>>::NEEDS_BATCH
        || <Activation<Tanh, 4> as Layer<T>>::NEEDS_BATCH
        || <Dense<T, 4, 2> as Layer<T>>::NEEDS_BATCH;
    const LAYERS: &'static [LayerRow] = &[
        LayerRow {
            name: "hidden",
            kind: <Dense<T, 3, 4> as Layer<T>>::KIND,
            output: Shape::vector(4),
            params: <Dense<T, 3, 4> as Params<T>>::LEN,
            macs: <Dense<T, 3, 4> as Layer<T>>::MACS,
            scratch_bytes: <Dense<T, 3, 4> as Layer<T>>::SCRATCH_BYTES,
        },
        LayerRow {
            name: "tanh_1",
            kind: <Activation<Tanh, 4> as Layer<T>>::KIND,
            output: Shape::vector(4),
            params: 0,
            macs: 0,
            scratch_bytes: 0,
        },
        LayerRow {
            name: "out",
            kind: <Dense<T, 4, 2> as Layer<T>>::KIND,
            output: Shape::vector(2),
            params: <Dense<T, 4, 2> as Params<T>>::LEN,
            macs: <Dense<T, 4, 2> as Layer<T>>::MACS,
            scratch_bytes: 0,
        },
    ];

    fn forward(&self, x0: &SVector<T, 3>) -> SVector<T, 2> {
        let mut x1 = Zeros::zeros();
        self.hidden.forward(x0, &mut x1);
        let mut x2 = Zeros::zeros();
        self.tanh_1.forward(&x1, &mut x2);
        let mut x3 = Zeros::zeros();
        self.out.forward(&x2, &mut x3);
        x3
    }

    fn forward_train(&mut self, x: &SVector<T, 3>, r: &mut TinyRecord<T>) {
        r.x0.copy_from(x);
        self.hidden.forward_train(&r.x0, &mut r.x1, &mut r.r1);
        self.tanh_1.forward_train(&r.x1, &mut r.x2, &mut r.r2);
        self.out.forward_train(&r.x2, &mut r.x3, &mut r.r3);
    }

    fn output(r: &TinyRecord<T>) -> &SVector<T, 2> {
        &r.x3
    }

    fn backward(
        &self,
        r: &TinyRecord<T>,
        d3: &SVector<T, 2>,
        g: &mut TinyGrad<T>,
        dx: Option<&mut SVector<T, 3>>,
    ) {
        let mut d2 = Zeros::zeros();
        self.out
            .backward(&r.x2, &r.x3, &r.r3, d3, Some(&mut d2), &mut g.out);
        let mut d1 = Zeros::zeros();
        self.tanh_1
            .backward(&r.x1, &r.x2, &r.r2, &d2, Some(&mut d1), &mut g.tanh_1);
        self.hidden
            .backward(&r.x0, &r.x1, &r.r1, &d1, dx, &mut g.hidden);
    }
}

#[test]
fn whole_network_gradients_match_finite_differences() {
    let net = Tiny::<f64>::new(&mut SplitMix64::new(1));
    let x = SVector::from([0.3, -0.8, 0.5]);
    let mut names = Vec::new();
    let check = check_network(&net, &x, &1, &SoftmaxCrossEntropy, 100, |info, err| {
        names.push(format!("{info}"));
        assert!(err < 1e-6, "{info}: {err}");
    });
    assert!(check.passes(1e-6), "{check:?}");
    assert_eq!(
        names,
        ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    );
}

#[test]
fn flat_parameter_copy_follows_pytorch_order() {
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(2));
    assert_eq!(Tiny::<f64>::PARAMS, 3 * 4 + 4 + 4 * 2 + 2);
    let values: Vec<f64> = (0..Tiny::<f64>::PARAMS).map(|i| i as f64).collect();
    net.copy_params_from(&values).unwrap();
    // hidden.weight is [4, 3] row-major: W[1][2] is the 6th value.
    assert_eq!(net.hidden.weight[(2, 1)], 5.0);
    assert_eq!(net.hidden.bias[0], 12.0);
    assert_eq!(net.out.bias[1], 25.0);
    let mut back = vec![0.0; Tiny::<f64>::PARAMS];
    net.copy_params_to(&mut back).unwrap();
    assert_eq!(back, values);
    assert!(net.copy_params_from(&values[1..]).is_err());
    assert_eq!(net.hidden.bias[0], 12.0, "a failed copy changes nothing");
}

#[test]
fn trains_a_linear_target_with_sgd() {
    let mut net = Tiny::<f64>::new(&mut SplitMix64::new(3));
    let xs: Vec<SVector<f64, 3>> = (0..16)
        .map(|i| SVector::from([i as f64 / 16.0, 0.5, -(i as f64) / 32.0]))
        .collect();
    let ts: Vec<SVector<f64, 2>> = xs
        .iter()
        .map(|x| SVector::from([x[0] - x[2], 0.5 * x[1]]))
        .collect();
    let mut trainer = Trainer::<f64, Tiny<f64>>::new();
    let mut opt = Sgd::new(0.5);
    let first = trainer.step(&mut net, &mut opt, &Mse, xs.iter().zip(ts.iter()));
    let mut last = first;
    for _ in 0..500 {
        last = trainer.step(&mut net, &mut opt, &Mse, xs.iter().zip(ts.iter()));
    }
    assert!(last < first / 20.0 && last < 1e-3, "loss {first} → {last}");
}

#[test]
fn batch_path_gives_the_per_sample_gradients() {
    let net = Tiny::<f64>::new(&mut SplitMix64::new(4));
    let xs: [SVector<f64, 3>; 5] =
        core::array::from_fn(|i| SVector::from([i as f64 * 0.3, -0.2, 1.0 - i as f64 * 0.1]));
    let ts: [usize; 5] = [0, 1, 1, 0, 1];
    let (mut a, mut b) = (net.clone(), net.clone());
    let mut one = Trainer::<f64, Tiny<f64>>::new();
    let mut all = BatchTrainer::<f64, Tiny<f64>, 5>::new();
    let la = one.step(
        &mut a,
        &mut Sgd::new(0.1),
        &SoftmaxCrossEntropy,
        xs.iter().zip(ts.iter()),
    );
    let lb = all.step(&mut b, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &xs, &ts);
    assert!((la - lb).abs() < 1e-14);
    for i in 0..Tiny::<f64>::TENSORS {
        for (ga, gb) in one.grad.tensor(i).iter().zip(all.grad.tensor(i)) {
            assert!((ga - gb).abs() < 1e-14, "tensor {i}: {ga} vs {gb}");
        }
    }
}
