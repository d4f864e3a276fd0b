//! The int8 twin's byte form, so a trained model can be baked into flash: a `static` decoded
//! from `include_bytes!` by a `const fn` at compile time, with no start-up work.
//!
//! The layout is a header of [`MAGIC`] and the architecture's fingerprint (a hash of every
//! layer's name and type, which the macro computes), then every field in declaration order:
//! i8 as one byte, i32 and f32 as four little-endian bytes. A file made for another
//! architecture, or cut short, is refused: at compile time in a `static`, as a [`FormatError`]
//! at run time.

/// The first eight bytes.
pub const MAGIC: [u8; 8] = *b"SNINT8\0\x01";

/// The header's length: the magic and the fingerprint.
pub const HEADER: usize = 16;

/// Why bytes are not an int8 model of this architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// They do not start with [`MAGIC`].
    NotInt8,
    /// They were written for another architecture (another fingerprint).
    OtherArchitecture,
    /// Their length is not the architecture's.
    WrongLength {
        /// The architecture's length.
        expected: usize,
        /// The length given.
        found: usize,
    },
}

impl FormatError {
    /// The error as a sentence, usable in `const` panics.
    pub const fn message(&self) -> &'static str {
        match self {
            FormatError::NotInt8 => "these bytes are not an int8 model (wrong magic)",
            FormatError::OtherArchitecture => {
                "these bytes are an int8 model of another architecture (the fingerprint differs)"
            }
            FormatError::WrongLength { .. } => {
                "these bytes are not as long as an int8 model of this architecture"
            }
        }
    }
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FormatError::WrongLength { expected, found } => write!(
                f,
                "{}: expected {expected} bytes, found {found}",
                self.message()
            ),
            _ => f.write_str(self.message()),
        }
    }
}

/// Reads fields in order; every method is a `const fn`, so decoding runs at compile time.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Checks the header against `fingerprint` and the length against `len`.
    pub const fn new(bytes: &'a [u8], fingerprint: u64, len: usize) -> Result<Self, FormatError> {
        if bytes.len() < HEADER {
            return Err(FormatError::NotInt8);
        }
        let mut i = 0;
        while i < MAGIC.len() {
            if bytes[i] != MAGIC[i] {
                return Err(FormatError::NotInt8);
            }
            i += 1;
        }
        let r = Reader { bytes, at: 8 };
        let (hi, r) = r.i32();
        let (lo, r) = r.i32();
        if ((hi as u32 as u64) << 32 | lo as u32 as u64) != fingerprint {
            return Err(FormatError::OtherArchitecture);
        }
        if bytes.len() != len {
            return Err(FormatError::WrongLength {
                expected: len,
                found: bytes.len(),
            });
        }
        Ok(r)
    }

    /// The next int8 value.
    pub const fn i8(self) -> (i8, Self) {
        (self.bytes[self.at] as i8, self.skip(1))
    }

    /// The next int32 value, little-endian.
    pub const fn i32(self) -> (i32, Self) {
        let b = self.bytes;
        let at = self.at;
        let v = i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        (v, self.skip(4))
    }

    /// The next f32 value, little-endian.
    pub const fn f32(self) -> (f32, Self) {
        let (bits, r) = self.i32();
        (f32::from_bits(bits as u32), r)
    }

    /// `N` int8 values.
    pub const fn i8s<const N: usize>(self) -> ([i8; N], Self) {
        let mut out = [0i8; N];
        let mut i = 0;
        while i < N {
            out[i] = self.bytes[self.at + i] as i8;
            i += 1;
        }
        (out, self.skip(N))
    }

    /// `N` int32 values.
    pub const fn i32s<const N: usize>(self) -> ([i32; N], Self) {
        let mut out = [0i32; N];
        let mut r = self;
        let mut i = 0;
        while i < N {
            let (v, next) = r.i32();
            out[i] = v;
            r = next;
            i += 1;
        }
        (out, r)
    }

    const fn skip(self, n: usize) -> Self {
        Reader {
            bytes: self.bytes,
            at: self.at + n,
        }
    }
}

/// Writes fields in order into a byte slice of the model's length.
pub struct Writer<'a> {
    bytes: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    /// Writes the header; `bytes` must be the architecture's length (the caller checks).
    pub fn new(bytes: &'a mut [u8], fingerprint: u64) -> Self {
        bytes[..8].copy_from_slice(&MAGIC);
        let mut w = Writer { bytes, at: 8 };
        w.i32((fingerprint >> 32) as u32 as i32);
        w.i32(fingerprint as u32 as i32);
        w
    }

    /// Writes an int8 value.
    pub fn i8(&mut self, v: i8) {
        self.bytes[self.at] = v as u8;
        self.at += 1;
    }

    /// Writes an int32 value, little-endian.
    pub fn i32(&mut self, v: i32) {
        self.bytes[self.at..self.at + 4].copy_from_slice(&v.to_le_bytes());
        self.at += 4;
    }

    /// Writes an f32 value, little-endian.
    pub fn f32(&mut self, v: f32) {
        self.i32(v.to_bits() as i32);
    }

    /// Writes int8 values.
    pub fn i8s(&mut self, vs: &[i8]) {
        for &v in vs {
            self.i8(v);
        }
    }

    /// Writes int32 values.
    pub fn i32s(&mut self, vs: &[i32]) {
        for &v in vs {
            self.i32(v);
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.at
    }

    /// Whether nothing is written (never: the header is).
    pub fn is_empty(&self) -> bool {
        self.at == 0
    }
}

/// A field of an int8 model in byte form. The `const fn` reading it back is an inherent
/// `decode` on each type (trait methods cannot be `const` on stable Rust).
pub trait Encode {
    /// Its length in bytes.
    const BYTES: usize;
    /// Writes the field.
    fn encode(&self, w: &mut Writer<'_>);
}

/// FNV-1a over `text`: the fingerprint the macro computes from an architecture's description.
pub const fn fingerprint(text: &str) -> u64 {
    let b = text.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_headers_are_checked() {
        let mut buf = [0u8; HEADER + 1 + 4 + 4 + 2];
        let fp = fingerprint("net");
        let mut w = Writer::new(&mut buf, fp);
        w.i8(-3);
        w.i32(-70_000);
        w.f32(0.25);
        w.i8s(&[5, -6]);
        assert_eq!(w.len(), buf.len());
        let r = Reader::new(&buf, fp, buf.len()).unwrap();
        let (a, r) = r.i8();
        let (b, r) = r.i32();
        let (c, r) = r.f32();
        let (d, _) = r.i8s::<2>();
        assert_eq!((a, b, c, d), (-3, -70_000, 0.25, [5, -6]));
        let other = fingerprint("other net");
        assert_ne!(fp, other);
        assert_eq!(
            Reader::new(&buf, other, buf.len()).err(),
            Some(FormatError::OtherArchitecture)
        );
        assert_eq!(
            Reader::new(&buf[..HEADER + 3], fp, buf.len()).err(),
            Some(FormatError::WrongLength {
                expected: buf.len(),
                found: HEADER + 3
            })
        );
        assert_eq!(
            Reader::new(&buf[..5], fp, 5).err(),
            Some(FormatError::NotInt8)
        );
        buf[0] = b'X';
        assert_eq!(
            Reader::new(&buf, fp, buf.len()).err(),
            Some(FormatError::NotInt8)
        );
    }

    #[test]
    fn fingerprint_is_fnv1a() {
        // FNV-1a's published test vectors.
        assert_eq!(fingerprint(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
