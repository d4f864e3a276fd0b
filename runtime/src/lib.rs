//! The `no_std` runtime of stacknet: layer kernels with forward and backward on nalgebra
//! static matrices, losses, optimisers and the traits that `network!`-generated models implement.
//!
//! Everything here works without `std` and without an allocator: every buffer has a size
//! known at compile time. Tensors are flat `SVector<T, N>`s; images are stored in PyTorch's
//! (channel, row, column) order, so `flatten` moves no data.
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod baked;
pub mod data;
pub mod gradcheck;
pub mod graph;
pub mod hint;
pub mod init;
pub mod kernels;
pub mod layer;
pub mod layers;
pub mod loss;
pub mod network;
pub mod onnx;
pub mod optim;
pub mod quant;
pub mod regularize;
pub mod rng;
pub mod safetensors;
pub mod samples;
pub mod scalar;
pub mod schedule;
pub mod simd;
pub mod train;

pub use layer::{
    Flat, InPlace, Layer, NoParams, NoRecord, Params, Random, Recurrent, RunningStats, Shape,
    TensorInfo, TensorKind, Zeros,
};
pub use network::{BatchNetwork, LayerRow, Model, Network, ParamError, StateEntry};
pub use samples::{AsInput, AsTarget, Label, PerSample};
pub use scalar::Scalar;

/// nalgebra, re-exported so generated code and users name the same version.
pub use nalgebra;
/// rand_core, re-exported so `RngCore` bounds in user code name the version the runtime uses.
pub use rand_core;
