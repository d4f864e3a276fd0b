//! Embedding: token ids looked up in a table of vectors, `[u32; STEPS] → [steps, dim]`.
//!
//! Shapes: ids `x ∈ {0, …, VOCAB − 1}^STEPS`, weight `E ∈ ℝ^(VOCAB×DIM)` (PyTorch's
//! `nn.Embedding.weight`), output `y ∈ ℝ^(STEPS×DIM)` step-major: `y[t, ·] = E[x[t], ·]`.
//! Backward, with δ = ∂L/∂y: `∂L/∂E[v, ·] = Σ_{t: x[t] = v} δ[t, ·]`, added into the rows
//! that were used only (a repeated id adds once per occurrence). Token ids are not numbers
//! one can differentiate by: there is no input gradient, and a `dx` passed to backward is
//! ignored (the generated code passes `None`).
//!
//! `weight` is the nalgebra matrix Eᵀ (`DIM × VOCAB`, column-major), whose memory is exactly
//! PyTorch's row-major `[VOCAB, DIM]`: column v is token v's vector, so a lookup is one
//! contiguous copy and import or export needs no transposition.
//!
//! An id ≥ `VOCAB` panics in [`forward`](Layer::forward) (and the other [`Layer`] methods)
//! with the message of [`TokenError`]; [`Embedding::try_forward`] returns it instead, for ids
//! that come from outside the program.

use crate::init::Init;
use crate::{Layer, NoRecord, Params, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use core::fmt;
use nalgebra::{SMatrix, SVector};
use rand_core::RngCore;

/// A token id outside the vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenError {
    /// The offending id.
    pub id: u32,
    /// The step it was found at.
    pub step: usize,
    /// The vocabulary size: ids must be below it.
    pub vocab: usize,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "embedding: token id at step {} must be below the vocabulary size {}, found {}",
            self.step, self.vocab, self.id
        )
    }
}

impl core::error::Error for TokenError {}

/// Embedding of `STEPS` token ids from a vocabulary of `VOCAB` into `DIM` features each.
///
/// Parameters: the scalar; the number of steps; the vocabulary size; the embedding width;
/// `OUT = STEPS·DIM`, the output length (a generic parameter because stable Rust cannot
/// compute array sizes from generics; a `const` assertion checks it).
///
/// ```
/// use stacknet_runtime::layers::Embedding;
/// use stacknet_runtime::{Layer, Zeros};
/// use stacknet_runtime::nalgebra::SVector;
///
/// // T, STEPS, VOCAB, DIM, OUT
/// let mut emb = Embedding::<f32, 3, 4, 2, 6>::zeros();
/// emb.weight.as_mut_slice().copy_from_slice(&[0., 1., 10., 11., 20., 21., 30., 31.]);
/// let mut y = SVector::zeros();
/// emb.forward(&[2, 0, 2], &mut y);
/// assert_eq!(y.as_slice(), &[20., 21., 0., 1., 20., 21.]);
/// assert!(emb.try_forward(&[2, 4, 0], &mut y).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding<
    T: Scalar,
    const STEPS: usize,
    const VOCAB: usize,
    const DIM: usize,
    const OUT: usize,
> {
    /// Eᵀ, `DIM × VOCAB`: PyTorch's `[VOCAB, DIM]` weight in the same memory order.
    pub weight: SMatrix<T, DIM, VOCAB>,
}

impl<T: Scalar, const STEPS: usize, const VOCAB: usize, const DIM: usize, const OUT: usize>
    Embedding<T, STEPS, VOCAB, DIM, OUT>
{
    const VALID: () = {
        assert!(
            STEPS > 0 && VOCAB > 0 && DIM > 0,
            "embedding: steps, vocabulary and width must be positive"
        );
        assert!(OUT == STEPS * DIM, "embedding: `OUT` must be `STEPS·DIM`");
        assert!(
            VOCAB as u64 <= u32::MAX as u64 + 1,
            "embedding: the vocabulary must fit `u32` ids"
        );
    };

    /// A table drawn from `init` with PyTorch's fans of the `[VOCAB, DIM]` weight (fan-in
    /// `DIM`, fan-out `VOCAB`). PyTorch's own default is `Init::Normal(1.0)`.
    pub fn new(init: Init, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut layer = Self::zeros();
        init.fill(layer.weight.as_mut_slice(), DIM, VOCAB, rng);
        layer
    }

    /// The first id that is not below `VOCAB`, if any.
    pub fn check(ids: &[u32; STEPS]) -> Result<(), TokenError> {
        match ids.iter().position(|&id| id as usize >= VOCAB) {
            None => Ok(()),
            Some(step) => Err(TokenError {
                id: ids[step],
                step,
                vocab: VOCAB,
            }),
        }
    }

    /// [`forward`](Layer::forward) with the ids checked first: on an id ≥ `VOCAB`, returns
    /// the error and leaves `y` unchanged.
    pub fn try_forward(
        &self,
        ids: &[u32; STEPS],
        y: &mut SVector<T, OUT>,
    ) -> Result<(), TokenError> {
        Self::check(ids)?;
        self.forward(ids, y);
        Ok(())
    }

    /// Panics with the [`TokenError`] message when an id is out of range.
    #[inline]
    fn check_or_panic(ids: &[u32; STEPS]) {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        if let Err(e) = Self::check(ids) {
            panic!("{e}");
        }
    }
}

impl<T: Scalar, const STEPS: usize, const VOCAB: usize, const DIM: usize, const OUT: usize> Zeros
    for Embedding<T, STEPS, VOCAB, DIM, OUT>
{
    fn zeros() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Embedding {
            weight: SMatrix::zeros(),
        }
    }
}

impl<T: Scalar, const STEPS: usize, const VOCAB: usize, const DIM: usize, const OUT: usize>
    Params<T> for Embedding<T, STEPS, VOCAB, DIM, OUT>
{
    const TENSORS: usize = 1;
    const LEN: usize = VOCAB * DIM;

    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.weight.as_slice(),
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.weight.as_mut_slice(),
            _ => &mut [],
        }
    }

    fn tensor_info(_: usize) -> TensorInfo {
        TensorInfo {
            layer: "",
            name: "weight",
            shape: Shape::matrix(VOCAB, DIM),
            kind: TensorKind::Weight,
            fan_in: DIM,
            fan_out: VOCAB,
        }
    }
}

impl<T: Scalar, const STEPS: usize, const VOCAB: usize, const DIM: usize, const OUT: usize> Layer<T>
    for Embedding<T, STEPS, VOCAB, DIM, OUT>
{
    /// Token ids, each below `VOCAB`.
    type Input = [u32; STEPS];
    type Output = SVector<T, OUT>;
    type Record = NoRecord;
    type Grad = Self;
    const KIND: &'static str = "embedding";
    /// A lookup multiplies nothing.
    const MACS: usize = 0;

    /// Panics on an id ≥ `VOCAB` (see [`TokenError`]), before writing anything.
    #[inline]
    fn forward(&self, ids: &[u32; STEPS], y: &mut SVector<T, OUT>) {
        Self::check_or_panic(ids);
        let w = self.weight.as_slice();
        for (row, &id) in y.as_mut_slice().chunks_exact_mut(DIM).zip(ids) {
            row.copy_from_slice(&w[id as usize * DIM..][..DIM]);
        }
    }

    /// Adds each step's δ into its token's row; `dx` is ignored (token ids have no
    /// gradient). Panics on an id ≥ `VOCAB`, before adding anything.
    #[inline]
    fn backward(
        &self,
        ids: &[u32; STEPS],
        _y: &SVector<T, OUT>,
        _rec: &NoRecord,
        dy: &SVector<T, OUT>,
        _dx: Option<&mut [u32; STEPS]>,
        grad: &mut Self,
    ) {
        Self::check_or_panic(ids);
        let g = grad.weight.as_mut_slice();
        for (d, &id) in dy.as_slice().chunks_exact(DIM).zip(ids) {
            for (g, &d) in g[id as usize * DIM..][..DIM].iter_mut().zip(d) {
                *g += d;
            }
        }
    }
}

/// `Gather` of the ids' rows of the weight `[vocab, dim]`.
impl<T: Scalar, const STEPS: usize, const VOCAB: usize, const DIM: usize, const OUT: usize>
    crate::onnx::ToOnnx<T> for Embedding<T, STEPS, VOCAB, DIM, OUT>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let w = site.of("weight");
        g.tensor(w, &[VOCAB, DIM], &[self.weight.as_slice()]);
        g.node(
            "Gather",
            &[w, site.input],
            &[site.output],
            &[crate::onnx::Attr::Int("axis", 0)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer_params_at;
    use crate::layer::contract::check_forward_overwrites_at;
    use crate::layers::sequence_fixtures as fx;
    use crate::rng::SplitMix64;
    use std::format;
    use std::string::String;

    #[test]
    fn forward_and_backward_against_pytorch() {
        type E = Embedding<
            f64,
            { fx::EMB_STEPS },
            { fx::EMB_VOCAB },
            { fx::EMB_DIM },
            { fx::EMB_STEPS * fx::EMB_DIM },
        >;
        let mut emb = E::zeros();
        emb.weight.as_mut_slice().copy_from_slice(&fx::EMB_WEIGHT);
        let ids = fx::EMB_IDS;
        let mut y = SVector::zeros();
        emb.forward(&ids, &mut y);
        assert_eq!(y.as_slice(), &fx::EMB_Y[..]);
        let mut g = E::zeros();
        let dy = SVector::from_column_slice(&fx::EMB_DY);
        emb.backward(&ids, &y, &NoRecord, &dy, None, &mut g);
        for (i, (a, b)) in g.weight.iter().zip(&fx::EMB_DWEIGHT).enumerate() {
            assert!((a - b).abs() <= 1e-14, "dweight[{i}]: {a} vs {b}");
        }
        // Rows of ids that never occur stay exactly zero.
        for v in 0..fx::EMB_VOCAB {
            if !ids.contains(&(v as u32)) {
                assert!(g.weight.column(v).iter().all(|&x| x == 0.0));
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(41);
        let emb = Embedding::<f64, 5, 4, 3, 15>::new(Init::Normal(1.0), &mut rng);
        let r = crate::layer::contract::random(&mut rng);
        check_layer_params_at(&emb, &[3, 1, 3, 0, 3], &r);
    }

    #[test]
    fn forward_overwrites_its_output() {
        let mut rng = SplitMix64::new(42);
        let emb = Embedding::<f64, 4, 6, 5, 20>::new(Init::Normal(1.0), &mut rng);
        check_forward_overwrites_at(&emb, &[5, 0, 0, 2]);
    }

    #[test]
    fn out_of_range_ids_are_reported() {
        let emb = Embedding::<f32, 3, 4, 2, 6>::zeros();
        let mut y = SVector::repeat(7.0);
        let e = emb.try_forward(&[1, 3, 9], &mut y).unwrap_err();
        assert_eq!(
            e,
            TokenError {
                id: 9,
                step: 2,
                vocab: 4
            }
        );
        assert!(y.iter().all(|&v| v == 7.0));
        let message = std::panic::catch_unwind(|| {
            let mut y = SVector::zeros();
            emb.forward(&[4, 0, 0], &mut y);
        })
        .unwrap_err();
        let message = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            message,
            "embedding: token id at step 0 must be below the vocabulary size 4, found 4"
        );
        assert_eq!(
            format!("{e}"),
            "embedding: token id at step 2 must be below the vocabulary size 4, found 9"
        );
        assert!(emb.try_forward(&[3, 3, 0], &mut y).is_ok());
    }
}
