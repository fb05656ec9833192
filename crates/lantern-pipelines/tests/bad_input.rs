//! Bad input through everything that reads a model file before its weights: the GGUF header,
//! the model loader's first checks, the tokenizer built from metadata, the chat template.
//! Every case is a typed error, never a panic or an abort (an allocation sized by a hostile
//! count would abort, so these also show nothing is reserved before bytes back it).
//!
//! Self-contained (no fixture files): the inputs are the fuzz seeds (`fuzz/seeds`, real
//! metadata with trimmed vocabularies, made by `examples/fuzz_seeds.rs`) and hand-made
//! headers, so the same set runs natively and, through wasm-bindgen-test, in headless
//! Chromium (`cd crates/lantern-pipelines && cargo test --target wasm32-unknown-unknown
//! --test bad_input`), where a panic or a failed allocation is an abort of the worker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/fuzz_targets.rs"]
mod fuzz_targets;
#[path = "common/gguf_writer.rs"]
mod gguf_writer;

use gguf_writer::{Raw, Tensor, gguf, s};
use lantern_core::{ChatMessage, Role};
use lantern_models::gguf::{GgufFile, MAX_METADATA_VALUES, MAX_TENSOR_NAME, Value};
use lantern_models::{ModelBytes, ModelError, load_causal_lm};
use lantern_pipelines::chat_template::{ChatTemplate, TemplateError};
use lantern_pipelines::text_generation::{GenerationError, TextGeneration};
use lantern_pipelines::tokenizer::{Tokenizer, TokenizerError};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

macro_rules! fuzz_file {
    ($dir:literal, $name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../fuzz/", $dir, "/", $name)) as &[u8],
        )
    };
}

/// Real metadata (SmolLM2's whole header with 320 of its tokens and a tensor of every type;
/// llama.cpp's test vocabularies, trimmed, with their families' chat templates).
const VALID: &[(&str, &[u8])] = &[
    fuzz_file!("seeds", "smollm2.gguf"),
    fuzz_file!("seeds", "llama-spm.gguf"),
    fuzz_file!("seeds", "llama-bpe.gguf"),
    fuzz_file!("seeds", "qwen2.gguf"),
];

/// Every seed, and every input the fuzzer ever crashed on (kept after the fix).
const REPLAY: &[(&str, &[u8])] = &[
    fuzz_file!("seeds", "smollm2.gguf"),
    fuzz_file!("seeds", "llama-spm.gguf"),
    fuzz_file!("seeds", "llama-bpe.gguf"),
    fuzz_file!("seeds", "qwen2.gguf"),
    fuzz_file!("seeds", "template-raises.gguf"),
    fuzz_file!("seeds", "template-unparsable.gguf"),
    fuzz_file!("seeds", "template-endless.gguf"),
    fuzz_file!("seeds", "tokenizer-bad-bos.gguf"),
    fuzz_file!("seeds", "tokenizer-spm-no-scores.gguf"),
    fuzz_file!("seeds", "nested-arrays.gguf"),
    fuzz_file!("seeds", "huge-string.gguf"),
    fuzz_file!("seeds", "unsupported-tensor-type.gguf"),
    fuzz_file!("seeds", "overflowing-dims.gguf"),
    fuzz_file!("seeds", "bad-magic.gguf"),
    fuzz_file!("seeds", "big-endian.gguf"),
    // Past fuzzer crashes.
    fuzz_file!("regressions", "merge-longer-than-any-token.gguf"),
];

fn parse_err(bytes: &[u8]) -> ModelError {
    GgufFile::parse(bytes).expect_err("hostile input must not parse")
}

/// A length or count the bytes cannot back: `Truncated`, or on wasm32, where it may not even
/// fit a usize, `LimitExceeded`.
fn unbacked(e: &ModelError) -> bool {
    matches!(
        e,
        ModelError::Truncated { .. } | ModelError::LimitExceeded { .. }
    )
}

fn seed(name: &str) -> &'static [u8] {
    REPLAY.iter().find(|(n, _)| *n == name).unwrap().1
}

/// `bytes` rewritten with `overrides` applied to its metadata (`None` removes a key).
fn rewrite(bytes: &[u8], overrides: &[(&str, Option<Value>)]) -> Vec<u8> {
    let file = GgufFile::parse(bytes).unwrap();
    let mut md: Vec<(&str, Value)> = file
        .metadata
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .map(|(k, v)| (k, v.clone()))
        .collect();
    md.extend(
        overrides
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (*k, v))),
    );
    let tensors: Vec<Tensor> = file
        .tensors
        .iter()
        .map(|t| {
            let dims: Vec<u64> = t.dims.iter().map(|&d| d as u64).collect();
            Tensor::new(&t.name, &dims, t.dtype)
        })
        .collect();
    gguf(&md, &tensors)
}

fn chat(texts: &[(Role, &str)]) -> Vec<ChatMessage> {
    texts
        .iter()
        .map(|(r, t)| ChatMessage::new(*r, *t))
        .collect()
}

#[test]
fn the_seeds_are_real_files() {
    let text = "Hello world, 123 and café!";
    for (name, bytes) in VALID {
        let file = GgufFile::parse(bytes).unwrap();
        let tok = Tokenizer::from_gguf(&file.metadata).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids = tok.encode(text, false).unwrap();
        assert!(!ids.is_empty(), "{name}");
        assert_eq!(tok.decode(&ids, false).unwrap(), text, "{name}");
        let src = file.metadata.str("tokenizer.chat_template").unwrap();
        let t = ChatTemplate::new(src, "<s>", "</s>");
        let prompt = t.render(&chat(&[(Role::User, text)]), true).unwrap();
        assert!(prompt.contains(text), "{name}: {prompt}");
    }
    // SmolLM2's seed keeps its header whole but the vocabulary, and a tensor of every type.
    let file = GgufFile::parse(VALID[0].1).unwrap();
    assert_eq!(file.architecture().unwrap(), "llama");
    assert_eq!(file.tensors.len(), 15);
    assert_eq!(
        file.metadata.str_array("tokenizer.ggml.tokens").unwrap()[1],
        "<|im_start|>"
    );
}

#[test]
fn a_file_cut_at_any_offset_is_a_typed_error() {
    for (name, bytes) in VALID {
        // Every offset: magic, counts, metadata, vocabulary, tensor table, padding, data.
        for cut in 0..bytes.len() {
            let e = parse_err(&bytes[..cut]);
            assert!(
                matches!(e, ModelError::Truncated { .. }),
                "{name} cut at {cut}: {e:?}"
            );
        }
    }
}

#[test]
fn wrong_magic_and_versions() {
    assert!(matches!(
        parse_err(b"GGML\x03\0\0\0"),
        ModelError::BadMagic(_)
    ));
    assert!(matches!(parse_err(b"\0\0\0\0"), ModelError::BadMagic(_)));
    assert!(matches!(parse_err(b"GGU"), ModelError::Truncated { .. }));
    assert!(matches!(parse_err(b"XY"), ModelError::BadMagic(_)));
    assert!(matches!(parse_err(b""), ModelError::Truncated { .. }));
    assert!(matches!(
        parse_err(seed("bad-magic.gguf")),
        ModelError::BadMagic(_)
    ));
    for v in [
        0u32,
        1,
        4,
        u32::MAX,
        3u32.swap_bytes(), /* big-endian */
    ] {
        assert_eq!(
            parse_err(&Raw::header(v, 0, 0).0),
            ModelError::UnsupportedVersion(v)
        );
    }
    // Version 2 has the same layout as 3 (64-bit counts) and is read.
    assert!(GgufFile::parse(&Raw::header(2, 0, 0).0).is_ok());
}

#[test]
fn absurd_counts_and_lengths_are_refused_before_allocating() {
    for (t, kv) in [
        (u64::MAX, 0),
        (0, u64::MAX),
        (1 << 19, 0),
        (0, 1 << 19),
        (1 << 40, 1 << 40),
    ] {
        let e = parse_err(&Raw::header(3, t, kv).0);
        assert!(unbacked(&e), "{t} {kv}: {e:?}");
    }
    // Strings (key, value, tensor name) claiming more bytes than there are.
    for len in [1u64 << 63, u64::MAX, 1 << 32, 100] {
        let mut w = Raw::header(3, 0, 1);
        w.u64(len).pad_to(64);
        assert!(unbacked(&parse_err(&w.0)), "{len}");
        let mut w = Raw::header(3, 0, 1);
        w.str("general.name").u32(8).u64(len).pad_to(64);
        assert!(unbacked(&parse_err(&w.0)), "{len}");
    }
    assert!(unbacked(&parse_err(seed("huge-string.gguf"))));
    let mut w = Raw::header(3, 1, 0);
    w.u64(MAX_TENSOR_NAME + 1).pad_to(4096);
    assert!(matches!(parse_err(&w.0), ModelError::LimitExceeded { .. }));
    // Arrays claiming more elements than there are bytes, of each element size.
    for (ty, len) in [
        (0u32, 1u64 << 62),
        (10, 1 << 60),
        (8, 1 << 61),
        (9, 1 << 59),
    ] {
        let mut w = Raw::header(3, 0, 1);
        w.str("a").u32(9).u32(ty).u64(len).pad_to(256);
        assert!(unbacked(&parse_err(&w.0)), "{ty}");
    }
    // Arrays nested deeper than anything real, however long the file.
    let mut w = Raw::header(3, 0, 1);
    w.str("deep").u32(9);
    for _ in 0..64 {
        w.u32(9).u64(1);
    }
    assert!(matches!(parse_err(&w.0), ModelError::LimitExceeded { .. }));
    assert!(matches!(
        parse_err(seed("nested-arrays.gguf")),
        ModelError::LimitExceeded { .. }
    ));
    // More array elements than any vocabulary needs, each backed by a byte: refused, since
    // decoded they would take 32 times the file's size.
    let n = MAX_METADATA_VALUES / 2 + 1;
    let mut w = Raw::header(3, 0, 2);
    for key in ["a", "b"] {
        w.str(key).u32(9).u32(0).u64(n);
        w.0.resize(w.0.len() + n as usize, 7);
    }
    assert_eq!(
        parse_err(&w.0),
        ModelError::LimitExceeded {
            what: "metadata array elements",
            value: 2 * n,
            limit: MAX_METADATA_VALUES
        }
    );
    // Unknown value types (as a value and as an array's element type), a bool that is not 0/1.
    for bad in [&[99u32][..], &[13], &[u32::MAX], &[9, 13], &[9, u32::MAX]] {
        let mut w = Raw::header(3, 0, 1);
        w.str("x");
        for &t in bad {
            w.u32(t);
        }
        w.pad_to(64);
        assert!(
            matches!(parse_err(&w.0), ModelError::Malformed(_)),
            "{bad:?}"
        );
    }
    let mut w = Raw::header(3, 0, 1);
    w.str("x").u32(7).0.push(2);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
    // Keys and names that are not UTF-8, a key given twice.
    let mut w = Raw::header(3, 0, 1);
    w.u64(2).0.extend_from_slice(&[0xff, 0xfe]);
    w.u32(4).u32(1);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
    let mut w = Raw::header(3, 0, 2);
    w.kv("k", &Value::U32(1)).kv("k", &Value::U32(2));
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
}

#[test]
fn absurd_tensors_are_refused() {
    let cases: Vec<(&str, Vec<u64>, u32, u64)> = vec![
        ("no dims", vec![], 0, 0),
        ("five dims", vec![32, 1, 1, 1, 1], 0, 0),
        ("zero dim", vec![32, 0], 0, 0),
        ("huge dims", vec![1 << 40, 1 << 40], 0, 0),
        ("dims at u64::MAX", vec![u64::MAX], 0, 0),
        ("overflowing product", vec![u64::MAX / 2, 4], 0, 0),
        (
            "product over 2^64",
            vec![1 << 32, 1 << 32, 1 << 32, 16],
            0,
            0,
        ),
        (
            "product over 2^32 (wasm32's usize)",
            vec![1 << 16, 1 << 16, 2],
            0,
            0,
        ),
        ("not a block multiple", vec![33], 2, 0),
        ("misaligned offset", vec![8], 0, 4),
        ("past the end", vec![8], 0, 1 << 20),
        (
            "offset at u64::MAX rounded to 32",
            vec![8],
            0,
            u64::MAX - 31,
        ),
        ("data one byte past the end", vec![9], 0, 0),
    ];
    for (what, dims, ty, offset) in cases {
        let mut w = Raw::header(3, 1, 0);
        w.tensor("t", &dims, ty, offset).pad_to(32);
        w.0.resize(w.0.len() + 32, 0);
        let e = parse_err(&w.0);
        assert!(
            matches!(e, ModelError::Malformed(_) | ModelError::Truncated { .. }),
            "{what}: {e:?}"
        );
    }
    // A dimension count far beyond the limit, read before any dimension.
    let mut w = Raw::header(3, 1, 0);
    w.str("t").u32(u32::MAX).pad_to(64);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
    assert!(matches!(
        parse_err(seed("overflowing-dims.gguf")),
        ModelError::Malformed(_) | ModelError::Truncated { .. }
    ));
    // The same name twice; an alignment that is not a power of two, or absurd.
    let mut w = Raw::header(3, 2, 0);
    w.tensor("t", &[8], 0, 0)
        .tensor("t", &[8], 0, 32)
        .pad_to(32);
    w.0.resize(w.0.len() + 64, 0);
    assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)));
    for a in [Value::U32(0), Value::U32(3), Value::U64(1 << 40), s("32")] {
        let mut w = Raw::header(3, 0, 1);
        w.kv("general.alignment", &a);
        assert!(matches!(parse_err(&w.0), ModelError::Malformed(_)), "{a:?}");
    }
}

#[test]
fn unsupported_tensor_types_are_named() {
    // 4 and 5 (Q4_2, Q4_3) were removed from GGML; 16..=29 are the i-quants and others candle
    // has no kernels for; 39 is MXFP4.
    for type_id in [4u32, 5, 16, 20, 29, 31, 39, 99, u32::MAX] {
        let mut w = Raw::header(3, 1, 0);
        w.tensor("blk.0.ffn_up.weight", &[256], type_id, 0)
            .pad_to(32);
        w.0.resize(w.0.len() + 1024, 0);
        assert_eq!(
            parse_err(&w.0),
            ModelError::UnsupportedTensorType {
                name: "blk.0.ffn_up.weight".into(),
                type_id
            }
        );
    }
    assert!(matches!(
        parse_err(seed("unsupported-tensor-type.gguf")),
        ModelError::UnsupportedTensorType { type_id: 99, .. }
    ));
}

#[test]
fn unknown_or_missing_architecture_is_typed() {
    let smollm = VALID[0].1;
    let mamba = rewrite(smollm, &[("general.architecture", Some(s("mamba")))]);
    assert_eq!(
        load_causal_lm(ModelBytes::new(mamba.clone())).unwrap_err(),
        ModelError::UnsupportedArchitecture("mamba".into())
    );
    assert_eq!(
        TextGeneration::from_gguf(ModelBytes::new(mamba)).unwrap_err(),
        GenerationError::Model(ModelError::UnsupportedArchitecture("mamba".into()))
    );
    let none = rewrite(smollm, &[("general.architecture", None)]);
    assert!(matches!(
        load_causal_lm(ModelBytes::new(none)).unwrap_err(),
        ModelError::MissingMetadata { .. }
    ));
    let number = rewrite(smollm, &[("general.architecture", Some(Value::U32(1)))]);
    assert!(matches!(
        load_causal_lm(ModelBytes::new(number)).unwrap_err(),
        ModelError::MetadataType { .. }
    ));
    // A known architecture whose tensors do not match its hyperparameters (the seed keeps
    // SmolLM2's hyperparameters but has tiny tensors).
    let e = load_causal_lm(ModelBytes::new(smollm.to_vec())).unwrap_err();
    assert!(
        matches!(
            e,
            ModelError::TensorShape { .. } | ModelError::MissingTensor(_)
        ),
        "{e:?}"
    );
}

/// A tiny but complete gpt2 vocabulary with one key changed (`None` removes it).
fn gpt2_with(key: &str, value: Option<Value>) -> Result<Tokenizer, TokenizerError> {
    let mut md = vec![
        ("tokenizer.ggml.model", s("gpt2")),
        (
            "tokenizer.ggml.tokens",
            Value::Array(["<s>", "a", "b", "ab", "Ġ", "Ġab"].map(s).to_vec()),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array(vec![Value::I32(3); 6]),
        ),
        (
            "tokenizer.ggml.merges",
            Value::Array(vec![s("a b"), s("Ġ ab")]),
        ),
        ("tokenizer.ggml.bos_token_id", Value::U32(0)),
    ];
    md.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        md.push((key, v));
    }
    let bytes = gguf(&md, &[]);
    Tokenizer::from_gguf(&GgufFile::parse(&bytes).unwrap().metadata)
}

#[test]
fn tokenizer_metadata_errors_are_typed() {
    use TokenizerError as E;
    assert!(gpt2_with("none", None).is_ok());
    /// A metadata key, its new value (`None`: removed), and the error expected.
    type Case = (&'static str, Option<Value>, fn(&E) -> bool);
    let cases: Vec<Case> = vec![
        ("tokenizer.ggml.model", None, |e| {
            matches!(e, E::Metadata(_))
        }),
        (
            "tokenizer.ggml.model",
            Some(s("rwkv")),
            |e| matches!(e, E::UnsupportedModel(m) if m == "rwkv"),
        ),
        ("tokenizer.ggml.model", Some(Value::U8(1)), |e| {
            matches!(e, E::Metadata(_))
        }),
        ("tokenizer.ggml.pre", Some(s("nonsense")), |e| {
            matches!(e, E::UnsupportedPreTokenizer(_))
        }),
        ("tokenizer.ggml.tokens", None, |e| {
            matches!(e, E::Metadata(_))
        }),
        ("tokenizer.ggml.tokens", Some(s("a")), |e| {
            matches!(e, E::Metadata(_))
        }),
        ("tokenizer.ggml.tokens", Some(Value::Array(vec![])), |e| {
            matches!(e, E::Metadata(_))
        }),
        (
            "tokenizer.ggml.tokens",
            Some(Value::Array(vec![Value::U32(1)])),
            |e| matches!(e, E::Metadata(_)),
        ),
        (
            "tokenizer.ggml.token_type",
            Some(Value::Array(vec![Value::I32(1)])),
            |e| matches!(e, E::Metadata(_)),
        ),
        (
            "tokenizer.ggml.token_type",
            Some(Value::Array(vec![s("x"); 6])),
            |e| matches!(e, E::Metadata(_)),
        ),
        ("tokenizer.ggml.bos_token_id", Some(Value::U32(6)), |e| {
            matches!(e, E::Metadata(_))
        }),
        ("tokenizer.ggml.eos_token_id", Some(Value::I64(-1)), |e| {
            matches!(e, E::Metadata(_))
        }),
        ("tokenizer.ggml.merges", None, |e| {
            matches!(e, E::Metadata(_))
        }),
        (
            "tokenizer.ggml.merges",
            Some(Value::Array(vec![s("ab")])),
            |e| matches!(e, E::Metadata(_)),
        ),
        (
            "tokenizer.ggml.merges",
            Some(Value::Array(vec![s(" ")])),
            |e| matches!(e, E::Metadata(_)),
        ),
        // Parts or results that are not in the vocabulary (checked before `tokenizers` sees
        // them: it panics on a pair longer than the longest token).
        (
            "tokenizer.ggml.merges",
            Some(Value::Array(vec![s("x y")])),
            |e| matches!(e, E::Metadata(_)),
        ),
        (
            "tokenizer.ggml.merges",
            Some(Value::Array(vec![s("b a")])),
            |e| matches!(e, E::Metadata(_)),
        ),
        (
            "tokenizer.ggml.merges",
            Some(Value::Array(vec![s("ab ab")])),
            |e| matches!(e, E::Metadata(_)),
        ),
        ("tokenizer.ggml.add_bos_token", Some(Value::U32(1)), |e| {
            matches!(e, E::Metadata(_))
        }),
    ];
    for (key, value, ok) in cases {
        let e = gpt2_with(key, value.clone()).expect_err(key);
        assert!(ok(&e), "{key} = {value:?}: {e:?}");
    }
    // SentencePiece: scores are required, one per token.
    let spm = |scores: Option<Value>| {
        let mut md = vec![
            ("tokenizer.ggml.model", s("llama")),
            (
                "tokenizer.ggml.tokens",
                Value::Array(["<unk>", "<s>", "▁a"].map(s).to_vec()),
            ),
        ];
        md.extend(scores.map(|v| ("tokenizer.ggml.scores", v)));
        Tokenizer::from_gguf(&GgufFile::parse(&gguf(&md, &[])).unwrap().metadata)
    };
    assert!(spm(Some(Value::Array(vec![Value::F32(0.0); 3]))).is_ok());
    for bad in [
        None,
        Some(Value::Array(vec![Value::F32(0.0); 2])),
        Some(Value::Array(vec![s("x"); 3])),
    ] {
        assert!(matches!(spm(bad), Err(E::Metadata(_))));
    }
    for name in ["tokenizer-bad-bos.gguf", "tokenizer-spm-no-scores.gguf"] {
        let file = GgufFile::parse(seed(name)).unwrap();
        assert!(
            matches!(Tokenizer::from_gguf(&file.metadata), Err(E::Metadata(_))),
            "{name}"
        );
    }
}

#[test]
fn templates_that_raise_or_fail_are_typed() {
    let user = chat(&[(Role::User, "hi")]);
    let render = |src: &str| ChatTemplate::new(src, "<s>", "</s>").render(&user, true);
    assert_eq!(
        render("{{ raise_exception('No users here') }}"),
        Err(TemplateError::Raised("No users here".into()))
    );
    // Raised inside a loop and an if, as real templates do.
    assert_eq!(
        render(
            "{% for m in messages %}{% if m.role == 'user' %}{{ raise_exception('nope') }}{% endif %}{% endfor %}"
        ),
        Err(TemplateError::Raised("nope".into()))
    );
    for (what, src) in [
        ("unclosed tag", "{% for m in messages %}{{ m.content"),
        ("unclosed block", "{% for %}"),
        ("unknown filter", "{{ messages | frobnicate }}"),
        ("unknown function", "{{ frobnicate() }}"),
        ("call of a string", "{{ 'a'() }}"),
        ("division by zero", "{{ 1 // 0 }}"),
        (
            "index of a number",
            "{{ messages[0].content[0][0][0].x.y }}",
        ),
        (
            "raise_exception without a message",
            "{{ raise_exception() }}",
        ),
        (
            "endless loops (fuel)",
            "{% for i in range(99999) %}{% for j in range(99999) %}{{ i }}{% endfor %}{% endfor %}",
        ),
        (
            "recursion",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        ),
        ("string too large", "{{ 'a' * 10000000000 }}"),
        (
            "range too large",
            "{% for i in range(10000000) %}{% endfor %}",
        ),
    ] {
        assert!(
            matches!(render(src), Err(TemplateError::Render(_))),
            "{what}: {:?}",
            render(src)
        );
    }
    // Deep nesting is refused by the parser, not by the stack.
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(render(&deep), Err(TemplateError::Render(_))));
    let deep = "{% if true %}".repeat(2000);
    assert!(matches!(render(&deep), Err(TemplateError::Render(_))));

    // Llama 2's real template raises when roles do not alternate.
    let file = GgufFile::parse(seed("llama-spm.gguf")).unwrap();
    let llama2 = ChatTemplate::new(
        file.metadata.str("tokenizer.chat_template").unwrap(),
        "<s>",
        "</s>",
    );
    assert!(matches!(
        llama2.render(&chat(&[(Role::User, "a"), (Role::User, "b")]), true),
        Err(TemplateError::Raised(m)) if m.contains("alternate")
    ));
    // The hostile seeds, the template coming from the file.
    for (name, raised) in [
        ("template-raises.gguf", true),
        ("template-unparsable.gguf", false),
        ("template-endless.gguf", false),
    ] {
        let file = GgufFile::parse(seed(name)).unwrap();
        let t = ChatTemplate::new(
            file.metadata.str("tokenizer.chat_template").unwrap(),
            "",
            "",
        );
        let e = t.render(&user, true).unwrap_err();
        assert_eq!(
            matches!(e, TemplateError::Raised(_)),
            raised,
            "{name}: {e:?}"
        );
    }
}

#[test]
fn long_chats_fit_the_template_fuel() {
    // The fuel bound stops hostile templates, not real ones: a 1000-message chat through
    // each seed's real template renders.
    let mut messages = vec![ChatMessage::new(Role::System, "Be brief.")];
    for i in 0..500 {
        messages.push(ChatMessage::new(Role::User, format!("Question {i}?")));
        messages.push(ChatMessage::new(Role::Assistant, format!("Answer {i}.")));
    }
    for (name, bytes) in VALID {
        let file = GgufFile::parse(bytes).unwrap();
        let t = ChatTemplate::new(
            file.metadata.str("tokenizer.chat_template").unwrap(),
            "<s>",
            "</s>",
        );
        let text = t
            .render(&messages, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains("Answer 499."), "{name}");
    }
}

#[test]
fn the_fuzz_target_survives_its_corpus() {
    for (_, bytes) in REPLAY {
        fuzz_targets::gguf_text(bytes);
        // And every prefix of the small hostile ones.
        if bytes.len() < 1024 {
            for cut in 0..bytes.len() {
                fuzz_targets::gguf_text(&bytes[..cut]);
            }
        }
    }
}
