//! The element types a safetensors file may declare, and the decoding of the float ones.

use super::json::JsonStr;
use core::fmt;

/// A tensor's element type, as the header spells it (`"F32"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
///
/// Every dtype of the format parses, so a file is validated whole; only the four float types
/// ([`is_loadable`](Dtype::is_loadable)) load into a network.
pub enum Dtype {
    /// Booleans, one byte each.
    BOOL,
    /// Unsigned 8-bit integers.
    U8,
    /// Signed 8-bit integers.
    I8,
    /// 8-bit float, 5 exponent and 2 mantissa bits (not loadable).
    F8_E5M2,
    /// 8-bit float, 4 exponent and 3 mantissa bits (not loadable).
    F8_E4M3,
    /// Signed 16-bit integers.
    I16,
    /// Unsigned 16-bit integers.
    U16,
    /// IEEE binary16 (half precision); loadable.
    F16,
    /// bfloat16, the upper half of an f32; loadable.
    BF16,
    /// Signed 32-bit integers.
    I32,
    /// Unsigned 32-bit integers.
    U32,
    /// IEEE binary32; loadable, and what `f32` networks save.
    F32,
    /// Signed 64-bit integers.
    I64,
    /// Unsigned 64-bit integers.
    U64,
    /// IEEE binary64; loadable, and what `f64` networks save.
    F64,
}

const ALL: [(Dtype, &str); 15] = [
    (Dtype::BOOL, "BOOL"),
    (Dtype::U8, "U8"),
    (Dtype::I8, "I8"),
    (Dtype::F8_E5M2, "F8_E5M2"),
    (Dtype::F8_E4M3, "F8_E4M3"),
    (Dtype::I16, "I16"),
    (Dtype::U16, "U16"),
    (Dtype::F16, "F16"),
    (Dtype::BF16, "BF16"),
    (Dtype::I32, "I32"),
    (Dtype::U32, "U32"),
    (Dtype::F32, "F32"),
    (Dtype::I64, "I64"),
    (Dtype::U64, "U64"),
    (Dtype::F64, "F64"),
];

impl Dtype {
    /// The header's spelling of a dtype, if it is one.
    pub fn from_name(name: &str) -> Option<Dtype> {
        ALL.iter().find(|(_, n)| *n == name).map(|&(d, _)| d)
    }

    /// The dtype a header string names (escapes decoded), if any.
    pub fn from_json(name: &JsonStr<'_>) -> Option<Dtype> {
        ALL.iter().find(|(_, n)| name.eq_str(n)).map(|&(d, _)| d)
    }

    /// The header's spelling (`"BF16"`), also what `Display` prints.
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(d, _)| *d == self)
            .map_or("?", |&(_, n)| n)
    }

    /// Bytes per element.
    pub const fn size(self) -> usize {
        use Dtype::*;
        match self {
            BOOL | U8 | I8 | F8_E5M2 | F8_E4M3 => 1,
            I16 | U16 | F16 | BF16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 => 8,
        }
    }

    /// Whether loading converts it to a network's scalar: the IEEE and brain floats.
    pub const fn is_loadable(self) -> bool {
        matches!(self, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
    }

    /// Decodes one element of a loadable dtype or of `I64` (`bytes.len() == self.size()`);
    /// `None` for the others. Every value of the loadable dtypes is exactly representable in
    /// an `f64`.
    pub fn decode(self, b: &[u8]) -> Option<f64> {
        Some(match (self, b) {
            (Dtype::F64, &[a, b, c, d, e, f, g, h]) => f64::from_le_bytes([a, b, c, d, e, f, g, h]),
            (Dtype::F32, &[a, b, c, d]) => f64::from(f32::from_le_bytes([a, b, c, d])),
            (Dtype::BF16, &[a, b]) => {
                f64::from(f32::from_bits(u32::from(u16::from_le_bytes([a, b])) << 16))
            }
            (Dtype::F16, &[a, b]) => f16_to_f64(u16::from_le_bytes([a, b])),
            // Counts (batch norm's `num_batches_tracked`), exact up to 2^53.
            (Dtype::I64, &[a, b, c, d, e, f, g, h]) => {
                i64::from_le_bytes([a, b, c, d, e, f, g, h]) as f64
            }
            _ => return None,
        })
    }

    /// [`decode`](Dtype::decode) as a `const fn`, of the element at byte `at` (which must be
    /// in bounds); 0 for the dtypes `decode` refuses. `network!`'s `#[weights]` decodes with
    /// it at compile time, so the baked values are the ones a run-time load gives.
    pub const fn decode_at(self, b: &[u8], at: usize) -> f64 {
        // Byte by byte rather than through a loop: const evaluation interprets every step,
        // and this runs once per baked value.
        match self {
            Dtype::F64 => f64::from_le_bytes([
                b[at],
                b[at + 1],
                b[at + 2],
                b[at + 3],
                b[at + 4],
                b[at + 5],
                b[at + 6],
                b[at + 7],
            ]),
            Dtype::F32 => f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as f64,
            Dtype::BF16 => {
                f32::from_bits((u16::from_le_bytes([b[at], b[at + 1]]) as u32) << 16) as f64
            }
            Dtype::F16 => f16_to_f64(u16::from_le_bytes([b[at], b[at + 1]])),
            Dtype::I64 => i64::from_le_bytes([
                b[at],
                b[at + 1],
                b[at + 2],
                b[at + 3],
                b[at + 4],
                b[at + 5],
                b[at + 6],
                b[at + 7],
            ]) as f64,
            _ => 0.0,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// IEEE binary16 to f64, exactly: subnormals, infinities and NaN included.
pub const fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1F) as i32;
    let frac = (h & 0x3FF) as f64;
    let mag = match exp {
        0 => frac * pow2(-24),
        0x1F if frac == 0.0 => f64::INFINITY,
        0x1F => f64::NAN,
        e => (1024.0 + frac) * pow2(e - 25),
    };
    sign * mag
}

/// 2^e for the small exponents f16 needs, without `std`'s `powi`.
const fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}
