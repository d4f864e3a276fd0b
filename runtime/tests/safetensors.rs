//! Hostile, truncated and lying files, every error variant, conversions and round trips.

use rand_core::RngCore;
use stacknet_runtime::rng::SplitMix64;
use stacknet_runtime::safetensors::*;
use stacknet_runtime::{Params, Scalar, Shape, TensorInfo, TensorKind};

/// A name as a file holds it.
fn js(s: &str) -> JsonStr<'_> {
    JsonStr::new(s).unwrap()
}

/// A two-tensor model: `fc.weight` [2, 3] and `fc.bias` [2].
#[derive(Clone, Debug, PartialEq)]
struct Fc<T> {
    w: [T; 6],
    b: [T; 2],
}

impl<T: Scalar> Params<T> for Fc<T> {
    const TENSORS: usize = 2;
    const LEN: usize = 8;
    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => &self.w,
            1 => &self.b,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => &mut self.w,
            1 => &mut self.b,
            _ => &mut [],
        }
    }
    fn tensor_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = if i == 0 {
            ("weight", Shape::matrix(2, 3), TensorKind::Weight)
        } else {
            ("bias", Shape::vector(2), TensorKind::Bias)
        };
        TensorInfo {
            layer: "fc",
            name,
            shape,
            kind,
            fan_in: 3,
            fan_out: 2,
        }
    }
}

fn fc() -> Fc<f32> {
    Fc {
        w: [1.0, -2.0, 3.5, 0.25, -0.0, 1e-3],
        b: [7.0, -8.0],
    }
}

fn export_vec<T: Scalar, P: Params<T>>(p: &P) -> Vec<u8> {
    let mut v = Vec::new();
    export(p, |b: &[u8]| -> Result<(), ()> {
        v.extend_from_slice(b);
        Ok(())
    })
    .unwrap();
    v
}

/// A file from a header and data.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

/// The header of `fc` with its weight and bias entries replaced as given.
fn fc_file(weight: &str, bias: &str, data_len: usize) -> Vec<u8> {
    let h = format!("{{\"fc.weight\":{weight},\"fc.bias\":{bias}}}");
    file(&h, &std::vec![0u8; data_len])
}

const W: &str = r#"{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}"#;
const B: &str = r#"{"dtype":"F32","shape":[2],"data_offsets":[24,32]}"#;

fn err(bytes: &[u8]) -> ReadError<'_> {
    SafeTensors::parse(bytes).unwrap_err()
}

/// Loads into `fc()`, asserting the model is unchanged when it fails.
fn load_err(bytes: &[u8]) -> String {
    let mut m = fc();
    let e = load_from_bytes(&mut m, bytes).unwrap_err();
    assert_eq!(m, fc(), "a failed load changed the model");
    e.to_string()
}

#[test]
fn round_trip_is_bit_exact_and_the_header_is_pytorchs() {
    let m = fc();
    let bytes = export_vec(&m);
    assert_eq!(bytes.len(), exported_len::<f32, Fc<f32>>());
    assert_eq!(bytes.len() % 8, 0, "header padded to 8 bytes");
    let st = SafeTensors::parse(&bytes).unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(st.metadata("format").map(|s| s.raw()), Some("pt"));
    let w = st.get("fc.weight").unwrap();
    assert_eq!((w.dtype, w.shape.dims()), (Dtype::F32, &[2u64, 3][..]));
    let header = core::str::from_utf8(&bytes[8..8 + header_len::<f32, Fc<f32>>()]).unwrap();
    assert_eq!(
        header.trim_end(),
        r#"{"__metadata__":{"format":"pt"},"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#
    );
    let mut back = Fc {
        w: [9.0; 6],
        b: [9.0; 2],
    };
    load_from_bytes(&mut back, &bytes).unwrap();
    let bits = |m: &Fc<f32>| {
        m.w.iter()
            .chain(&m.b)
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&back), bits(&m));

    // f64 is written as F64, and either loads into either.
    let m64 = Fc {
        w: [0.1f64; 6],
        b: [1.0 / 3.0; 2],
    };
    let b64 = export_vec(&m64);
    assert_eq!(
        SafeTensors::parse(&b64)
            .unwrap()
            .get("fc.bias")
            .unwrap()
            .dtype,
        Dtype::F64
    );
    let mut into32 = fc();
    load_from_bytes(&mut into32, &b64).unwrap();
    assert_eq!(into32.b, [1.0f32 / 3.0; 2]);
    let mut into64 = m64.clone();
    load_from_bytes(&mut into64, &bytes).unwrap();
    assert_eq!(into64.w[3], 0.25);

    // Into a slice: exact size works, one byte short writes nothing.
    let mut buf = std::vec![0xAAu8; bytes.len()];
    assert_eq!(export_to_slice(&m, &mut buf), Ok(bytes.len()));
    assert_eq!(buf, bytes);
    let mut short = std::vec![0xAAu8; bytes.len() - 1];
    let e = export_to_slice(&m, &mut short).unwrap_err();
    assert_eq!((e.needed, e.found), (bytes.len(), bytes.len() - 1));
    assert!(short.iter().all(|&b| b == 0xAA));
}

#[test]
fn half_and_brain_floats_convert_on_load() {
    let w = r#"{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]}"#;
    let b = r#"{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}"#;
    let mut data = Vec::new();
    for h in [0x3C00u16, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x8000] {
        data.extend(h.to_le_bytes());
    }
    for h in [0x3FC0u16, 0xC2F7] {
        data.extend(h.to_le_bytes());
    }
    let bytes = file(&format!("{{\"fc.weight\":{w},\"fc.bias\":{b}}}"), &data);
    let mut m = fc();
    load_from_bytes(&mut m, &bytes).unwrap();
    assert_eq!(
        m.w,
        [1.0, -2.0, 0.333_251_95, 5.960_464_5e-8, 65504.0, -0.0]
    );
    assert_eq!(m.b, [1.5, -123.5]);
}

#[test]
fn short_files_and_lying_lengths() {
    for n in 0..8 {
        assert_eq!(err(&std::vec![0; n]), Error::TooShort { len: n });
    }
    assert!(load_err(&[7]).contains("expected at least 8 bytes, found 1"));
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend(b"{}");
    assert_eq!(
        err(&huge),
        Error::HeaderTooLarge {
            header_len: u64::MAX,
            file_len: 10
        }
    );
    let mut one_over = 3u64.to_le_bytes().to_vec();
    one_over.extend(b"{}");
    assert!(matches!(
        err(&one_over),
        Error::HeaderTooLarge { header_len: 3, .. }
    ));
    // An empty header object and no data is a valid, empty file.
    assert!(SafeTensors::parse(&file("{}", &[])).unwrap().is_empty());
}

#[test]
fn every_truncation_and_corruption_fails_cleanly() {
    let bytes = export_vec(&fc());
    for cut in 0..bytes.len() {
        assert!(SafeTensors::parse(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let header_end = 8 + header_len::<f32, Fc<f32>>();
    let cut = &bytes[..bytes.len() - 1];
    assert_eq!(
        err(cut),
        Error::Truncated {
            tensor: js("fc.bias"),
            end: 32,
            data_len: 31
        }
    );
    // Random byte flips anywhere never panic; in the header they almost always fail.
    let mut rng = SplitMix64::new(7);
    for _ in 0..20_000 {
        let mut bad = bytes.clone();
        let at = (rng.next_u64() % header_end as u64) as usize;
        bad[at] = rng.next_u64() as u8;
        let mut m = fc();
        if load_from_bytes(&mut m, &bad).is_err() {
            assert_eq!(m, fc());
        }
    }
}

#[test]
fn malformed_json_is_located() {
    for (header, reason) in [
        ("garbage", "the header must be a JSON object"),
        ("[]", "the header must be a JSON object"),
        ("{\"fc.weight\" 1}", "expected `:` after a tensor name"),
        ("{} x", "characters after the header's object"),
        (
            r#"{"__metadata__":{}}}"#,
            "characters after the header's object",
        ),
        ("{\"a", "unterminated string"),
        ("{\"fc.weight\":{\"dtype\":\"F32\",}}", "expected a string"),
    ] {
        match err(&file(header, &[])) {
            Error::Json(e) => assert_eq!(e.reason, reason, "{header}"),
            other => panic!("{header}: {other:?}"),
        }
    }
    let not_utf8 = file("{\"\u{e9}\":1}", &[]);
    let mut not_utf8 = not_utf8.clone();
    not_utf8[10] = 0xFF;
    assert!(matches!(
        err(&not_utf8),
        Error::Json(JsonError { offset: 2, .. })
    ));
    // A million brackets in a field the reader skips: an error, not a stack overflow.
    let deep = format!(
        "{{\"t\":{{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":{}}}}}",
        "[".repeat(1_000_000)
    );
    assert_eq!(
        err(&file(&deep, &[0; 4])),
        Error::Json(JsonError {
            offset: deep.find("\"x\":").unwrap() + 4 + MAX_DEPTH, // the 65th `[` of `x`
            reason: "JSON nested too deeply"
        })
    );
    // Unknown fields are skipped, as the reference reader does.
    let extra = r#"{"dtype":"F32","shape":[2],"data_offsets":[24,32],"x":{"y":[1,{"z":null}]}}"#;
    let mut m = fc();
    load_from_bytes(&mut m, &fc_file(W, extra, 32)).unwrap();
}

#[test]
fn malformed_entries_name_the_tensor() {
    let cases = [
        ("3", "a tensor entry must be an object"),
        (r#"{"shape":[2],"data_offsets":[24,32]}"#, "missing `dtype`"),
        (
            r#"{"dtype":"F32","data_offsets":[24,32]}"#,
            "missing `shape`",
        ),
        (r#"{"dtype":"F32","shape":[2]}"#, "missing `data_offsets`"),
        (
            r#"{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[24,32]}"#,
            "`dtype` given twice",
        ),
        (
            r#"{"dtype":"F32","shape":[-2],"data_offsets":[24,32]}"#,
            "`shape` must be a list of non-negative integers",
        ),
        (
            r#"{"dtype":"F32","shape":[2.0],"data_offsets":[24,32]}"#,
            "`shape` must be a list of non-negative integers",
        ),
        (
            r#"{"dtype":"F32","shape":[2],"data_offsets":[24,32,40]}"#,
            "`data_offsets` must be two integers",
        ),
        (
            r#"{"dtype":32,"shape":[2],"data_offsets":[24,32]}"#,
            "`dtype` must be a string",
        ),
    ];
    for (bias, reason) in cases {
        let bytes = fc_file(W, bias, 32);
        assert_eq!(
            err(&bytes),
            Error::BadEntry {
                tensor: js("fc.bias"),
                reason
            },
            "{bias}"
        );
        assert_eq!(load_err(&bytes), format!("tensor `fc.bias`: {reason}"));
    }
    let meta = file(r#"{"__metadata__":{"format":1}}"#, &[]);
    assert!(matches!(err(&meta), Error::BadEntry { tensor, .. } if tensor == js("__metadata__")));
    let twice = file(r#"{"__metadata__":null,"__metadata__":{}}"#, &[]);
    assert_eq!(
        err(&twice),
        Error::Duplicate {
            tensor: js("__metadata__")
        }
    );
}

#[test]
fn dtypes_ranks_and_sizes_are_checked() {
    let bytes = fc_file(
        W,
        r#"{"dtype":"Q4","shape":[2],"data_offsets":[24,32]}"#,
        32,
    );
    assert_eq!(
        load_err(&bytes),
        "tensor `fc.bias` has an unknown dtype `Q4`"
    );
    let nine = r#"{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[24,25]}"#;
    assert_eq!(
        err(&fc_file(W, nine, 25)),
        Error::RankTooHigh {
            tensor: js("fc.bias")
        }
    );
    let back = r#"{"dtype":"F32","shape":[2],"data_offsets":[32,24]}"#;
    assert!(matches!(
        err(&fc_file(W, back, 32)),
        Error::BadOffsets {
            start: 32,
            end: 24,
            ..
        }
    ));
    let small = r#"{"dtype":"F32","shape":[3],"data_offsets":[24,32]}"#;
    assert_eq!(
        load_err(&fc_file(W, small, 32)),
        "tensor `fc.bias`: shape [3] of F32 needs 12 bytes but its offsets span 8"
    );
    // A shape whose byte count overflows 64 bits is a size mismatch, not a wrap-around.
    let vast = r#"{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[24,32]}"#;
    assert!(matches!(
        err(&fc_file(W, vast, 32)),
        Error::SizeMismatch { bytes: 8, .. }
    ));
    let past =
        r#"{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551607,18446744073709551615]}"#;
    assert!(matches!(
        err(&fc_file(W, past, 32)),
        Error::Truncated { end: u64::MAX, .. }
    ));
}

#[test]
fn offsets_must_tile_the_data() {
    // Out of header order but tiling the data: valid (other writers may order so).
    let w = r#"{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}"#;
    let b = r#"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#;
    let mut data = Vec::new();
    for v in [7.0f32, -8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0] {
        data.extend(v.to_le_bytes());
    }
    let mut m = fc();
    load_from_bytes(
        &mut m,
        &file(&format!("{{\"fc.weight\":{w},\"fc.bias\":{b}}}"), &data),
    )
    .unwrap();
    assert_eq!((m.w, m.b), ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [7.0, -8.0]));
    // Overlapping.
    let b = r#"{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#;
    assert_eq!(
        err(&fc_file(w, b, 32)),
        Error::Overlap {
            tensor: js("fc.weight"),
            other: js("fc.bias")
        }
    );
    // Overlapping in header order (a chain that steps back).
    let b = r#"{"dtype":"F32","shape":[2],"data_offsets":[20,28]}"#;
    assert!(matches!(err(&fc_file(W, b, 32)), Error::Overlap { .. }));
    // Trailing bytes, and a hole.
    assert_eq!(
        err(&fc_file(W, B, 33)),
        Error::Uncovered {
            covered: 32,
            data_len: 33
        }
    );
    let b = r#"{"dtype":"F32","shape":[2],"data_offsets":[28,36]}"#;
    assert_eq!(
        err(&fc_file(W, b, 36)),
        Error::Uncovered {
            covered: 32,
            data_len: 36
        }
    );
}

#[test]
fn duplicate_names_even_when_spelled_with_escapes() {
    let h = format!("{{\"fc.weight\":{W},\"fc\\u002ebias\":{B},\"fc.bias\":{B}}}");
    assert!(matches!(err(&file(&h, &[0; 32])), Error::Duplicate { .. }));
}

#[test]
fn too_many_tensors_are_refused_before_the_quadratic_checks() {
    let mut h = String::from("{");
    for i in 0..=MAX_TENSORS {
        h += &format!("\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}},");
    }
    h.pop();
    h.push('}');
    assert_eq!(
        err(&file(&h, &[])),
        Error::TooManyTensors { max: MAX_TENSORS }
    );
}

#[test]
fn loading_reports_missing_unexpected_shape_and_dtype() {
    let only_w = file(&format!("{{\"fc.weight\":{W}}}"), &[0; 24]);
    assert_eq!(
        load_err(&only_w),
        "the file has no tensor `fc.bias` (the network's, of shape [2])"
    );
    let extra = r#"{"dtype":"F32","shape":[1],"data_offsets":[32,36]}"#;
    let h = format!("{{\"fc.weight\":{W},\"fc.bias\":{B},\"fc2.bias\":{extra}}}");
    assert_eq!(
        load_err(&file(&h, &[0; 36])),
        "the file has a tensor `fc2.bias` of shape [1] that the network does not"
    );
    let w = r#"{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}"#;
    let bytes = fc_file(w, B, 32);
    let e = load_from_bytes(&mut fc(), &bytes).unwrap_err();
    assert!(
        matches!(e, Error::WrongShape { expected, found } if expected.name == "weight" && found.dims() == [3, 2])
    );
    assert_eq!(
        e.to_string(),
        "tensor `fc.weight`: the network expects shape [2, 3], the file has [3, 2]"
    );
    let b = r#"{"dtype":"I32","shape":[2],"data_offsets":[24,32]}"#;
    assert_eq!(
        load_err(&fc_file(W, b, 32)),
        "tensor `fc.bias` is I32 in the file; only F16, BF16, F32 and F64 load"
    );
    // Owned names for the std facade.
    let bytes = fc_file(W, B, 33);
    let e = SafeTensors::parse(&bytes).unwrap_err();
    let owned: Error<String> = e.map_names(|n| n.to_string());
    assert_eq!(
        owned,
        Error::Uncovered {
            covered: 32,
            data_len: 33
        }
    );
}

#[test]
fn strings_decode_escapes_and_refuse_bad_ones() {
    let s = js(r#"a\u00e9\n\"\ud83d\ude00.b"#);
    assert!(s.eq_str("aé\n\"😀.b"));
    assert!(s.eq_parts(&["aé\n\"😀", ".", "b"]));
    assert!(!s.eq_str("aé\n\"😀.bc"));
    assert_eq!(format!("{s}"), "aé\n\"😀.b");
    assert_eq!(js(r#"fc\u002ebias"#), js("fc.bias"));
    for bad in [
        r#"\x"#,
        r#"\ud800"#,
        r#"\udc00"#,
        "a\u{1}",
        r#"\u12"#,
        "a\"b",
    ] {
        assert!(JsonStr::new(bad).is_none(), "{bad}");
    }
}

#[test]
fn skipped_values_follow_the_json_grammar() {
    let entry = |x: &str| {
        format!("{{\"t\":{{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":{x}}}}}")
    };
    for ok in [
        r#"{"a": [1, -2.5e3, {"b": null}, [], {}], "c": "x\"y", "d": true}"#,
        "0",
        "-0.5E+7",
        "false",
    ] {
        assert!(
            SafeTensors::parse(&file(&entry(ok), &[0; 4])).is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "[1,]",
        "{\"a\" 1}",
        "[1 2]",
        "{1: 2}",
        "01",
        "-",
        "1.",
        "tru",
        "[",
        "\"ab",
        "[]]",
    ] {
        assert!(
            matches!(
                SafeTensors::parse(&file(&entry(bad), &[0; 4])),
                Err(Error::Json(_))
            ),
            "{bad}"
        );
    }
    let nested = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(SafeTensors::parse(&file(&entry(&nested), &[0; 4])).is_ok());
    let mixed = "{\"k\":[".repeat(40);
    assert!(SafeTensors::parse(&file(&entry(&mixed), &[0; 4])).is_err());
}

#[test]
#[allow(clippy::result_large_err)]
fn integers_are_plain_and_bounded() {
    let shape = |d: &str| {
        let h = format!("{{\"t\":{{\"dtype\":\"U8\",\"shape\":[{d}],\"data_offsets\":[0,0]}}}}");
        SafeTensors::parse(&file(&h, &[]))
            .map(|st| st.get("t").unwrap().shape.dims()[0])
            .map_err(|e| e.map_names(|n| n.to_string()))
    };
    assert_eq!(shape("0"), Ok(0));
    assert!(matches!(
        shape("18446744073709551615"),
        Err(Error::SizeMismatch { .. })
    ));
    for bad in ["18446744073709551616", "-1", "1.5", "1e3", "00", "x"] {
        assert!(matches!(shape(bad), Err(Error::BadEntry { .. })), "{bad}");
    }
}

#[test]
fn dtype_names_and_half_precision() {
    for name in [
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
        "I64", "U64", "F64",
    ] {
        assert_eq!(Dtype::from_name(name).unwrap().name(), name);
    }
    assert_eq!(Dtype::from_name("f32"), None);
    for (bits, value) in [
        (0x3C00, 1.0),
        (0xC000, -2.0),
        (0x7BFF, 65504.0),
        (0x0001, 5.960464477539063e-8),
        (0x0400, 6.103515625e-5),
        (0x3555, 0.333251953125),
        (0x8000, -0.0),
    ] {
        assert_eq!(f16_to_f64(bits), value, "{bits:#06x}");
        assert_eq!(f16_to_f64(bits).to_bits(), value.to_bits());
    }
    assert_eq!(f16_to_f64(0x7C00), f64::INFINITY);
    assert!(f16_to_f64(0x7E00).is_nan());
    assert_eq!(Dtype::BF16.decode(&0x3FC0u16.to_le_bytes()), Some(1.5));
    assert_eq!(Dtype::I32.decode(&[0; 4]), None);
}
