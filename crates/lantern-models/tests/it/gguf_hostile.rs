//! Bad and hostile GGUF input: every case is a typed error, never a panic or an abort (an
//! allocation sized by a hostile count would abort the process, so these tests also show
//! that nothing is allocated before the bytes to back it are known to exist).

use lantern_models::gguf::{GgufFile, Value, requantize};
use lantern_models::{ModelBytes, ModelError, load_causal_lm};

use crate::fixtures::{SMOLLM_Q4_1, model_bytes};

/// A minimal GGUF writer for hand-made headers.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn header(version: u32, tensors: u64, kv: u64) -> W {
        let mut w = W::default();
        w.0.extend_from_slice(b"GGUF");
        w.u32(version).u64(tensors).u64(kv);
        w
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    /// A u32 metadata entry.
    fn kv_u32(&mut self, k: &str, v: u32) -> &mut Self {
        self.str(k).u32(4).u32(v)
    }
    /// A tensor info entry.
    fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    fn pad(&mut self, n: usize) -> &mut Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }
}

fn parse_err(bytes: &[u8]) -> ModelError {
    GgufFile::parse(bytes).expect_err("hostile input must not parse")
}

#[test]
fn wrong_magic_and_versions() {
    assert!(matches!(
        parse_err(b"GGML\x03\0\0\0"),
        ModelError::BadMagic(_)
    ));
    assert!(matches!(parse_err(b"\0\0\0\0"), ModelError::BadMagic(_)));
    assert!(matches!(parse_err(b"GG"), ModelError::Truncated { .. }));
    assert!(matches!(parse_err(b""), ModelError::Truncated { .. }));
    for v in [0u32, 1, 4, 0x0300_0000 /* a big-endian v3 */] {
        let w = W::header(v, 0, 0);
        assert_eq!(parse_err(&w.0), ModelError::UnsupportedVersion(v));
    }
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    for (t, kv) in [
        (u64::MAX, 0),
        (0, u64::MAX),
        (1 << 19, 0),
        (0, 1 << 19),
        (1 << 40, 1 << 40),
    ] {
        let e = parse_err(&W::header(3, t, kv).0);
        assert!(
            matches!(
                e,
                ModelError::LimitExceeded { .. } | ModelError::Truncated { .. }
            ),
            "{e:?}"
        );
    }
    // A string claiming 2^63 bytes.
    let mut w = W::header(3, 0, 1);
    w.u64(1 << 63);
    assert!(matches!(parse_err(&w.0), ModelError::Truncated { .. }));
    // An array of u64 claiming 2^60 elements.
    let mut w = W::header(3, 0, 1);
    w.str("a").u32(9).u32(10).u64(1 << 60);
    assert!(matches!(parse_err(&w.0), ModelError::Truncated { .. }));
    // Arrays nested deeper than anything real.
    let mut w = W::header(3, 0, 1);
    w.str("deep");
    w.u32(9);
    for _ in 0..64 {
        w.u32(9).u64(1);
    }
    assert!(matches!(parse_err(&w.0), ModelError::LimitExceeded { .. }));
    // Unknown value type, bad bool.
    let mut w = W::header(3, 0, 1);
    w.str("x").u32(99);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
    let mut w = W::header(3, 0, 1);
    w.str("x").u32(7);
    w.0.push(2);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
}

#[test]
fn absurd_tensors_are_refused() {
    let cases: Vec<(&str, Vec<u64>, u32, u64)> = vec![
        ("five dims", vec![32, 1, 1, 1, 1], 0, 0),
        ("zero dim", vec![32, 0], 0, 0),
        ("huge dims", vec![1 << 40, 1 << 40], 0, 0),
        ("overflowing product", vec![u64::MAX / 2, 4], 0, 0),
        ("not a block multiple", vec![33], 2, 0),
        ("misaligned offset", vec![8], 0, 4),
        ("past the end", vec![8], 0, 1 << 20),
    ];
    for (what, dims, ty, offset) in cases {
        let mut w = W::header(3, 1, 0);
        w.tensor("t", &dims, ty, offset).pad(64);
        let e = parse_err(&w.0);
        assert!(
            matches!(e, ModelError::Malformed(_) | ModelError::Truncated { .. }),
            "{what}: {e:?}"
        );
    }
    let mut w = W::header(3, 1, 0);
    w.tensor("t", &[32], 99, 0).pad(256);
    assert_eq!(
        parse_err(&w.0),
        ModelError::UnsupportedTensorType {
            name: "t".into(),
            type_id: 99
        }
    );
    let mut w = W::header(3, 2, 0);
    w.tensor("t", &[8], 0, 0).tensor("t", &[8], 0, 32).pad(128);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
    let mut w = W::header(3, 0, 1);
    w.kv_u32("general.alignment", 3);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
}

#[test]
fn a_file_truncated_anywhere_is_an_error() {
    let bytes = model_bytes(SMOLLM_Q4_1);
    let header_end = GgufFile::parse(&bytes).unwrap().data_start;
    // Every offset of the first 8 KiB (magic, counts, every metadata key before the
    // vocabulary, the start of the vocabulary; these parses stop early, so they are cheap),
    // 400 cuts through the rest of the header (vocabulary, merges, tensor table), 100 through
    // the data. Every offset of whole headers is covered on the small seeds of
    // crates/lantern-pipelines/tests/bad_input.rs.
    let cuts = (0..8192)
        .chain((0..400).map(|i| i * header_end / 400))
        .chain((0..100).map(|i| header_end + i * (bytes.len() - header_end) / 100));
    for cut in cuts {
        let e = GgufFile::parse(&bytes[..cut]).expect_err("a truncated file must not parse");
        assert!(
            matches!(e, ModelError::Truncated { .. } | ModelError::BadMagic(_)),
            "cut at {cut}: {e:?}"
        );
    }
    assert!(load_causal_lm(ModelBytes::new(bytes[..bytes.len() - 1].to_vec())).is_err());
}

#[test]
fn flipped_header_bytes_never_panic() {
    let bytes = model_bytes(SMOLLM_Q4_1);
    let header_end = GgufFile::parse(&bytes).unwrap().data_start;
    // Only the first part of the header (counts, metadata keys and types, start of the
    // vocabulary) and the tensor table, where a flip changes how the rest is read.
    let table_start = header_end - 272 * 40;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..120 {
        let mut b = bytes[..header_end].to_vec();
        let region = if i % 2 == 0 {
            0..4096
        } else {
            table_start..header_end
        };
        let at = region.start + (next() as usize) % region.len();
        b[at] ^= 1 << (next() % 8);
        b.extend_from_slice(&bytes[header_end..]);
        // Either outcome is fine; a panic or an abort is not.
        if let Ok(mut m) = load_causal_lm(ModelBytes::new(b)) {
            let _ = m.forward(&[1, 2, 3], 0, lantern_models::Logits::Last);
        }
    }
}

#[test]
fn model_level_errors_are_typed() {
    let bytes = model_bytes(SMOLLM_Q4_1);
    let arch = requantize(
        &bytes,
        &[("general.architecture", Value::String("mamba".into()))],
        |_| None,
    )
    .unwrap();
    assert_eq!(
        load_causal_lm(ModelBytes::new(arch)).unwrap_err(),
        ModelError::UnsupportedArchitecture("mamba".into())
    );

    // A key the family needs, missing: rename it away.
    let file = GgufFile::parse(&bytes).unwrap();
    let blocks = file.metadata.get("llama.block_count").unwrap().clone();
    let renamed = requantize(
        &bytes,
        &[
            ("llama.block_count", Value::String("thirty".into())),
            ("x.block_count", blocks),
        ],
        |_| None,
    )
    .unwrap();
    let e = load_causal_lm(ModelBytes::new(renamed)).unwrap_err();
    assert!(
        matches!(e, ModelError::MetadataType { ref key, .. } if key == "llama.block_count"),
        "{e:?}"
    );

    let heads = requantize(
        &bytes,
        &[("llama.attention.head_count", Value::U32(7))],
        |_| None,
    )
    .unwrap();
    assert!(matches!(
        load_causal_lm(ModelBytes::new(heads)).unwrap_err(),
        ModelError::InvalidConfig { .. }
    ));

    let layers = requantize(&bytes, &[("llama.block_count", Value::U32(31))], |_| None).unwrap();
    assert_eq!(
        load_causal_lm(ModelBytes::new(layers)).unwrap_err(),
        ModelError::MissingTensor("blk.30.attn_norm.weight".into())
    );

    let absurd = requantize(
        &bytes,
        &[("llama.block_count", Value::U64(u64::MAX))],
        |_| None,
    )
    .unwrap();
    assert!(matches!(
        load_causal_lm(ModelBytes::new(absurd)).unwrap_err(),
        ModelError::MetadataType { .. } | ModelError::InvalidConfig { .. }
    ));

    let mut m = load_causal_lm(ModelBytes::new(bytes)).unwrap();
    assert_eq!(
        m.forward(&[49152], 0, lantern_models::Logits::Last)
            .unwrap_err(),
        ModelError::TokenOutOfRange {
            id: 49152,
            vocab: 49152
        }
    );
    assert!(matches!(
        m.forward(&[1], 5, lantern_models::Logits::Last)
            .unwrap_err(),
        ModelError::Shape { .. }
    ));
    assert!(matches!(
        m.forward(&[], 0, lantern_models::Logits::Last).unwrap_err(),
        ModelError::Shape { .. }
    ));
    let ctx = m.context_length();
    assert_eq!(
        m.forward(&vec![1; ctx + 1], 0, lantern_models::Logits::Last)
            .unwrap_err(),
        ModelError::ContextOverflow {
            requested: ctx + 1,
            max: ctx
        }
    );
}
