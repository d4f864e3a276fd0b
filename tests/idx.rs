//! The IDX loader and the MNIST dataset on the bundled files and on good, truncated, corrupt
//! and hostile files written by the tests themselves.
//!
//! A counting global allocator records, per thread, the peak of live heap bytes while a call
//! runs, so the hostile-header tests can show that nothing a header claims gets allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use stacknet::data::idx::{self, IdxKind, Part, MAX_PAYLOAD_BYTES};
use stacknet::data::mnist::{self, MnistSplit};
use stacknet::data::{IdxError, ImageSplit, Mnist};
use stacknet::nalgebra::SVector;

// ---------------------------------------------------------------------------------------
// Peak heap use of the current thread (other test threads allocate concurrently).

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    // `try_with`: the allocator may run while a thread's locals are being torn down.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let live = LIVE.with(|l| {
                l.set(l.get() + delta);
                l.get()
            });
            PEAK.with(|p| p.set(p.get().max(live)));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result, the peak of extra live heap bytes during it, and its time.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, Duration) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ARMED.with(|a| a.set(true));
    let start = Instant::now();
    let r = f();
    let elapsed = start.elapsed();
    ARMED.with(|a| a.set(false));
    (r, PEAK.with(Cell::get) as usize, elapsed)
}

const FEW_MB: usize = 4 << 20;

// ---------------------------------------------------------------------------------------
// Helpers: IDX bytes written by hand, gzip, scratch directories.

/// An IDX file: zero, zero, element type, rank, big-endian dimensions, payload.
fn idx_bytes(element_type: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, element_type, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend_from_slice(payload);
    v
}

fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    idx_bytes(0x08, &[count, rows, cols], pixels)
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    idx_bytes(0x08, &[labels.len() as u32], labels)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Pixels that differ from image to image and from place to place.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 13) as u8).collect()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("stacknet-idx-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
}

// ---------------------------------------------------------------------------------------
// The bundled sample.

/// The class counts as the data's README states them ("Class counts: 0:1001 1:1127 …").
fn readme_class_counts() -> [usize; 10] {
    let readme = fs::read_to_string(bundled().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("Class counts:"))
        .expect("class counts line");
    let mut counts = [usize::MAX; 10];
    for item in line["Class counts:".len()..].split_whitespace() {
        let (class, n) = item.trim_end_matches('.').split_once(':').unwrap();
        counts[class.parse::<usize>().unwrap()] = n.parse().unwrap();
    }
    assert!(
        counts.iter().all(|&c| c != usize::MAX),
        "README lists every class: {counts:?}"
    );
    counts
}

#[test]
fn bundled_sample_matches_its_readme() {
    let expected = readme_class_counts();
    assert_eq!(expected.iter().sum::<usize>(), 10_000);

    let images = idx::load_images(bundled().join("mnist-10k-images-idx3-ubyte.gz")).unwrap();
    let labels = idx::load_labels(bundled().join("mnist-10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(
        (images.count(), images.rows(), images.cols()),
        (10_000, 28, 28)
    );
    assert_eq!(images.pixels().len(), 10_000 * 784);
    let mut counts = [0usize; 10];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, expected);

    let data = Mnist::load_bundled(Mnist::bundled_dir()).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (8_000, 2_000));
    let (train, test) = (data.train.class_counts(), data.test.class_counts());
    let sum: Vec<usize> = (0..10).map(|c| train[c] + test[c]).collect();
    assert_eq!(sum, expected);
    // The split is contiguous: test sample 0 is sample 8000 of the files.
    assert_eq!(data.test.labels()[0], labels[8_000]);
    assert_eq!(data.test.images().image(0), images.image(8_000));
    assert_eq!(data.train.labels(), &labels[..8_000]);
}

#[test]
fn bundled_images_decode_to_the_same_bytes_as_plain_gunzip() {
    // An independent path to the payload: decompress the whole file, skip the 16-byte header.
    let gz = fs::read(bundled().join("mnist-10k-images-idx3-ubyte.gz")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    assert_eq!(raw[..4], [0, 0, 8, 3]);
    let images = idx::parse_images(&gz).unwrap();
    assert_eq!(images.pixels(), &raw[16..]);
    // Digits are ink on background: both extremes occur.
    assert_eq!(images.pixels().iter().min(), Some(&0));
    assert_eq!(images.pixels().iter().max(), Some(&255));
}

#[test]
fn inputs_are_pixels_over_255_in_row_major_order() {
    let data = Mnist::load_bundled(Mnist::bundled_dir()).unwrap();
    for i in [0, 1, 4_321, 7_999] {
        let pixels = data.train.images().image(i);
        let x: SVector<f32, 784> = data.train.input(i);
        let mut y = SVector::<f64, 784>::zeros();
        data.train.write_input(i, &mut y);
        for r in 0..28 {
            for c in 0..28 {
                let p = pixels[r * 28 + c];
                assert_eq!(x[r * 28 + c], p as f32 / 255.0);
                assert_eq!(y[r * 28 + c], p as f64 / 255.0);
            }
        }
    }
    assert!(data.test.label(0) < 10);
    assert_eq!(data.test.targets().len(), 2_000);
    assert_eq!(data.test.inputs::<f32>()[5], data.test.input::<f32>(5));
}

// ---------------------------------------------------------------------------------------
// Files written by the tests.

#[test]
fn plain_files_round_trip() {
    let dir = Scratch::new("round-trip");
    let pixels = pattern(3 * 4 * 5);
    let images_path = dir.write("images", &images_file(3, 4, 5, &pixels));
    let labels_path = dir.write("labels", &labels_file(&[9, 0, 4]));
    let images = idx::load_images(&images_path).unwrap();
    assert_eq!((images.count(), images.rows(), images.cols()), (3, 4, 5));
    assert_eq!(images.pixels(), &pixels[..]);
    assert_eq!(images.image(1), &pixels[20..40]);
    assert_eq!(idx::load_labels(&labels_path).unwrap(), vec![9, 0, 4]);
    // Same from bytes, plain and compressed.
    assert_eq!(
        idx::parse_images(&images_file(3, 4, 5, &pixels)).unwrap(),
        images
    );
    assert_eq!(
        idx::parse_images(&gzip(&images_file(3, 4, 5, &pixels))).unwrap(),
        images
    );
    assert_eq!(
        idx::parse_labels(&gzip(&labels_file(&[1, 2]))).unwrap(),
        vec![1, 2]
    );
    // Zero images is a valid, empty file.
    assert!(idx::parse_images(&images_file(0, 28, 28, &[]))
        .unwrap()
        .is_empty());
}

#[test]
fn gzip_is_detected_by_content_not_by_name() {
    let dir = Scratch::new("detect");
    let pixels = pattern(2 * 28 * 28);
    // Standard names, with the `.gz` suffix on the plain files and not on the compressed ones.
    dir.write(
        "train-images-idx3-ubyte",
        &gzip(&images_file(2, 28, 28, &pixels)),
    );
    dir.write("train-labels-idx1-ubyte.gz", &labels_file(&[3, 7]));
    dir.write(
        "t10k-images-idx3-ubyte.gz",
        &images_file(1, 28, 28, &pixels[..784]),
    );
    dir.write("t10k-labels-idx1-ubyte", &gzip(&labels_file(&[5])));
    let data = Mnist::load_dir(&dir.0).unwrap();
    assert_eq!(data.train.labels(), &[3, 7]);
    assert_eq!(data.train.images().pixels(), &pixels[..]);
    assert_eq!(data.test.labels(), &[5]);
    assert_eq!(data.test.images().image(0), &pixels[..784]);
}

#[test]
fn load_dir_accepts_the_dotted_spelling() {
    let dir = Scratch::new("dotted");
    dir.write(
        "train-images.idx3-ubyte",
        &images_file(1, 28, 28, &pattern(784)),
    );
    dir.write("train-labels.idx1-ubyte", &labels_file(&[8]));
    dir.write(
        "t10k-images.idx3-ubyte.gz",
        &gzip(&images_file(1, 28, 28, &[0; 784])),
    );
    dir.write("t10k-labels.idx1-ubyte.gz", &gzip(&labels_file(&[2])));
    let data = Mnist::load_dir(&dir.0).unwrap();
    assert_eq!((data.train.label(0), data.test.label(0)), (8, 2));
}

#[test]
fn load_dir_names_the_missing_file() {
    let dir = Scratch::new("missing");
    dir.write(
        "train-images-idx3-ubyte",
        &images_file(1, 28, 28, &[0; 784]),
    );
    dir.write("train-labels-idx1-ubyte", &labels_file(&[1]));
    let e = Mnist::load_dir(&dir.0).unwrap_err();
    assert!(
        matches!(
            e,
            IdxError::Missing {
                name: "t10k-images-idx3-ubyte",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "missing MNIST file: expected `t10k-images-idx3-ubyte` or \
             `t10k-images-idx3-ubyte.gz` in `{}`",
            dir.0.display()
        )
    );
}

#[test]
fn unreadable_path_is_an_io_error_with_the_path() {
    let e = idx::load_labels("/nonexistent/labels-idx1-ubyte").unwrap_err();
    assert!(matches!(e, IdxError::Io { .. }), "{e:?}");
    assert_eq!(e.path(), Some(Path::new("/nonexistent/labels-idx1-ubyte")));
    assert!(
        e.to_string()
            .starts_with("cannot read `/nonexistent/labels-idx1-ubyte`: "),
        "{e}"
    );
    // A directory opens on Unix but cannot be read.
    let dir = Scratch::new("is-a-dir");
    assert!(matches!(idx::load_labels(&dir.0), Err(IdxError::Io { .. })));
}

// ---------------------------------------------------------------------------------------
// Truncated and corrupt files.

#[test]
fn header_cut_anywhere_is_truncated() {
    let full = images_file(2, 3, 3, &pattern(18));
    for cut in 0..16 {
        match idx::parse_images(&full[..cut]) {
            Err(IdxError::Truncated {
                kind: IdxKind::Images,
                part: Part::Header,
                expected,
                found,
            }) => {
                assert_eq!((expected, found), (16, cut as u64))
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let e = idx::parse_labels(&labels_file(&[1, 2])[..6]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "truncated IDX labels header: expected 8 bytes, found 6"
    );
}

#[test]
fn payload_cut_is_truncated_with_both_sizes() {
    let full = images_file(2, 3, 3, &pattern(18));
    for cut in 16..full.len() {
        let expected = Some((18, cut as u64 - 16));
        let plain = idx::parse_images(&full[..cut]);
        let compressed = idx::parse_images(&gzip(&full[..cut]));
        for r in [plain, compressed] {
            match r {
                Err(IdxError::Truncated {
                    part: Part::Payload,
                    expected: e,
                    found: f,
                    ..
                }) => {
                    assert_eq!(Some((e, f)), expected, "cut at {cut}")
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }
    let dir = Scratch::new("payload-cut");
    let path = dir.write("images.gz", &gzip(&full[..20]));
    let e = idx::load_images(&path).unwrap_err();
    assert_eq!(e.path(), Some(path.as_path()));
    assert_eq!(
        e.to_string(),
        format!(
            "`{}`: truncated IDX images payload: expected 18 bytes, found 4",
            path.display()
        )
    );
}

#[test]
fn gzip_stream_cut_is_an_error() {
    let full = gzip(&images_file(4, 28, 28, &pattern(4 * 784)));
    // Every cut of the compressed stream, from inside its header to inside its trailer.
    for cut in 2..full.len() {
        match idx::parse_images(&full[..cut]) {
            Err(IdxError::Gzip { .. } | IdxError::Truncated { .. }) => {}
            other => panic!("cut at {cut} of {}: {other:?}", full.len()),
        }
    }
    let dir = Scratch::new("gzip-cut");
    let path = dir.write("images.gz", &full[..full.len() / 2]);
    let e = idx::load_images(&path).unwrap_err();
    assert!(matches!(e.root(), IdxError::Gzip { .. }), "{e:?}");
    assert!(e
        .to_string()
        .starts_with(&format!("`{}`: corrupt gzip stream: ", path.display())));
    assert!(e
        .to_string()
        .ends_with("; the file is cut short or has bytes after its gzip data"));
}

#[test]
fn corrupt_gzip_data_or_checksum_is_an_error() {
    let full = gzip(&labels_file(
        &pattern(5_000).iter().map(|p| p % 10).collect::<Vec<_>>(),
    ));
    // The gzip trailer is CRC-32 then the size, 8 bytes; flip one bit in the CRC.
    let mut bad_crc = full.clone();
    let at = full.len() - 8;
    bad_crc[at] ^= 0x01;
    let e = idx::parse_labels(&bad_crc).unwrap_err();
    assert!(matches!(e, IdxError::Gzip { .. }), "{e:?}");
    assert!(e.to_string().starts_with("corrupt gzip stream: "), "{e}");
    assert!(
        !e.to_string().contains("stream: corrupt gzip stream"),
        "{e}"
    );
    // A flipped bit inside the deflate data: whatever it decodes to, it must not pass.
    let mut bad_data = full.clone();
    bad_data[full.len() / 2] ^= 0x10;
    assert!(idx::parse_labels(&bad_data).is_err());
    // Garbage after the gzip member is not silently ignored.
    let mut garbage = full.clone();
    garbage.extend(b"garbage");
    assert!(idx::parse_labels(&garbage).is_err());
}

#[test]
fn wrong_magic_says_what_was_found() {
    let labels = labels_file(&[1, 2, 3]);
    let e = idx::parse_images(&labels).unwrap_err();
    assert!(matches!(
        e,
        IdxError::BadMagic {
            kind: IdxKind::Images,
            found: 0x0000_0801
        }
    ));
    assert_eq!(
        e.to_string(),
        "wrong magic number for IDX images: expected 0x00000803, found 0x00000801; \
         this is an IDX labels file"
    );
    let e = idx::parse_labels(b"\x89PNG\r\n\x1a\n and more").unwrap_err();
    assert!(matches!(
        e,
        IdxError::BadMagic {
            kind: IdxKind::Labels,
            found: 0x8950_4e47
        }
    ));
    assert!(
        e.to_string()
            .ends_with("; not an IDX file (its first two bytes must be zero)"),
        "{e}"
    );
    // Unsigned bytes but rank 2.
    let e = idx::parse_images(&idx_bytes(0x08, &[2, 2], &[0; 4])).unwrap_err();
    assert!(
        matches!(
            e,
            IdxError::BadMagic {
                found: 0x0000_0802,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().ends_with("; an IDX images file has rank 3"),
        "{e}"
    );
}

#[test]
fn other_element_types_are_unsupported() {
    for (code, name) in [
        (0x09, "signed byte"),
        (0x0D, "f32"),
        (0x0E, "f64"),
        (0x42, "not an IDX type"),
    ] {
        let e = idx::parse_labels(&idx_bytes(code, &[1], &[0; 8])).unwrap_err();
        assert!(
            matches!(e, IdxError::UnsupportedType { code: c } if c == code),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("unsupported IDX element type: expected 0x08 (unsigned byte), found 0x{code:02x} ({name})")
        );
    }
}

#[test]
fn trailing_bytes_disagree_with_the_header() {
    let mut plain = images_file(2, 3, 3, &pattern(18));
    plain.extend([0xAA; 5]);
    for r in [idx::parse_images(&plain), idx::parse_images(&gzip(&plain))] {
        match r {
            Err(IdxError::TrailingBytes {
                kind: IdxKind::Images,
                expected: 18,
                found: 23,
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    let dir = Scratch::new("trailing");
    let path = dir.write("labels", &[labels_file(&[1, 2]), vec![0]].concat());
    let e = idx::load_labels(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "`{}`: IDX labels payload longer than its header says: expected 2 bytes, found 3; \
             the header's sizes disagree with the data",
            path.display()
        )
    );
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = Scratch::new("count-mismatch");
    let images = dir.write("images", &images_file(5, 28, 28, &pattern(5 * 784)));
    let labels = dir.write("labels", &labels_file(&[0, 1, 2, 3]));
    let e = MnistSplit::load(&images, &labels).unwrap_err();
    assert!(
        matches!(
            e.root(),
            IdxError::CountMismatch {
                expected: 5,
                found: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "`{}`: label and image counts disagree: expected 5, found 4",
            labels.display()
        )
    );
}

#[test]
fn mnist_needs_28_by_28_digits() {
    let small = idx::parse_images(&images_file(1, 27, 28, &pattern(27 * 28))).unwrap();
    let e = MnistSplit::new(small, vec![1]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "wrong image size: expected 28×28, found 27×28"
    );
    let images = idx::parse_images(&images_file(3, 28, 28, &pattern(3 * 784))).unwrap();
    let e = MnistSplit::new(images, vec![9, 10, 3]).unwrap_err();
    assert!(matches!(
        e,
        IdxError::LabelOutOfRange {
            index: 1,
            classes: 10,
            found: 10
        }
    ));
    assert_eq!(
        e.to_string(),
        "label 1 out of range: expected a class below 10, found 10"
    );
    assert_eq!(mnist::PIXELS, 784);
}

#[test]
fn bundled_loader_checks_the_sample_size() {
    let dir = Scratch::new("bundled-size");
    dir.write(
        mnist::BUNDLED_IMAGES,
        &gzip(&images_file(3, 28, 28, &pattern(3 * 784))),
    );
    dir.write(mnist::BUNDLED_LABELS, &gzip(&labels_file(&[1, 2, 3])));
    let e = Mnist::load_bundled(&dir.0).unwrap_err();
    assert!(matches!(
        e.root(),
        IdxError::CountMismatch {
            expected: 10_000,
            found: 3,
            ..
        }
    ));
}

// ---------------------------------------------------------------------------------------
// Hostile headers: fail fast, allocate nothing of what they claim.

#[test]
fn huge_claims_fail_fast_without_allocating() {
    let dir = Scratch::new("hostile");
    let cases: [(&str, Vec<u8>); 4] = [
        // Four billion 28×28 images: 3.4 TB, over the cap.
        ("over-cap", images_file(u32::MAX, 28, 28, &[])),
        // 1.2 million images: 941 MB, under the cap, in a 16-byte file.
        ("under-cap", images_file(1_200_000, 28, 28, &[])),
        // The same claims behind gzip, where the size is unknown until decompressed.
        (
            "over-cap.gz",
            gzip(&images_file(u32::MAX, 28, 28, &[0; 100])),
        ),
        (
            "under-cap.gz",
            gzip(&images_file(1_200_000, 28, 28, &[0; 100])),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.write(name, &bytes);
        let (r, peak, time) = measure(|| idx::load_images(&path));
        let e = r.unwrap_err();
        match e.root() {
            IdxError::TooLarge { limit, claimed } => {
                assert_eq!(*limit, MAX_PAYLOAD_BYTES);
                assert_eq!(*claimed, u32::MAX as u64 * 784);
            }
            IdxError::Truncated {
                part: Part::Payload,
                expected,
                ..
            } => {
                assert_eq!(*expected, 1_200_000 * 784)
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(peak < FEW_MB, "{name}: {peak} bytes allocated at peak");
        assert!(time < Duration::from_secs(1), "{name}: took {time:?}");

        let (r, peak, _) = measure(|| idx::parse_images(&bytes));
        assert!(r.is_err(), "{name}");
        assert!(
            peak < FEW_MB,
            "{name} from bytes: {peak} bytes allocated at peak"
        );
    }
    let labels = labels_file(&[]);
    let mut claim = labels.clone();
    // Just under the cap: only the data, not the cap, can reject it.
    claim[4..8].copy_from_slice(&(MAX_PAYLOAD_BYTES as u32 - 1).to_be_bytes());
    let (r, peak, _) = measure(|| idx::parse_labels(&claim));
    assert!(
        matches!(r, Err(IdxError::Truncated { expected, found: 0, .. }) if expected == MAX_PAYLOAD_BYTES - 1)
    );
    assert!(peak < FEW_MB);
}

#[test]
fn dimensions_overflowing_64_bits_are_reported() {
    let e = idx::parse_images(&images_file(u32::MAX, u32::MAX, u32::MAX, &[])).unwrap_err();
    assert!(matches!(&e, IdxError::DimensionOverflow { dims } if dims == &[u32::MAX; 3]));
    assert_eq!(
        e.to_string(),
        "IDX dimensions overflow: 4294967295 × 4294967295 × 4294967295 elements do not fit \
         in 64 bits"
    );
}

#[test]
fn decompression_bomb_after_a_small_header_is_not_buffered() {
    // One 28×28 image announced, then 32 MB of zeros: a 32 kB gzip file.
    let mut payload = images_file(1, 28, 28, &[0; 784]);
    payload.resize(payload.len() + (32 << 20), 0);
    let bomb = gzip(&payload);
    assert!(bomb.len() < 1 << 20);
    let (r, peak, _) = measure(|| idx::parse_images(&bomb));
    match r {
        Err(IdxError::TrailingBytes {
            expected: 784,
            found,
            ..
        }) => {
            assert_eq!(found, 784 + (32 << 20))
        }
        other => panic!("{other:?}"),
    }
    assert!(peak < FEW_MB, "{peak} bytes allocated at peak");
}

#[test]
fn loading_the_real_files_allocates_about_their_size() {
    // The bound is the data itself (7.84 MB of pixels), not a multiple of a header's claim:
    // growth as bytes arrive may at most double it.
    let path = bundled().join("mnist-10k-images-idx3-ubyte.gz");
    let (r, peak, _) = measure(|| idx::load_images(&path));
    let images = r.unwrap();
    assert!(peak >= images.pixels().len());
    assert!(
        peak < 2 * images.pixels().len() + FEW_MB,
        "{peak} bytes allocated at peak"
    );
}

// ---------------------------------------------------------------------------------------
// Image data sets of other sizes: the same loader, the shape in the type.

/// Three-by-five grayscale images of four classes.
type Small = ImageSplit<1, 3, 5, 15, 4>;
/// Two channels of two-by-three images, three classes.
type Color = ImageSplit<2, 2, 3, 12, 3>;

#[test]
fn any_image_size_loads_into_its_split() {
    let dir = Scratch::new("small-split");
    let pixels = pattern(3 * 15);
    let images = dir.write("images", &images_file(3, 3, 5, &pixels));
    let labels = dir.write("labels.gz", &gzip(&labels_file(&[3, 0, 3])));
    let split = Small::load(&images, &labels).unwrap();
    assert_eq!(
        (split.len(), split.images().rows(), split.images().cols()),
        (3, 3, 5)
    );
    assert_eq!(split.labels(), &[3, 0, 3]);
    assert_eq!(split.class_counts(), [1, 0, 0, 2]);
    // Image 1 is bytes 15..30 of the payload, over 255, row-major.
    let x: SVector<f64, 15> = split.input(1);
    for (k, &v) in x.iter().enumerate() {
        assert_eq!(v, f64::from(pixels[15 + k]) / 255.0);
    }
    assert_eq!(split.inputs::<f32>()[2], split.input::<f32>(2));
    let (head, tail) = split.split_at(2);
    assert_eq!((head.len(), tail.labels()), (2, &[3][..]));

    // The same file is not MNIST, nor a split of another size: the error names the file.
    let e = MnistSplit::load(&images, &labels).unwrap_err();
    assert_eq!(e.path(), Some(images.as_path()));
    assert_eq!(
        e.to_string(),
        format!(
            "`{}`: wrong image size: expected 28×28, found 3×5",
            images.display()
        )
    );
    let e = ImageSplit::<1, 5, 3, 15, 4>::load(&images, &labels).unwrap_err();
    assert!(matches!(
        e.root(),
        IdxError::ImageSize {
            expected: (5, 3),
            found: (3, 5)
        }
    ));
    // Label 3 is not a class of a three-class split.
    let e = ImageSplit::<1, 3, 5, 15, 3>::load(&images, &labels).unwrap_err();
    assert!(
        matches!(
            e.root(),
            IdxError::LabelOutOfRange {
                index: 0,
                classes: 3,
                found: 3
            }
        ),
        "{e:?}"
    );
}

#[test]
fn channel_images_are_rank_four_in_channel_row_column_order() {
    let pixels = pattern(2 * 12);
    let file = idx_bytes(0x08, &[2, 2, 2, 3], &pixels);
    let images = idx::parse_channel_images(&file).unwrap();
    assert_eq!((images.channels(), images.pixels_per_image()), (2, 12));
    let split = Color::new(images, vec![2, 1]).unwrap();
    let x: SVector<f32, 12> = split.input(1);
    assert_eq!(x[7], f32::from(pixels[12 + 7]) / 255.0);
    // Through files, gzip included.
    let dir = Scratch::new("channel-split");
    let path = dir.write("images.gz", &gzip(&file));
    let labels = dir.write("labels", &labels_file(&[0, 2]));
    assert_eq!(Color::load(&path, &labels).unwrap().labels(), &[0, 2]);

    // A rank-3 file where channels are expected, and the other way round.
    let gray = images_file(2, 2, 3, &pixels[..12]);
    let e = idx::parse_channel_images(&gray).unwrap_err();
    assert_eq!(
        e.to_string(),
        "wrong magic number for IDX channel images: expected 0x00000804, found 0x00000803; \
         this is an IDX images file"
    );
    assert!(matches!(
        idx::parse_images(&file),
        Err(IdxError::BadMagic {
            kind: IdxKind::Images,
            found: 0x0000_0804
        })
    ));
    let one_channel = idx::parse_images(&gray).unwrap();
    let e = Color::new(one_channel, vec![0, 1]).unwrap_err();
    assert_eq!(e.to_string(), "wrong channel count: expected 2, found 1");
}

#[test]
fn a_small_file_claiming_huge_images_fails_fast_without_allocating() {
    let dir = Scratch::new("small-hostile");
    let labels = dir.write("labels", &labels_file(&[0]));
    // 100,000 images of 64×64 (410 MB, under the cap) in a 16-byte file, plain and gzip;
    // 2,000 images of 3 × 400 × 400 (960 MB) behind a rank-4 header.
    let cases: [(&str, Vec<u8>, u64); 3] = [
        (
            "plain",
            images_file(100_000, 64, 64, &[]),
            100_000 * 64 * 64,
        ),
        (
            "gzip",
            gzip(&images_file(100_000, 64, 64, &[7; 50])),
            100_000 * 64 * 64,
        ),
        (
            "channels",
            idx_bytes(0x08, &[2_000, 3, 400, 400], &[1; 10]),
            2_000 * 3 * 400 * 400,
        ),
    ];
    for (name, bytes, claimed) in cases {
        let path = dir.write(name, &bytes);
        let (r, peak, time) = measure(|| {
            if name == "channels" {
                ImageSplit::<3, 400, 400, 480_000, 10>::load(&path, &labels).map(|s| s.len())
            } else {
                ImageSplit::<1, 64, 64, 4096, 10>::load(&path, &labels).map(|s| s.len())
            }
        });
        let e = r.unwrap_err();
        assert_eq!(e.path(), Some(path.as_path()), "{name}");
        match e.root() {
            IdxError::Truncated {
                part: Part::Payload,
                expected,
                ..
            } => assert_eq!(*expected, claimed, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert!(peak < FEW_MB, "{name}: {peak} bytes allocated at peak");
        assert!(time < Duration::from_secs(1), "{name}: took {time:?}");
    }
    // Over the cap: refused from the header alone.
    let e = idx::parse_channel_images(&idx_bytes(0x08, &[u32::MAX, 3, 32, 32], &[])).unwrap_err();
    assert!(matches!(e, IdxError::TooLarge { claimed, .. } if claimed == u32::MAX as u64 * 3072));
}
