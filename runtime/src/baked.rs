//! Networks baked into read-only memory: the `const fn`s with which `#[weights = "…"]`
//! decodes a safetensors file at compile time, for `f32` and `f64` networks.
//!
//! `network!` reads the file when it expands, checks every tensor's name, shape and dtype
//! against the declaration (a mismatch is a compile error on the attribute), and emits a
//! constant whose every tensor is one call here, at the tensor's byte offset in
//! `include_bytes!` of the same file. Values convert as [`load_state`] converts them (through
//! `f64`, then to the scalar), so a baked network is bit-equal to one loaded at run time.
//!
//! Each decoder fills the runtime's own storage of a tensor: a column-major `SMatrix<T, R, C>`
//! holds PyTorch's row-major `[C, R]` (a dense weight `[out, in]` is `SMatrix<T, in, out>`),
//! nested arrays hold row-major tensors of any rank as they are.
//!
//! [`load_state`]: crate::safetensors::load_state

pub use crate::safetensors::Dtype;

macro_rules! decoders {
    ($t:ident) => {
        #[doc = concat!("Decoders into `", stringify!($t), "` tensors.")]
        pub mod $t {
            use super::Dtype;
            use nalgebra::{ArrayStorage, SMatrix};

            /// Element `i` of the tensor at byte `at`.
            const fn element(bytes: &[u8], at: usize, dtype: Dtype, i: usize) -> $t {
                dtype.decode_at(bytes, at + i * dtype.size()) as $t
            }

            /// The `R × C` matrix whose memory order is the tensor's (PyTorch's `[C, R]`).
            pub const fn matrix<const R: usize, const C: usize>(
                bytes: &[u8],
                at: usize,
                dtype: Dtype,
            ) -> SMatrix<$t, R, C> {
                let mut data = [[0.0; R]; C];
                let mut c = 0;
                while c < C {
                    let mut r = 0;
                    while r < R {
                        data[c][r] = element(bytes, at, dtype, c * R + r);
                        r += 1;
                    }
                    c += 1;
                }
                SMatrix::from_array_storage(ArrayStorage(data))
            }

            /// A matrix of zeros: a tensor the file has no values for (a bias turned off).
            pub const fn zeros<const R: usize, const C: usize>() -> SMatrix<$t, R, C> {
                SMatrix::from_array_storage(ArrayStorage([[0.0; R]; C]))
            }

            /// A tensor of `N` values (a count, stored as `[T; 1]`).
            pub const fn array<const N: usize>(bytes: &[u8], at: usize, dtype: Dtype) -> [$t; N] {
                let mut out = [0.0; N];
                let mut i = 0;
                while i < N {
                    out[i] = element(bytes, at, dtype, i);
                    i += 1;
                }
                out
            }

            /// A row-major `[A, B]` tensor as nested arrays.
            pub const fn array2<const A: usize, const B: usize>(
                bytes: &[u8],
                at: usize,
                dtype: Dtype,
            ) -> [[$t; B]; A] {
                let mut out = [[0.0; B]; A];
                let mut a = 0;
                while a < A {
                    let mut b = 0;
                    while b < B {
                        out[a][b] = element(bytes, at, dtype, a * B + b);
                        b += 1;
                    }
                    a += 1;
                }
                out
            }

            /// A row-major `[A, B, C]` tensor as nested arrays (a recurrent layer's weights,
            /// `[gates·hidden, in]`, as `[[[T; in]; hidden]; gates]`).
            pub const fn array3<const A: usize, const B: usize, const C: usize>(
                bytes: &[u8],
                at: usize,
                dtype: Dtype,
            ) -> [[[$t; C]; B]; A] {
                let mut out = [[[0.0; C]; B]; A];
                let mut a = 0;
                while a < A {
                    let mut b = 0;
                    while b < B {
                        let mut c = 0;
                        while c < C {
                            out[a][b][c] = element(bytes, at, dtype, (a * B + b) * C + c);
                            c += 1;
                        }
                        b += 1;
                    }
                    a += 1;
                }
                out
            }
        }
    };
}

decoders!(f32);
decoders!(f64);

/// Whether `bytes` is `len` long: the generated constant checks that the file it includes is
/// the one the macro read (the two can only differ if the file changed during the build).
pub const fn same_file(bytes: &[u8], len: usize) -> bool {
    bytes.len() == len
}

#[cfg(test)]
mod tests {
    use super::*;

    /// F32 values 1..=6 as bytes, after two bytes of padding.
    fn bytes() -> std::vec::Vec<u8> {
        let mut b = std::vec![0xAA, 0xBB];
        for v in 1..=6 {
            b.extend_from_slice(&(v as f32).to_le_bytes());
        }
        b
    }

    #[test]
    fn a_matrix_holds_the_row_major_tensor_transposed() {
        // PyTorch [3, 2] = [[1, 2], [3, 4], [5, 6]] is the runtime's 2 × 3 column-major.
        let m = f32::matrix::<2, 3>(&bytes(), 2, Dtype::F32);
        assert_eq!(m[(0, 0)], 1.0);
        assert_eq!(m[(1, 0)], 2.0);
        assert_eq!(m[(0, 2)], 5.0);
        assert_eq!(m[(1, 2)], 6.0);
        assert_eq!(
            f32::zeros::<2, 3>(),
            nalgebra::SMatrix::<f32, 2, 3>::zeros()
        );
    }

    #[test]
    fn nested_arrays_keep_the_row_major_order() {
        let b = bytes();
        assert_eq!(f64::array::<3>(&b, 6, Dtype::F32), [2.0, 3.0, 4.0]);
        assert_eq!(
            f64::array2::<3, 2>(&b, 2, Dtype::F32),
            [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
        );
        assert_eq!(
            f32::array3::<3, 1, 2>(&b, 2, Dtype::F32),
            [[[1.0, 2.0]], [[3.0, 4.0]], [[5.0, 6.0]]]
        );
    }

    #[test]
    fn every_loadable_dtype_decodes_as_a_run_time_load_does() {
        // 1.5 and −2.25 in each dtype, by hand: BF16 and F16 bit patterns from their formulas.
        let cases: [(Dtype, std::vec::Vec<u8>); 5] = [
            (
                Dtype::F64,
                [1.5f64.to_le_bytes(), (-2.25f64).to_le_bytes()].concat(),
            ),
            (
                Dtype::F32,
                [1.5f32.to_le_bytes(), (-2.25f32).to_le_bytes()].concat(),
            ),
            // bf16: the upper half of the f32 bits (0x3FC0_0000, 0xC010_0000).
            (
                Dtype::BF16,
                [0x3FC0u16.to_le_bytes(), 0xC010u16.to_le_bytes()].concat(),
            ),
            // f16: sign, 5-bit exponent biased by 15, 10-bit fraction: 1.5 = 0x3E00,
            // −2.25 = 1 10000 0010000000 = 0xC080.
            (
                Dtype::F16,
                [0x3E00u16.to_le_bytes(), 0xC080u16.to_le_bytes()].concat(),
            ),
            (
                Dtype::I64,
                [1i64.to_le_bytes(), (-2i64).to_le_bytes()].concat(),
            ),
        ];
        for (dtype, b) in cases {
            let got = f64::array::<2>(&b, 0, dtype);
            let want = if dtype == Dtype::I64 {
                [1.0, -2.0]
            } else {
                [1.5, -2.25]
            };
            assert_eq!(got, want, "{dtype}");
            let run_time: std::vec::Vec<f64> = b
                .chunks_exact(dtype.size())
                .map(|c| dtype.decode(c).unwrap())
                .collect();
            assert_eq!(got.to_vec(), run_time, "{dtype}");
        }
    }

    #[test]
    fn decoding_runs_at_compile_time() {
        const B: [u8; 8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]; // 1.0f32, 2.0f32
        const M: nalgebra::SMatrix<f32, 2, 1> = f32::matrix::<2, 1>(&B, 0, Dtype::F32);
        assert_eq!(M.as_slice(), &[1.0, 2.0]);
        const { assert!(same_file(&B, 8)) };
    }
}
