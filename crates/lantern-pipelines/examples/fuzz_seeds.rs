//! Writes the fuzz target's seed corpus, `fuzz/seeds/*.gguf` (committed; see fuzz/README.md):
//! small but real GGUF headers, made from the fixture files by keeping their metadata and
//! trimming their vocabularies to a few hundred tokens, plus a few hostile files. The browser
//! and native bad-input tests (`tests/bad_input.rs`) read the same files.
//!
//! `cargo run -p lantern-pipelines --example fuzz_seeds` (after `scripts/fixtures.sh`).
//! The output is deterministic: rerunning it on the same fixtures changes nothing.

#[cfg(not(target_arch = "wasm32"))]
#[path = "../tests/common/gguf_writer.rs"]
mod gguf_writer;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    native::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::collections::{HashMap, HashSet};
    use std::path::{Path, PathBuf};

    use lantern_models::gguf::{GgmlDType, GgufFile, Value};

    use super::gguf_writer::{Raw, Tensor, gguf, s};

    /// Tokens kept from the start of each vocabulary (byte tokens and the first merges).
    const KEEP: usize = 320;
    /// Control and user-defined tokens kept from anywhere in the vocabulary.
    const KEEP_SPECIAL: usize = 24;

    const LLAMA2_TEMPLATE: &str = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    const LLAMA3_TEMPLATE: &str = "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- set date_string = strftime_now(\"%d %b %Y\") %}\n{%- endif %}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n{%- if messages[0]['role'] == 'system' %}\n    {{- messages[0]['content'] | trim }}\n    {%- set messages = messages[1:] %}\n{%- endif %}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages %}\n    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n";

    const QWEN2_TEMPLATE: &str = "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n    {{- \"\\n\\n# Tools\\n\\n<tools>\" }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n    {{- \"\\n</tools><|im_end|>\\n\" }}\n{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content | tojson + '<|im_end|>\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let fixtures = match std::env::var_os("LANTERN_FIXTURES") {
            Some(d) => PathBuf::from(d),
            None => root.join("target/fixtures"),
        };
        let out = root.join("fuzz/seeds");
        std::fs::create_dir_all(&out)?;
        let vocab = fixtures.join("llama-vocab");
        let smollm = fixtures.join(
            "mirror/lantern-fixtures/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf",
        );

        // gpt2 BPE with the `smollm` pre-tokenizer and its own ChatML template, and a tensor of
        // every supported type, so the tensor table is exercised too.
        write(
            &out,
            "smollm2.gguf",
            &trimmed(&smollm, None, &every_type())?,
        )?;
        // llama SentencePiece, with Llama 2's template (it raises on roles out of order).
        write(
            &out,
            "llama-spm.gguf",
            &trimmed(
                &vocab.join("ggml-vocab-llama-spm.gguf"),
                Some(LLAMA2_TEMPLATE),
                &[],
            )?,
        )?;
        // gpt2 BPE with the llama3 pre-tokenizer; Llama 3's template (strftime_now).
        write(
            &out,
            "llama-bpe.gguf",
            &trimmed(
                &vocab.join("ggml-vocab-llama-bpe.gguf"),
                Some(LLAMA3_TEMPLATE),
                &[],
            )?,
        )?;
        // gpt2 BPE with the qwen2 pre-tokenizer; Qwen2.5's template (tojson, loop.first).
        write(
            &out,
            "qwen2.gguf",
            &trimmed(
                &vocab.join("ggml-vocab-qwen2.gguf"),
                Some(QWEN2_TEMPLATE),
                &[],
            )?,
        )?;
        for (name, bytes) in hostile() {
            write(&out, name, &bytes)?;
        }
        Ok(())
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        println!("{name}: {} bytes", bytes.len());
        std::fs::write(dir.join(name), bytes)
    }

    /// One small tensor of every type the parser accepts, in shapes a model has (vectors,
    /// matrices whose rows are whole blocks).
    fn every_type() -> Vec<Tensor> {
        use GgmlDType::*;
        vec![
            Tensor::new("token_embd.weight", &[64, 8], Q4_1),
            Tensor::new("output_norm.weight", &[64], F32),
            Tensor::new("blk.0.attn_norm.weight", &[64], F16),
            Tensor::new("blk.0.ffn_norm.weight", &[64], BF16),
            Tensor::new("blk.0.attn_q.weight", &[64, 8], Q4_0),
            Tensor::new("blk.0.attn_k.weight", &[64, 8], Q5_0),
            Tensor::new("blk.0.attn_v.weight", &[64, 8], Q5_1),
            Tensor::new("blk.0.attn_output.weight", &[64, 8], Q8_0),
            Tensor::new("blk.0.ffn_gate.weight", &[256, 2], Q2K),
            Tensor::new("blk.0.ffn_up.weight", &[256, 2], Q3K),
            Tensor::new("blk.0.ffn_down.weight", &[256, 2], Q4K),
            Tensor::new("blk.1.ffn_gate.weight", &[256, 1], Q5K),
            Tensor::new("blk.1.ffn_up.weight", &[256, 1], Q6K),
            Tensor::new("blk.1.ffn_down.weight", &[32, 2], Q8_1),
            Tensor::new("blk.1.attn_q.weight", &[256, 1, 1, 1], Q8K),
        ]
    }

    /// The metadata of `path` with its vocabulary cut to the first [`KEEP`] tokens and up to
    /// [`KEEP_SPECIAL`] control tokens (renumbered; special token ids follow them), the merges
    /// whose parts and result are still in it, and `template` as the chat template if given.
    fn trimmed(
        path: &Path,
        template: Option<&str>,
        tensors: &[Tensor],
    ) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{}: {e} (run scripts/fixtures.sh)", path.display()))?;
        let file = GgufFile::parse(&bytes)?;
        let md = &file.metadata;
        let tokens = md.str_array("tokenizer.ggml.tokens")?;
        let types = md.i64_array("tokenizer.ggml.token_type")?;
        let special: Vec<usize> = (KEEP..tokens.len())
            .filter(|&i| matches!(types[i], 3 | 4))
            .take(KEEP_SPECIAL)
            .collect();
        // SentencePiece's word boundary on its own: without it a space decodes from byte
        // tokens as "▁" (its UTF-8 bytes) instead of " ".
        let boundary = tokens
            .iter()
            .position(|t| *t == "\u{2581}")
            .filter(|&i| i >= KEEP);
        let kept: Vec<usize> = (0..KEEP.min(tokens.len()))
            .chain(boundary)
            .chain(special)
            .collect();
        let new_id: HashMap<usize, usize> = kept.iter().enumerate().map(|(n, &o)| (o, n)).collect();
        let kept_text: HashSet<&str> = kept.iter().map(|&i| tokens[i]).collect();

        let mut out: Vec<(String, Value)> = Vec::new();
        for (key, v) in md.iter() {
            let v = match key {
                "tokenizer.ggml.tokens" => pick(v, &kept),
                "tokenizer.ggml.token_type" | "tokenizer.ggml.scores" => pick(v, &kept),
                "tokenizer.ggml.merges" => {
                    let merges = md.str_array(key)?;
                    Value::Array(
                        merges
                            .iter()
                            .filter(|m| {
                                m.split_once(' ').is_some_and(|(a, b)| {
                                    kept_text.contains(a)
                                        && kept_text.contains(b)
                                        && kept_text.contains(format!("{a}{b}").as_str())
                                })
                            })
                            .map(|m| s(m))
                            .collect(),
                    )
                }
                "tokenizer.chat_template" if template.is_some() => continue,
                k if k.starts_with("tokenizer.ggml.") && k.ends_with("_token_id") => {
                    match v.as_i64().and_then(|i| new_id.get(&(i as usize))) {
                        Some(&n) => Value::U32(n as u32),
                        None => continue,
                    }
                }
                _ => v.clone(),
            };
            out.push((key.to_owned(), v));
        }
        if let Some(t) = template {
            out.push(("tokenizer.chat_template".into(), s(t)));
        }
        let md: Vec<(&str, Value)> = out.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        Ok(gguf(&md, tensors))
    }

    fn pick(v: &Value, kept: &[usize]) -> Value {
        let items = v.as_array().unwrap_or_default();
        Value::Array(kept.iter().filter_map(|&i| items.get(i).cloned()).collect())
    }

    /// Small hostile files, each stopping a different stage: the header, the tensor table,
    /// the tokenizer, the template.
    fn hostile() -> Vec<(&'static str, Vec<u8>)> {
        let tiny_vocab = |model: &str| {
            vec![
                ("general.architecture", s("mamba")),
                ("tokenizer.ggml.model", s(model)),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(["<s>", "a", "b", "ab", "Ġ", "Ġab"].map(s).to_vec()),
                ),
                (
                    "tokenizer.ggml.merges",
                    Value::Array(vec![s("a b"), s("Ġ ab")]),
                ),
                ("tokenizer.ggml.bos_token_id", Value::U32(0)),
            ]
        };
        let mut raises = tiny_vocab("gpt2");
        raises.push((
            "tokenizer.chat_template",
            s("{% for m in messages %}{% if m.role == 'user' %}{{ raise_exception('no users here') }}{% endif %}{% endfor %}"),
        ));
        let mut unparsable = tiny_vocab("gpt2");
        unparsable.push((
            "tokenizer.chat_template",
            s("{% for m in messages %}{{ m.content"),
        ));
        let mut endless = tiny_vocab("gpt2");
        endless.push((
            "tokenizer.chat_template",
            s("{% for i in range(99999) %}{% for j in range(99999) %}{{ i }}{% endfor %}{% endfor %}"),
        ));
        let mut bad_bos = tiny_vocab("gpt2");
        bad_bos[4].1 = Value::U32(1 << 30);
        let mut nested = Raw::header(3, 0, 1);
        nested.str("deep").u32(9);
        for _ in 0..8 {
            nested.u32(9).u64(1);
        }
        let mut huge_string = Raw::header(3, 0, 1);
        huge_string.str("general.name").u32(8).u64(u64::MAX / 2);
        let mut bad_type = Raw::header(3, 1, 0);
        bad_type.tensor("t", &[32], 99, 0).pad_to(32);
        bad_type.0.extend_from_slice(&[0; 32 * 4]);
        let mut overflow = Raw::header(3, 1, 0);
        overflow
            .tensor("t", &[1 << 32, 1 << 32, 1 << 32, 16], 0, 0)
            .pad_to(32);
        vec![
            ("template-raises.gguf", gguf(&raises, &[])),
            ("template-unparsable.gguf", gguf(&unparsable, &[])),
            ("template-endless.gguf", gguf(&endless, &[])),
            ("tokenizer-bad-bos.gguf", gguf(&bad_bos, &[])),
            (
                "tokenizer-spm-no-scores.gguf",
                gguf(&tiny_vocab("llama"), &[]),
            ),
            ("nested-arrays.gguf", nested.0),
            ("huge-string.gguf", huge_string.0),
            ("unsupported-tensor-type.gguf", bad_type.0),
            ("overflowing-dims.gguf", overflow.0),
            ("bad-magic.gguf", b"GGML\x03\x00\x00\x00".to_vec()),
            ("big-endian.gguf", Raw::header(3u32.swap_bytes(), 0, 0).0),
        ]
    }
}
