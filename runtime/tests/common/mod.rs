//! Hand-expanded networks shared by the integration tests, in the shape `network!` expands
//! them (`hand_expanded.rs` tests the pattern). The macro also runs activations in place and
//! passes `flatten`'s buffer on; these keep one buffer per layer, the plain form of the contract:
//!
//! ```text
//! network! {
//!     pub struct Tiny(input: [3]) {
//!         hidden: dense(4), tanh,
//!         out: dense(2),
//!     }
//! }
//! network! {
//!     pub struct TinyDrop(input: [3]) {
//!         hidden: dense(8), tanh, drop: dropout(0.25),
//!         out: dense(2),
//!     }
//! }
//! ```

#![allow(dead_code)]

use stacknet_runtime::init::Init;
use stacknet_runtime::layers::{Activation, Dense, Dropout, Tanh};
use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::rand_core::RngCore;
use stacknet_runtime::{
    BatchNetwork, Layer, LayerRow, Model, Network, NoParams, Params, Scalar, Shape, TensorInfo,
    Zeros,
};

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

const fn row<T: Scalar, L: Layer<T>>(name: &'static str, output: usize) -> LayerRow {
    LayerRow {
        name,
        kind: L::KIND,
        output: Shape::vector(output),
        params: <L as Params<T>>::LEN,
        macs: L::MACS,
        scratch_bytes: L::SCRATCH_BYTES,
    }
}

// ---------------------------------------------------------------------------------------------
// Tiny: dense(4), tanh, dense(2)

#[derive(Clone, Debug)]
pub struct Tiny<T: Scalar = f32> {
    pub hidden: Dense<T, 3, 4>,
    pub tanh_1: Activation<Tanh, 4>,
    pub out: Dense<T, 4, 2>,
}

#[derive(Clone)]
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

params_impl!(Tiny { hidden: Dense<T, 3, 4>, tanh_1: Activation<Tanh, 4>, out: Dense<T, 4, 2> });
params_impl!(TinyGrad { hidden: Dense<T, 3, 4>, tanh_1: NoParams, out: Dense<T, 4, 2> });

impl<T: Scalar> stacknet_runtime::PerSample<T> for Tiny<T> {}

impl<T: Scalar> Model for Tiny<T> {
    type Scalar = T;
}

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

#[derive(Clone, Debug)]
pub struct TinyDrop<T: Scalar = f32> {
    pub hidden: Dense<T, 3, 8>,
    pub tanh_1: Activation<Tanh, 8>,
    pub drop: Dropout<T, 8>,
    pub out: Dense<T, 8, 2>,
}

#[derive(Clone)]
pub struct TinyDropGrad<T: Scalar = f32> {
    pub hidden: <Dense<T, 3, 8> as Layer<T>>::Grad,
    pub tanh_1: NoParams,
    pub drop: NoParams,
    pub out: <Dense<T, 8, 2> as Layer<T>>::Grad,
}

pub struct TinyDropRecord<T: Scalar = f32> {
    x0: SVector<T, 3>,
    x1: SVector<T, 8>,
    x2: SVector<T, 8>,
    x3: SVector<T, 8>,
    x4: SVector<T, 2>,
    r1: <Dense<T, 3, 8> as Layer<T>>::Record,
    r2: <Activation<Tanh, 8> as Layer<T>>::Record,
    r3: <Dropout<T, 8> as Layer<T>>::Record,
    r4: <Dense<T, 8, 2> as Layer<T>>::Record,
}

impl<T: Scalar> TinyDrop<T> {
    pub fn new(rng: &mut (impl RngCore + ?Sized)) -> Self {
        TinyDrop {
            hidden: Dense::new(Init::XavierUniform, rng),
            tanh_1: Activation(Tanh),
            drop: Dropout::new(0.25, rng),
            out: Dense::new(Init::XavierUniform, rng),
        }
    }
}

impl<T: Scalar> Zeros for TinyDropGrad<T> {
    fn zeros() -> Self {
        TinyDropGrad {
            hidden: Zeros::zeros(),
            tanh_1: NoParams,
            drop: NoParams,
            out: Zeros::zeros(),
        }
    }
}

impl<T: Scalar> Zeros for TinyDropRecord<T> {
    fn zeros() -> Self {
        TinyDropRecord {
            x0: Zeros::zeros(),
            x1: Zeros::zeros(),
            x2: Zeros::zeros(),
            x3: Zeros::zeros(),
            x4: Zeros::zeros(),
            r1: Zeros::zeros(),
            r2: Zeros::zeros(),
            r3: Zeros::zeros(),
            r4: Zeros::zeros(),
        }
    }
}

params_impl!(TinyDrop {
    hidden: Dense<T, 3, 8>,
    tanh_1: Activation<Tanh, 8>,
    drop: Dropout<T, 8>,
    out: Dense<T, 8, 2>
});
params_impl!(TinyDropGrad {
    hidden: Dense<T, 3, 8>,
    tanh_1: NoParams,
    drop: NoParams,
    out: Dense<T, 8, 2>
});

impl<T: Scalar> stacknet_runtime::PerSample<T> for TinyDrop<T> {}

impl<T: Scalar> Model for TinyDrop<T> {
    type Scalar = T;
}

impl<T: Scalar> Network<T> for TinyDrop<T> {
    type Input = SVector<T, 3>;
    type Output = SVector<T, 2>;
    type Grad = TinyDropGrad<T>;
    type Record = TinyDropRecord<T>;
    const INPUT_SHAPE: Shape = Shape::vector(3);
    const OUTPUT_SHAPE: Shape = Shape::vector(2);
    const LAYERS: &'static [LayerRow] = &[
        row::<T, Dense<T, 3, 8>>("hidden", 8),
        row::<T, Activation<Tanh, 8>>("tanh_1", 8),
        row::<T, Dropout<T, 8>>("drop", 8),
        row::<T, Dense<T, 8, 2>>("out", 2),
    ];

    fn forward(&self, x0: &SVector<T, 3>) -> SVector<T, 2> {
        let mut x1 = Zeros::zeros();
        self.hidden.forward(x0, &mut x1);
        let mut x2 = Zeros::zeros();
        self.tanh_1.forward(&x1, &mut x2);
        let mut x3 = Zeros::zeros();
        self.drop.forward(&x2, &mut x3);
        let mut x4 = Zeros::zeros();
        self.out.forward(&x3, &mut x4);
        x4
    }

    fn forward_train(&mut self, x: &SVector<T, 3>, r: &mut TinyDropRecord<T>) {
        r.x0.copy_from(x);
        self.hidden.forward_train(&r.x0, &mut r.x1, &mut r.r1);
        self.tanh_1.forward_train(&r.x1, &mut r.x2, &mut r.r2);
        self.drop.forward_train(&r.x2, &mut r.x3, &mut r.r3);
        self.out.forward_train(&r.x3, &mut r.x4, &mut r.r4);
    }

    fn output(r: &TinyDropRecord<T>) -> &SVector<T, 2> {
        &r.x4
    }

    fn backward(
        &self,
        r: &TinyDropRecord<T>,
        d4: &SVector<T, 2>,
        g: &mut TinyDropGrad<T>,
        dx: Option<&mut SVector<T, 3>>,
    ) {
        let mut d3 = Zeros::zeros();
        self.out
            .backward(&r.x3, &r.x4, &r.r4, d4, Some(&mut d3), &mut g.out);
        let mut d2 = Zeros::zeros();
        self.drop
            .backward(&r.x2, &r.x3, &r.r3, &d3, Some(&mut d2), &mut g.drop);
        let mut d1 = Zeros::zeros();
        self.tanh_1
            .backward(&r.x1, &r.x2, &r.r2, &d2, Some(&mut d1), &mut g.tanh_1);
        self.hidden
            .backward(&r.x0, &r.x1, &r.r1, &d1, dx, &mut g.hidden);
    }
}

/// A fixed regression problem: 16 inputs in [0, 1]×{0.5}×[−0.5, 0] and targets
/// (x₀ − x₂, x₁/2), which a tanh layer of 4 units fits closely.
pub fn regression_data() -> (Vec<SVector<f64, 3>>, Vec<SVector<f64, 2>>) {
    let xs: Vec<SVector<f64, 3>> = (0..16)
        .map(|i| SVector::from([i as f64 / 16.0, 0.5, -(i as f64) / 32.0]))
        .collect();
    let ts = xs
        .iter()
        .map(|x| SVector::from([x[0] - x[2], 0.5 * x[1]]))
        .collect();
    (xs, ts)
}

/// All tensors of `p`, concatenated in order.
pub fn flat<T: Scalar, P: Params<T>>(p: &P) -> Vec<T> {
    (0..P::TENSORS).flat_map(|i| p.tensor(i).to_vec()).collect()
}
