//! Native text-generation benchmark: the pipeline the CLI and the browser worker run, on one
//! GGUF file, with the chat prompt of `bench/prompt.json` (128 tokens through SmolLM2's
//! template) and 128 new greedy tokens (`ignore_eos`). Run through `bench/run.sh`, which also
//! runs llama.cpp, the browser side and wllama, and prints the table.
//!
//! `cargo run --release -p lantern-pipelines --example text_generation_bench -- MODEL.gguf PROMPT.json [RUNS]`
//! prints one JSON line: load time, prefill and decode tokens/s (median, min, max over the
//! runs after one warm-up run), and the process's peak resident memory. Threads:
//! `RAYON_NUM_THREADS`. `--prompt-only` prints the templated prompt and its token count.

// Also builds for wasm32-wasip1 (run under Node's WASI: the same simd128 kernels as the
// browser build, profiled with `node --cpu-prof`; see bench/README.md).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `lantern` CLI does: the peak memory is then what a user of the CLI sees.
    lantern_pipelines::process::use_one_malloc_arena();
    native::main()
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod native {
    use std::time::Instant;

    use lantern_core::{ChatMessage, Role, SamplingParams};
    use lantern_models::ModelBytes;
    use lantern_pipelines::text_generation::{Prompt, TextGeneration};

    type BoxError = Box<dyn std::error::Error>;

    const NEW_TOKENS: usize = 128;

    pub fn main() -> Result<(), BoxError> {
        let args: Vec<String> = std::env::args().collect();
        let (Some(model), Some(prompt_file)) = (args.get(1), args.get(2)) else {
            return Err(
                "usage: text_generation_bench MODEL.gguf PROMPT.json [RUNS|--prompt-only]".into(),
            );
        };
        let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(prompt_file)?)?;
        let text = |k: &str| -> Result<String, BoxError> {
            Ok(spec[k]
                .as_str()
                .ok_or(format!("{prompt_file}: no {k}"))?
                .to_owned())
        };
        let prompt = Prompt::Chat(vec![
            ChatMessage::new(Role::System, text("system")?),
            ChatMessage::new(Role::User, text("user")?),
        ]);

        let t0 = Instant::now();
        let bytes = std::fs::read(model)?;
        let file_bytes = bytes.len();
        let mut pipe = TextGeneration::from_gguf(ModelBytes::new(bytes))?;
        let load_s = t0.elapsed().as_secs_f64();

        if args.get(3).map(String::as_str) == Some("--prompt-only") {
            let ids = pipe.prompt_tokens(&prompt)?;
            let rendered = match &prompt {
                Prompt::Chat(m) => pipe
                    .chat_template()
                    .ok_or("no chat template")?
                    .render(m, true)?,
                Prompt::Raw(t) => t.clone(),
            };
            println!(
                "{}",
                serde_json::json!({"text": rendered, "tokens": ids.len(), "ids": ids})
            );
            return Ok(());
        }
        let runs: usize = args.get(3).map(|r| r.parse()).transpose()?.unwrap_or(5);

        let params = SamplingParams {
            max_tokens: NEW_TOKENS,
            ignore_eos: true,
            ..SamplingParams::default()
        };
        let (mut prefill, mut decode) = (Vec::new(), Vec::new());
        let mut prompt_tokens = 0;
        let mut generated = 0;
        // The first run warms caches and the allocator; it is not counted.
        for run in 0..=runs {
            pipe.clear_cache();
            let g = pipe.generate(&prompt, &params, &mut |_| {}, &|| false)?;
            prompt_tokens = g.prompt_tokens;
            generated = g.generated_tokens;
            if run > 0 {
                prefill.push(g.prefill_tok_s);
                decode.push(g.decode_tok_s);
            }
        }
        println!(
            "{}",
            serde_json::json!({
                "engine": "lantern-native",
                "model": std::path::Path::new(model).file_name().map(|f| f.to_string_lossy()),
                "file_bytes": file_bytes,
                "threads": rayon_threads(),
                "runs": runs,
                "load_s": load_s,
                "prompt_tokens": prompt_tokens,
                "generated_tokens": generated,
                "prefill_tok_s": stats(&mut prefill),
                "decode_tok_s": stats(&mut decode),
                "peak_rss_mib": peak_rss_mib(),
            })
        );
        Ok(())
    }

    /// `{median, min, max}`.
    fn stats(v: &mut [f64]) -> serde_json::Value {
        v.sort_by(f64::total_cmp);
        let median = if v.is_empty() {
            0.0
        } else if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        serde_json::json!({
            "median": median,
            "min": v.first().copied().unwrap_or(0.0),
            "max": v.last().copied().unwrap_or(0.0),
        })
    }

    fn rayon_threads() -> usize {
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The process's peak resident set (`VmHWM`), which covers loading: the file buffer, the
    /// repacked weights (in place) and every activation and cache allocated since.
    fn peak_rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}
