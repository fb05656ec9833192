//! Native translation / summarization benchmark: tokens/s of Lantern's `translation` and
//! `summarization` pipeline on the CPU, greedy and beam 4, on a model folder made by
//! scripts/reference/bench_text2text.py (`make`): the model's Hub files and bench.json, which
//! holds the fixed 60-token input (its ids, and `input_text`: the text that tokenizes to exactly
//! them), the number of new tokens (64), and transformers' `generate()` ids for both modes.
//! Run through scripts/bench-text2text.sh, which runs onnxruntime (native and web), torch and
//! Lantern's worker in Chromium beside it and prints the tables.
//!
//! `cargo run --release -p lantern-pipelines --example text2text_bench -- MODEL_DIR
//!  [--task translation|summarization] [--runs R]`
//! prints one JSON line per mode (greedy, beam4): tokens/s (new tokens / the median of R runs
//! after one warm-up; each run the whole request: tokenizing, the encoder, every decoder step,
//! the streamed text of the best beam, the decoded output), the slowest and fastest, the time
//! to the first token, the load time, the peak resident memory, and whether the ids equal
//! transformers' (`same_ids_as_torch`) and the input its (`same_input_ids`).
//! Threads: `RAYON_NUM_THREADS`.
//!
//! The same work as the reference: `generate(min_new_tokens = max_new_tokens = 64,
//! no_repeat_ngram_size = 0, repetition_penalty = 1, bad_words_ids = None, forced_eos_token_id =
//! None, renormalize_logits = False, length_penalty = 1, early_stopping = False)`, so EOS is
//! masked until the 64th token and nothing else changes the scores. The request's options give
//! all but three of those (64 new tokens, at least 65 with the decoder start, the penalties,
//! the stopping rule); the three that a request cannot turn off (Marian's generation_config
//! bans its pad token, forces EOS at the last step and renormalizes the scores) are turned off
//! in the settings the pipeline made from them before it runs — what the browser rows get from
//! a served generation_config.json without those keys.

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
    use std::path::PathBuf;
    use std::time::Instant;

    use futures_util::FutureExt;
    use lantern_core::Task;
    use lantern_core::protocol::{EarlyStopping, Partial, Text2TextInput, Text2TextOptions};
    use lantern_pipelines::device::Device;
    use lantern_pipelines::source::DirSource;
    use lantern_pipelines::tasks::{self, LoadOptions, Pipeline};
    use lantern_pipelines::text2text::Text2TextTask;

    type BoxError = Box<dyn std::error::Error>;

    const WARMUP: usize = 1;
    const BEAMS: usize = 4;

    pub fn main() -> Result<(), BoxError> {
        let args: Vec<String> = std::env::args().collect();
        let usage =
            "usage: text2text_bench MODEL_DIR [--task translation|summarization] [--runs R]";
        let dir = PathBuf::from(args.get(1).ok_or(usage)?);
        let mut runs = 3usize;
        let mut task = None;
        let mut rest = args.iter().skip(2);
        while let Some(arg) = rest.next() {
            let value = rest.next().ok_or(usage)?;
            match arg.as_str() {
                "--runs" => runs = value.parse::<usize>()?.max(1),
                "--task" => {
                    task = Some(match value.as_str() {
                        "translation" => Task::Translation,
                        "summarization" => Task::Summarization,
                        other => return Err(format!("unknown task {other}; {usage}").into()),
                    })
                }
                other => return Err(format!("unknown argument {other}; {usage}").into()),
            }
        }
        let model = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let bench: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("bench.json"))?)?;
        let ids = |v: &serde_json::Value| -> Option<Vec<u32>> {
            v.as_array()?
                .iter()
                .map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
                .collect()
        };
        let input_ids = ids(&bench["input_ids"]).ok_or("bench.json has no input_ids")?;
        let text = bench["input_text"]
            .as_str()
            .ok_or("bench.json has no input_text (scripts/reference/bench_text2text.py make)")?;
        let new_tokens = bench["new_tokens"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("bench.json has no new_tokens")?;
        // Marian translates, T5 summarizes (the random t5-small has no task prefixes, so the
        // input is the same either way).
        let task = match task {
            Some(t) => t,
            None if model.contains("t5") => Task::Summarization,
            None => Task::Translation,
        };

        let t0 = Instant::now();
        let source = DirSource::new(&dir)?;
        let loaded = tasks::load(task, &source, Device::Cpu, &LoadOptions::default())
            .now_or_never()
            .ok_or("loading from a folder onto the CPU waits for nothing")??;
        let load_s = t0.elapsed().as_secs_f64();
        let Pipeline::Text2Text(pipeline, _) = loaded.pipeline else {
            return Err("the task loaded another pipeline".into());
        };
        let t2t_task = Text2TextTask::of(task).ok_or("not a text-to-text task")?;

        for (mode, beams) in [("greedy", 1), ("beam4", BEAMS)] {
            let input = Text2TextInput {
                text: text.to_owned(),
                options: Text2TextOptions {
                    num_beams: Some(beams),
                    max_new_tokens: Some(new_tokens),
                    // With the decoder start token: EOS masked until the last new token.
                    min_length: Some(new_tokens + 1),
                    length_penalty: Some(1.0),
                    no_repeat_ngram_size: Some(0),
                    repetition_penalty: Some(1.0),
                    early_stopping: Some(EarlyStopping::Bool(false)),
                    task_params: None,
                },
            };
            let prepared = pipeline.prepare(t2t_task, &input)?;
            let mut config = pipeline.generation_config(t2t_task, &input)?;
            config.bad_words_ids.clear();
            config.forced_eos_token_id.clear();
            config.renormalize_logits = false;

            let mut times = Vec::with_capacity(runs);
            let mut first = Vec::with_capacity(runs);
            let mut output = None;
            for run in 0..WARMUP + runs {
                let t = Instant::now();
                let mut first_s = None;
                let mut partial = |p: Partial| {
                    if first_s.is_none() && matches!(p, Partial::GeneratedText { .. }) {
                        first_s = Some(t.elapsed().as_secs_f64());
                    }
                };
                let out = pipeline
                    .run_async(&prepared, &config, &mut partial, &|| false)
                    .now_or_never()
                    .ok_or("generation on the CPU waits for nothing")??;
                let s = t.elapsed().as_secs_f64();
                if run >= WARMUP {
                    times.push(s);
                    first.push(first_s.unwrap_or(f64::NAN));
                }
                output = Some(out);
            }
            let out = output.ok_or("no run")?;
            times.sort_by(f64::total_cmp);
            first.sort_by(f64::total_cmp);
            let want = ids(&bench["torch"][mode]);
            let n = new_tokens as f64;
            let row = serde_json::json!({
                "engine": "lantern",
                "target": "native",
                "model": model,
                "task": task.as_str(),
                "mode": mode,
                "threads": rayon::current_num_threads(),
                "backend": pipeline.backend_name(),
                "input_tokens": prepared.ids.len(),
                "new_tokens": out.generated_tokens,
                "runs": runs,
                "load_s": load_s,
                "tokens_per_s": n / times[runs / 2],
                "tokens_per_s_range": [n / times[runs - 1], n / times[0]],
                "first_token_s": first[runs / 2],
                "same_input_ids": prepared.ids == input_ids,
                "same_ids_as_torch": want.as_ref() == Some(&out.tokens),
                "peak_rss_mib": peak_rss_mib(),
            });
            println!("{row}");
        }
        Ok(())
    }

    fn peak_rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}
