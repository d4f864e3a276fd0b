//! The little protobuf ONNX needs: varints, length-delimited fields and fixed32 floats,
//! written into a growing buffer. Nested messages are written whole, then copied in behind
//! their length.

/// A message being written.
#[derive(Default)]
pub struct Message(pub Vec<u8>);

const VARINT: u64 = 0;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u64, wire: u64) {
        self.varint(field << 3 | wire);
    }

    /// An `int32`/`int64` field (two's complement, as protobuf encodes negative values).
    pub fn int(&mut self, field: u64, v: i64) -> &mut Self {
        self.key(field, VARINT);
        self.varint(v as u64);
        self
    }

    /// A `float` field.
    pub fn float(&mut self, field: u64, v: f32) -> &mut Self {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A `string` or `bytes` field.
    pub fn bytes(&mut self, field: u64, v: &[u8]) -> &mut Self {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    pub fn string(&mut self, field: u64, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    /// An embedded message field.
    pub fn message(&mut self, field: u64, m: &Message) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn encodings_are_protobufs() {
        // From the protobuf encoding guide: field 1 = 150 is 08 96 01; field 2 = "testing"
        // is 12 07 74 65 73 74 69 6e 67.
        let mut m = Message::default();
        m.int(1, 150).string(2, "testing");
        assert_eq!(
            m.0,
            [0x08, 0x96, 0x01, 0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        // −1 as int64 is ten bytes of varint; 1.0f32 on field 2 is key 0x15 and 00 00 80 3f.
        let mut m = Message::default();
        m.int(3, -1).float(2, 1.0);
        assert_eq!(m.0[0], 0x18);
        assert_eq!(
            &m.0[1..11],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        );
        assert_eq!(&m.0[11..], &[0x15, 0x00, 0x00, 0x80, 0x3F]);
        // A nested message is a length-delimited field: field 3 = {field 1 = 150}.
        let mut inner = Message::default();
        inner.int(1, 150);
        let mut outer = Message::default();
        outer.message(3, &inner);
        assert_eq!(outer.0, [0x1A, 0x03, 0x08, 0x96, 0x01]);
    }
}
