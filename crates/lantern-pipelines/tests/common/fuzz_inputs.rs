//! The bodies of the fuzz targets for everything else that reads outside bytes: a model
//! repository's JSON files and safetensors header, a chat template with its messages, the
//! page's `demo.json`, the page–worker messages and the Hub's API answers. None may panic.
//! Shared through `#[path]` between `fuzz/fuzz_targets/` and `tests/fuzz_replay.rs`, which
//! replays their seeds and past crashes with exactly this code, natively and in Chromium.
//!
//! Each body takes the fuzzer's bytes as they are, so a crash file is replayed without the
//! fuzzer's tools (the structured input of [`chat_template`] is a byte layout of its own, not
//! `arbitrary`'s, for that reason).

use lantern_core::protocol::{Event, Request, wire};
use lantern_core::{ChatMessage, DemoConfig, RepoPath, Role};
use lantern_models::ops::cpu::Cpu;
use lantern_models::{encoder, seq2seq, vision, whisper};
use lantern_pipelines::chat_template::ChatTemplate;
use lantern_pipelines::generation::GenerationConfig;
use lantern_pipelines::speech_recognition::GenerationConfig as WhisperGeneration;
use lantern_pipelines::text_classification::ClassifierConfig;
use lantern_pipelines::tokenizer::Tokenizer;
use lantern_pipelines::vision::VisionConfig;
use lantern_vision::ImageProcessorConfig;

/// Whitespace runs, digits, punctuation, non-ASCII, and special tokens written as text.
const TEXT: &str =
    "Hello,  world!\n\t123 456 — café 🦙 漢字 <|im_start|>user<|im_end|> <s>[INST] [CLS]";

/// The micro BERT the `safetensors` seeds are written for (`fuzz/seeds/safetensors/make.py`):
/// small enough that loading every tensor of a valid file takes microseconds, so the fuzzer's
/// time goes to the header.
pub const MICRO_BERT: &str = r#"{"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "hidden_size": 4, "intermediate_size": 8, "num_attention_heads": 2, "num_hidden_layers": 2,
  "max_position_embeddings": 8, "type_vocab_size": 2, "vocab_size": 8, "layer_norm_eps": 1e-12,
  "hidden_act": "gelu", "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}}"#;

/// Bytes as a safetensors file through the encoder loader (the `safetensors` crate's header
/// checks, then each tensor by name against the shape the config implies, widened to f32).
pub fn safetensors(data: &[u8]) {
    let cfg = encoder::Config::from_json(MICRO_BERT.as_bytes()).expect("MICRO_BERT parses");
    let _ = encoder::load_encoder(&cfg, data, encoder::EncoderOptions::default());
}

/// Bytes as a `tokenizer.json`: the tokenizer built from it, a text encoded, decoded and
/// streamed, and ids past the vocabulary.
pub fn tokenizer_json(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tok) = Tokenizer::from_json(json, Some(0), &[1]) else {
        return;
    };
    if let Ok(ids) = tok.encode(TEXT, true) {
        let _ = tok.decode(&ids, false);
        let mut stream = tok.stream(true);
        for &id in &ids {
            let _ = stream.step(id);
        }
    }
    let n = u32::try_from(tok.vocab_size()).unwrap_or(u32::MAX);
    let _ = tok.decode(&[0, n.saturating_sub(1), n, u32::MAX], true);
    let mut stream = tok.stream(false);
    for id in [n, 0, u32::MAX] {
        let _ = stream.step(id);
    }
    for id in [0, n.saturating_sub(1), n] {
        let _ = tok.token_text(id);
    }
}

/// A chat template and its messages, laid out as fields separated by `0xFF` (a byte no UTF-8
/// text holds, so every field is text the fuzzer can edit in place): the template, the BOS
/// and EOS texts, then one field per message whose first byte picks its role. The first byte
/// of all is `add_generation_prompt` (its low bit).
pub fn chat_template(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut fields = rest.split(|&b| b == 0xFF);
    let mut text = || {
        fields
            .next()
            .map(|f| String::from_utf8_lossy(f).into_owned())
    };
    let (Some(source), bos, eos) = (text(), text(), text()) else {
        return;
    };
    let template = ChatTemplate::new(source, bos.unwrap_or_default(), eos.unwrap_or_default());
    let messages: Vec<ChatMessage> = fields
        .map(|f| {
            let (role, content) = f.split_first().unwrap_or((&0, &[]));
            let role = [Role::System, Role::User, Role::Assistant][usize::from(*role) % 3];
            ChatMessage::new(role, String::from_utf8_lossy(content))
        })
        .collect();
    let _ = template.render(&messages, flags & 1 == 1);
}

/// Bytes as every model repository JSON file a supported architecture reads: `config.json`
/// of the encoders (BERT, DistilBERT, RoBERTa, XLM-RoBERTa), the seq2seq models (Marian, T5,
/// BART), Whisper, the vision models (ViT, DeiT, ResNet, EfficientNet-Lite, DETR, YOLOS: each
/// loader reads its config before the weights, which are empty here), the classifier's labels
/// and `tokenizer_config.json`; `generation_config.json` for text-to-text and Whisper;
/// `preprocessor_config.json` for images and audio. Every parser sees every input: they are
/// cheap next to the fuzzer's own work, and a seed of one family then explores them all.
pub fn configs(data: &[u8]) {
    if let Ok(cfg) = encoder::Config::from_json(data) {
        let _ = (cfg.head_dim(), cfg.num_labels(), cfg.max_tokens());
    }
    let _ = seq2seq::Config::from_json(data);
    let _ = whisper::Config::from_json(data);
    let _ = vision::load_image_classifier_on(Cpu, data, &[]);
    let _ = vision::load_object_detector_on(Cpu, data, &[]);
    if let Ok(cfg) = ClassifierConfig::from_json(data) {
        let _ = cfg.max_length(Some(data));
    }
    let _ = GenerationConfig::for_pipeline(Some(data), data, None);
    let _ = GenerationConfig::for_pipeline(None, data, None);
    let _ = GenerationConfig::for_model(None, data);
    let _ = WhisperGeneration::from_json(data);
    let _ = lantern_audio::FeatureConfig::from_json(data);
    let processor = std::str::from_utf8(data)
        .ok()
        .and_then(|text| ImageProcessorConfig::from_json(text).ok());
    if let (Ok(labels), Some(processor)) = (VisionConfig::from_json(data), processor) {
        let _ = labels.largest_buffer(&processor);
    }
}

/// Bytes as the page's `demo.json`; one that parses is written out and must parse again, the
/// same.
pub fn demo_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(demo) = DemoConfig::from_json(text) else {
        return;
    };
    let json = serde_json::to_string(&demo).expect("a parsed demo.json serializes");
    let again = DemoConfig::from_json(&json).expect("a written demo.json parses");
    assert_eq!(again, demo, "{json}");
}

/// Bytes as a message between the page and the worker: the JSON text up to the first `0xFF`,
/// then the binary attachments (the buffers transferred beside it), separated by `0xFF`. Read
/// as a request (what the worker decodes) and as an event (what the page decodes); a message
/// that decodes is encoded again and must decode again.
pub fn protocol(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0xFF);
    let Some(Ok(json)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let attachments: Vec<Vec<u8>> = parts.map(<[u8]>::to_vec).collect();
    if let Ok(request) = wire::decode::<Request>(json, attachments.clone()) {
        let w = wire::encode(&request).expect("a decoded request encodes");
        wire::decode::<Request>(&w.json, w.attachments).expect("an encoded request decodes");
    }
    if let Ok(event) = wire::decode::<Event>(json, attachments) {
        let w = wire::encode(&event).expect("a decoded event encodes");
        wire::decode::<Event>(&w.json, w.attachments).expect("an encoded event decodes");
    }
}

/// Bytes as the Hub API's answers: a revision (`{"sha": ...}`), a page of the file tree, and
/// (as text) a tree page's `Link` header. Every file of a tree page has a path that is valid
/// again on its own.
pub fn hub_json(data: &[u8]) {
    const URL: &str = "https://huggingface.co/api/models/org/name/tree/main?recursive=true";
    let _ = lantern_hub::parse_revision(data, URL);
    if let Ok(files) = lantern_hub::parse_tree_page(data, URL) {
        for f in files {
            RepoPath::new(f.path.as_str()).expect("a listed path is valid");
        }
    }
    if let Ok(link) = std::str::from_utf8(data) {
        let _ = lantern_hub::next_tree_page(URL, link);
        let _ = lantern_hub::next_tree_page("relative/page", link);
    }
}
