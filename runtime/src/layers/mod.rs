//! Layer kernels, one file per kind: each holds the struct, its forward and backward, the
//! formulas in its docs and its tests at the bottom.

pub mod activation;
pub mod batch_norm;
pub mod conv1d;
pub mod conv2d;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod flatten;
pub mod global_pool;
pub mod maxout;
pub mod pool;
pub mod pool1d;
pub mod prelu;
pub mod recurrent;
#[cfg(test)]
pub(crate) mod sequence_fixtures;
pub mod time;

pub use activation::{
    Activation, Elementwise, Elu, Gelu, GeluTanh, HardSigmoid, HardSwish, LeakyRelu, Relu, Relu6,
    Selu, Sigmoid, Silu, Softmax, Softplus, Tanh,
};
pub use batch_norm::{BatchNorm, BatchNormGrad};
pub use conv1d::Conv1d;
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::{Embedding, TokenError};
pub use flatten::Flatten;
pub use global_pool::{GlobalAvgPool2d, GlobalMaxPool2d};
pub use maxout::Maxout;
pub use pool::{AvgPool2d, MaxPool2d};
pub use pool1d::{AvgPool1d, MaxPool1d};
pub use prelu::PRelu;
pub use recurrent::{Gru, HiddenState, Lstm, LstmState, Rnn};
pub use time::{Last, MaxOverTime, MeanOverTime, TimeDense};

/// A layer of a network whose declaration has errors, in the stub `network!` leaves instead:
/// the named layers keep fields of this type, so code reading `net.fc.weight` type-checks and
/// the declaration's errors are the only ones. Never part of a network that compiles.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unresolved<T: crate::Scalar> {
    pub weight: nalgebra::SMatrix<T, 0, 0>,
    pub bias: nalgebra::SVector<T, 0>,
}

impl<T: crate::Scalar> Unresolved<T> {
    /// The empty layer (`const`, for the stub's constants too).
    pub const fn new() -> Self {
        Unresolved {
            weight: nalgebra::SMatrix::from_array_storage(nalgebra::ArrayStorage([])),
            bias: nalgebra::SMatrix::from_array_storage(nalgebra::ArrayStorage([[]])),
        }
    }
}

impl<T: crate::Scalar> Default for Unresolved<T> {
    fn default() -> Self {
        Self::new()
    }
}
