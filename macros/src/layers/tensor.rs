//! A layer's tensors as PyTorch's `state_dict` holds them (parameters, then buffers): names,
//! shapes, and the runtime's storage of each, so that `#[weights = "…"]` checks a file against
//! the declaration and decodes it at compile time, and the docs count parameters.

use proc_macro2::TokenStream;
use quote::quote;

/// One tensor of a layer.
pub struct Tensor {
    /// PyTorch's name within the layer: `weight`, `bias_hh_l0_reverse`, `running_var`.
    pub name: String,
    /// PyTorch's shape, row-major (`[]` for a scalar).
    pub dims: Vec<u64>,
    pub role: Role,
    /// The `runtime::baked` decoder that fills the runtime's storage of the tensor.
    pub decode: Decode,
}

/// What a tensor is to training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Trained: counted in `PARAMS`.
    Param,
    /// Moved by training but not trained: batch norm's running statistics.
    Buffer,
    /// A count (`num_batches_tracked`), which PyTorch keeps as `I64`.
    Count,
}

/// How the runtime stores a tensor, by the `runtime::baked` decoder that fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// A column-major `SMatrix<T, R, C>` over PyTorch's row-major `[C, R]` (`[C]`: a vector).
    Matrix,
    /// `[T; N]`.
    Array,
    /// `[[T; B]; A]` for `[A, B]`.
    Array2,
    /// `[[[T; C]; B]; A]` for `[A, B, C]`.
    Array3,
}

impl Decode {
    /// The decoder's name in `runtime::baked::{f32, f64}`.
    pub fn function(self) -> &'static str {
        match self {
            Decode::Matrix => "matrix",
            Decode::Array => "array",
            Decode::Array2 => "array2",
            Decode::Array3 => "array3",
        }
    }
}

impl Tensor {
    pub fn new(name: impl Into<String>, dims: &[u64], role: Role, decode: Decode) -> Tensor {
        Tensor {
            name: name.into(),
            dims: dims.to_vec(),
            role,
            decode,
        }
    }

    /// A trained tensor held as an `SMatrix`.
    pub fn matrix(name: &str, dims: &[u64]) -> Tensor {
        Tensor::new(name, dims, Role::Param, Decode::Matrix)
    }

    /// Its number of elements, saturating (shape.rs bounded every size the macro accepts).
    pub fn numel(&self) -> u64 {
        self.dims.iter().fold(1u64, |n, &d| n.saturating_mul(d))
    }
}

/// The trainable scalars of `tensors`, saturating.
pub fn params(tensors: &[Tensor]) -> u64 {
    tensors
        .iter()
        .filter(|t| t.role == Role::Param)
        .fold(0u64, |n, t| n.saturating_add(t.numel()))
}

/// `weight` of shape `weight` (`[out, …]`, the runtime's `SMatrix<T, k, out>`) and, with
/// `bias`, `bias [out]`: dense layers and convolutions.
pub fn weight_bias(weight: &[u64], bias: bool) -> Vec<Tensor> {
    let mut tensors = vec![Tensor::matrix("weight", weight)];
    if bias {
        tensors.push(Tensor::matrix("bias", &weight[..1]));
    }
    tensors
}

/// The constant of a layer type `ty` that is `{ weight, bias }`: the tensors decoded as
/// `__t0` and `__t1`, or zeros for a bias turned off (which the runtime keeps, unused).
pub fn weight_bias_constant(ty: TokenStream, bias: bool) -> TokenStream {
    let bias = if bias {
        quote!(__t1)
    } else {
        quote!(__decode::zeros())
    };
    quote!(#ty { weight: __t0, bias: #bias })
}
