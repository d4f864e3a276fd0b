//! The little JSON a safetensors header needs: a cursor over the header's bytes that reads
//! strings, non-negative integers and punctuation, and skips any other value.
//!
//! Nothing is allocated and nothing recurses: skipping a nested value keeps its open brackets
//! in a 64-bit stack, so a header of a million `[` fails with an error instead of a stack
//! overflow.

use core::fmt;

/// Deepest nesting the header's parser accepts in a value it skips (one bit of the bracket
/// stack per level).
pub const MAX_DEPTH: usize = 64;

/// What is wrong with the header's JSON, and where (a byte offset into the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the fault from the header's first byte (after the 8-byte length).
    pub offset: usize,
    /// What was expected or found there (`"expected `:`"`).
    pub reason: &'static str,
}

/// A JSON string as it appears between its quotes, escapes not yet decoded. The cursor has
/// validated it, so decoding cannot fail.
#[derive(Clone, Copy, Debug)]
pub struct JsonStr<'a>(&'a str);

impl<'a> JsonStr<'a> {
    /// Wraps the text between a string's quotes; `None` unless it is a valid JSON string's.
    pub fn new(raw: &'a str) -> Option<Self> {
        let mut c = Cursor { text: raw, pos: 0 };
        c.string_body(true).ok().filter(|s| s.0.len() == raw.len())
    }

    /// The text between the quotes, escapes included.
    pub fn raw(&self) -> &'a str {
        self.0
    }

    /// The decoded characters.
    pub fn chars(&self) -> Chars<'a> {
        Chars(self.0.chars())
    }

    /// Whether the decoded string equals the concatenation of `parts` (a name can be
    /// compared with `layer`, `"."`, `name` without building it).
    pub fn eq_parts(&self, parts: &[&str]) -> bool {
        let mut mine = self.chars();
        for part in parts {
            for c in part.chars() {
                if mine.next() != Some(c) {
                    return false;
                }
            }
        }
        mine.next().is_none()
    }

    /// Whether the decoded string equals `s`.
    pub fn eq_str(&self, s: &str) -> bool {
        self.eq_parts(&[s])
    }
}

/// Equal when the decoded strings are: `"fc\u002ebias"` is `"fc.bias"`.
impl PartialEq<JsonStr<'_>> for JsonStr<'_> {
    fn eq(&self, other: &JsonStr<'_>) -> bool {
        self.chars().eq(other.chars())
    }
}

impl Eq for JsonStr<'_> {}

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.chars() {
            f.write_char(c)?;
        }
        Ok(())
    }
}

/// The decoded characters of a validated [`JsonStr`].
#[derive(Clone, Debug)]
pub struct Chars<'a>(core::str::Chars<'a>);

impl Iterator for Chars<'_> {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        let c = self.0.next()?;
        if c != '\\' {
            return Some(c);
        }
        Some(match self.0.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut self.0)?;
                if (0xD800..0xDC00).contains(&hi) {
                    // Validated: a low surrogate escape follows.
                    self.0.next()?;
                    self.0.next()?;
                    let lo = hex4(&mut self.0)?;
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                    char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
                } else {
                    char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
            }
            other => other, // `"`, `\`, `/`
        })
    }
}

fn hex4(it: &mut core::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + it.next()?.to_digit(16)?;
    }
    Some(v)
}

/// A position in the header's bytes (already checked to be UTF-8).
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos` (a position an earlier cursor over the same text reported).
    pub fn skip_to(&mut self, pos: usize) {
        self.pos = pos.min(self.text.len());
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    pub fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
        }
    }

    /// Skips whitespace and returns the next byte without taking it.
    pub fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes().get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Takes `c` (after whitespace) or fails with `reason`.
    pub fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// Takes `c` if it comes next.
    pub fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// After a member or element: `true` at `close`, `false` after a comma (then another
    /// member must follow, so `[1,]` is refused).
    pub fn end_or_comma(&mut self, close: u8, reason: &'static str) -> Result<bool, JsonError> {
        if self.eat(close) {
            Ok(true)
        } else if self.eat(b',') {
            Ok(false)
        } else {
            Err(self.error(reason))
        }
    }

    /// Whether only whitespace remains.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Reads a string, validating its escapes and refusing raw control characters.
    pub fn string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        self.expect(b'"', "expected a string")?;
        let s = self.string_body(false)?;
        self.pos += 1;
        Ok(s)
    }

    /// A string's contents up to (not taking) its closing quote, or to the end of the text
    /// when `whole` (a bare string's contents).
    fn string_body(&mut self, whole: bool) -> Result<JsonStr<'a>, JsonError> {
        let start = self.pos;
        let b = self.bytes();
        loop {
            match b.get(self.pos) {
                None if whole => break,
                Some(b'"') if whole => return Err(self.error("unescaped quote")),
                None => return Err(self.error("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.pos += 1;
                    match b.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.error("lone low surrogate in a string"));
                            }
                            if (0xD800..0xDC00).contains(&hi) {
                                if b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.error("lone high surrogate in a string"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error("lone high surrogate in a string"));
                                }
                            }
                        }
                        _ => return Err(self.error("invalid escape in a string")),
                    }
                }
                Some(&c) if c < 0x20 => {
                    return Err(self.error("control character in a string"));
                }
                Some(_) => self.pos += 1,
            }
        }
        Ok(JsonStr(&self.text[start..self.pos]))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = self
                .bytes()
                .get(self.pos)
                .and_then(|&c| (c as char).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape in a string"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads a non-negative integer that fits a `u64` (shapes and offsets).
    pub fn uint(&mut self) -> Result<u64, JsonError> {
        let start = match self.peek() {
            Some(b'0'..=b'9') => self.pos,
            _ => return Err(self.error("expected a non-negative integer")),
        };
        let b = self.bytes();
        let mut v: u64 = 0;
        while let Some(&c @ b'0'..=b'9') = b.get(self.pos) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or_else(|| self.error("integer too large for 64 bits"))?;
            self.pos += 1;
        }
        if b[start] == b'0' && self.pos - start > 1 {
            return Err(JsonError {
                offset: start,
                reason: "leading zero in a number",
            });
        }
        if matches!(b.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return Err(self.error("expected a non-negative integer"));
        }
        Ok(v)
    }

    /// Skips any JSON value, nesting included, without recursion.
    pub fn skip_value(&mut self) -> Result<(), JsonError> {
        // Bit i of `stack` is 1 when level i is an object, 0 for an array.
        let (mut stack, mut depth) = (0u64, 0usize);
        loop {
            // A value.
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(self.error("JSON nested too deeply"));
                    }
                    self.pos += 1;
                    let object = open == b'{';
                    stack = (stack << 1) | u64::from(object);
                    depth += 1;
                    let close = if object { b'}' } else { b']' };
                    if !self.eat(close) {
                        if object {
                            self.member_key()?;
                        }
                        continue;
                    }
                    depth -= 1;
                    stack >>= 1;
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                _ => return Err(self.error("expected a JSON value")),
            }
            // After a value: close levels or move to the next element.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = stack & 1 == 1;
                let close = if object { b'}' } else { b']' };
                if self.end_or_comma(close, "expected `,` or a closing bracket")? {
                    depth -= 1;
                    stack >>= 1;
                } else {
                    if object {
                        self.member_key()?;
                    }
                    break;
                }
            }
        }
    }

    fn member_key(&mut self) -> Result<(), JsonError> {
        self.string()?;
        self.expect(b':', "expected `:` after a key")
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let b = self.bytes();
        let digits = |pos: &mut usize| {
            let start = *pos;
            while matches!(b.get(*pos), Some(b'0'..=b'9')) {
                *pos += 1;
            }
            *pos - start
        };
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        let int_start = p;
        let n = digits(&mut p);
        if n == 0 || (b[int_start] == b'0' && n > 1) {
            return Err(self.error("malformed number"));
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            if digits(&mut p) == 0 {
                return Err(self.error("malformed number"));
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if digits(&mut p) == 0 {
                return Err(self.error("malformed number"));
            }
        }
        self.pos = p;
        Ok(())
    }
}
