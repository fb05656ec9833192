//! `lantern run text-generation --model ORG/NAME[@REV] --file F.gguf --prompt TEXT
//! [--max-tokens N] [--temperature T] [--seed S] [--json]`
//!
//! The same pipeline the browser runs, natively: the GGUF file is fetched through the Hub
//! client (HF_ENDPOINT, HF_TOKEN, the huggingface_hub cache), `--prompt` goes through the
//! model's chat template as a user message (`--raw` sends it as it is), and the reply streams
//! to stdout — or, with `--json`, one object is printed at the end:
//! `{"text", "tokens", "prompt_tokens", "generated_tokens", "prefill_tok_s", "decode_tok_s",
//! "backend"}`.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lantern_core::{ChatMessage, Role, SamplingParams};
use lantern_hub::{CancelToken, NetworkMode, Progress, RepoRef};
use lantern_pipelines::text_generation::{Overflow, Prompt, TextGeneration};

use crate::args::HubArgs;
use crate::cmd::fetch;
use crate::hf_env;

#[derive(Debug, Args)]
pub struct TextGenerationArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// The GGUF file of the repository to run.
    #[arg(long)]
    pub file: String,
    /// The user message (put through the model's chat template), or the raw text with --raw.
    #[arg(long)]
    pub prompt: String,
    /// Send the prompt as it is, without the chat template.
    #[arg(long)]
    pub raw: bool,
    /// A system message before the prompt (chat mode only).
    #[arg(long, conflicts_with = "raw")]
    pub system: Option<String>,
    /// Most new tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// 0 is greedy (the default, so runs are reproducible).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Keep the K most likely tokens (0: off).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Keep the most likely tokens up to this total probability (1: off).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Keep tokens at least this fraction as likely as the best one (0: off).
    #[arg(long, default_value_t = 0.0)]
    pub min_p: f32,
    /// Penalty for tokens of the last 64 (1: off).
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop before this text (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Never stop at an end-of-generation token (always `--max-tokens` new tokens; benchmarks).
    #[arg(long)]
    pub ignore_eos: bool,
    /// Drop the start of a prompt too long for the context window instead of failing.
    #[arg(long)]
    pub truncate: bool,
    /// Print one JSON object at the end instead of streaming the text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(args: TextGenerationArgs) -> anyhow::Result<()> {
    let client = fetch::client(&args.hub)?;
    let cache = fetch::cache(&args.hub);
    let mode = if args.hub.offline || hf_env::offline() {
        NetworkMode::Offline
    } else {
        NetworkMode::Online
    };
    let bar = if args.quiet || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.file.clone());
    };
    let cancel = CancelToken::new();
    let snapshot = client
        .snapshot(
            &args.model,
            &[args.file.as_str()],
            &cache,
            mode,
            &mut on_progress,
            &cancel,
        )
        .await
        .with_context(|| format!("cannot fetch {} from {}", args.file, args.model))?;
    bar.finish_and_clear();
    let path = snapshot
        .files
        .first()
        .context("the snapshot has no file")?
        .clone();

    // Generation is CPU work: off the async runtime, with Ctrl-C stopping it between tokens.
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.store(true, Ordering::Relaxed);
        }
    });
    tokio::task::spawn_blocking(move || generate(args, &path, &stop))
        .await
        .context("generation thread")?
}

fn generate(
    args: TextGenerationArgs,
    path: &std::path::Path,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut pipe = TextGeneration::from_gguf(bytes.into())
        .with_context(|| format!("cannot load {}", path.display()))?;
    if args.truncate {
        pipe.set_overflow(Overflow::TruncateStart);
    }
    let prompt = if args.raw {
        Prompt::Raw(args.prompt.clone())
    } else {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(ChatMessage::new(Role::System, system.clone()));
        }
        messages.push(ChatMessage::new(Role::User, args.prompt.clone()));
        Prompt::Chat(messages)
    };
    let params = SamplingParams {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repetition_penalty: args.repeat_penalty,
        max_tokens: args.max_tokens,
        seed: args.seed,
        stop: args.stop.clone(),
        ignore_eos: args.ignore_eos,
    };
    let mut stdout = std::io::stdout().lock();
    let json = args.json;
    let mut on_text = |text: &str| {
        if !json {
            // A closed pipe (`| head`) is not an error worth stopping the model for.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
    };
    let out = pipe.generate(&prompt, &params, &mut on_text, &|| {
        stop.load(Ordering::Relaxed)
    })?;
    if json {
        let line = serde_json::json!({
            "text": out.text,
            "tokens": out.tokens,
            "prompt_tokens": out.prompt_tokens,
            "generated_tokens": out.generated_tokens,
            "prefill_tok_s": out.prefill_tok_s,
            "decode_tok_s": out.decode_tok_s,
            "backend": out.backend,
            "stop_reason": out.stop_reason.as_str(),
        });
        writeln!(stdout, "{line}")?;
    } else {
        writeln!(stdout)?;
        if !args.quiet {
            eprintln!(
                "{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s ({}, stopped: {})",
                out.prompt_tokens,
                out.prefill_tok_s,
                out.generated_tokens,
                out.decode_tok_s,
                out.backend,
                out.stop_reason.as_str()
            );
        }
    }
    Ok(())
}
