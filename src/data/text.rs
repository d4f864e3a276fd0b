//! Character-level text: a plain or gzip-compressed file read as token ids over a fixed
//! alphabet of 96 symbols (newline, then printable ASCII from space to `~`), for language
//! models, and the bigram baseline they are judged against.
//!
//! The alphabet is fixed rather than collected from the text so that a model's vocabulary is
//! a constant of its declaration (`embedding(96, …)`, `dense(96)`), whatever it is trained on.

use flate2::read::GzDecoder;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Symbols of the alphabet: `'\n'` is id 0, `' '..='~'` are ids 1 to 95.
pub const ALPHABET: usize = 96;

/// The id of `c`, or `None` outside the alphabet.
pub fn encode(c: char) -> Option<u32> {
    match c {
        '\n' => Some(0),
        ' '..='~' => Some(c as u32 - ' ' as u32 + 1),
        _ => None,
    }
}

/// The symbol of `id` (`'?'` for an id outside the alphabet).
pub fn decode(id: u32) -> char {
    match id {
        0 => '\n',
        1..=95 => char::from(b' ' + (id - 1) as u8),
        _ => '?',
    }
}

/// A text that cannot be read as a corpus.
#[derive(Debug)]
pub enum TextError {
    /// The file could not be read, or its gzip stream is corrupt.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// Not UTF-8 (after decompression).
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A character outside the 96-symbol alphabet, with its byte offset.
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The character.
        ch: char,
        /// Its byte offset in the decompressed text.
        offset: usize,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            TextError::NotUtf8 { path } => write!(f, "{}: not UTF-8 text", path.display()),
            TextError::Unsupported { path, ch, offset } => write!(
                f,
                "{}: character {ch:?} at byte {offset} is outside the alphabet (newline and printable ASCII)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for TextError {}

/// A text as token ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corpus {
    /// One id per character, each below 96 (`'\n'` is 0, `' '..='~'` are 1 to 95).
    pub ids: Vec<u32>,
}

impl Corpus {
    /// Reads `path`, gzip-compressed or plain (the first bytes decide).
    pub fn load(path: impl AsRef<Path>) -> Result<Corpus, TextError> {
        let path = path.as_ref();
        let io = |error| TextError::Io {
            path: path.to_path_buf(),
            error,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            GzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .map_err(io)?;
            out
        } else {
            bytes
        };
        let text = String::from_utf8(bytes).map_err(|_| TextError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        Corpus::parse(&text).map_err(|(ch, offset)| TextError::Unsupported {
            path: path.to_path_buf(),
            ch,
            offset,
        })
    }

    /// The ids of `text`, or the first character outside the alphabet and its byte offset.
    pub fn parse(text: &str) -> Result<Corpus, (char, usize)> {
        text.char_indices()
            .map(|(at, c)| encode(c).ok_or((c, at)))
            .collect::<Result<_, _>>()
            .map(|ids| Corpus { ids })
    }

    /// The bundled State of the Union addresses of 1790–1821 (`data/sotu`, public domain).
    pub fn bundled_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join("sotu")
            .join("sotu-1790-1821.txt.gz")
    }

    /// Number of characters.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The first `fraction` of the text and the rest (contiguous, so no passage is in both).
    pub fn split(&self, fraction: f64) -> (Corpus, Corpus) {
        let at = ((self.len() as f64 * fraction) as usize).min(self.len());
        (
            Corpus {
                ids: self.ids[..at].to_vec(),
            },
            Corpus {
                ids: self.ids[at..].to_vec(),
            },
        )
    }

    /// The text back from its ids.
    pub fn text(&self) -> String {
        self.ids.iter().map(|&id| decode(id)).collect()
    }
}

/// A bigram model with add-one smoothing: P(b | a) = (count(a b) + 1) / (count(a) + 96).
pub struct Bigram {
    counts: Vec<[u32; ALPHABET]>,
}

impl Bigram {
    /// Counts every pair of adjacent characters in `train`.
    pub fn fit(train: &Corpus) -> Bigram {
        let mut counts = vec![[0u32; ALPHABET]; ALPHABET];
        for pair in train.ids.windows(2) {
            counts[pair[0] as usize][pair[1] as usize] += 1;
        }
        Bigram { counts }
    }

    /// P(next | prev).
    pub fn probability(&self, prev: u32, next: u32) -> f64 {
        let row = &self.counts[prev as usize];
        let total: u64 = row.iter().map(|&c| c as u64).sum();
        (row[next as usize] as f64 + 1.0) / (total as f64 + ALPHABET as f64)
    }

    /// exp of the mean negative log-likelihood of each symbol of `text` given the one before.
    pub fn perplexity(&self, text: &Corpus) -> f64 {
        let pairs = text.ids.windows(2);
        let n = pairs.len().max(1) as f64;
        let nll: f64 = pairs.map(|p| -self.probability(p[0], p[1]).ln()).sum();
        (nll / n).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_round_trips() {
        for id in 0..ALPHABET as u32 {
            assert_eq!(encode(decode(id)), Some(id));
        }
        assert_eq!(encode('\n'), Some(0));
        assert_eq!(encode(' '), Some(1));
        assert_eq!(encode('~'), Some(95));
        assert_eq!(encode('é'), None);
        assert_eq!(Corpus::parse("ab\né"), Err(('é', 3)));
    }

    /// On "abab…", b always follows a: P(b | a) = (n + 1) / (n + 96) by the formula.
    #[test]
    fn bigram_probabilities_follow_the_formula() {
        let text = Corpus::parse(&"ab".repeat(50)).unwrap();
        let model = Bigram::fit(&text);
        let (a, b) = (encode('a').unwrap(), encode('b').unwrap());
        assert!((model.probability(a, b) - 51.0 / 146.0).abs() < 1e-15);
        assert!((model.probability(a, a) - 1.0 / 146.0).abs() < 1e-15);
        // Every row sums to 1.
        let sum: f64 = (0..ALPHABET as u32).map(|n| model.probability(a, n)).sum();
        assert!((sum - 1.0).abs() < 1e-12);
        // Perplexity of "ab" alone: one pair, P(b | a).
        let ab = Corpus::parse("ab").unwrap();
        assert!((model.perplexity(&ab) - 146.0 / 51.0).abs() < 1e-12);
    }

    #[test]
    fn the_bundled_text_loads() {
        let corpus = Corpus::load(Corpus::bundled_path()).unwrap();
        assert_eq!(corpus.len(), 526_384);
        assert!(corpus.text().starts_with("Fellow-Citizens of the Senate"));
    }
}
