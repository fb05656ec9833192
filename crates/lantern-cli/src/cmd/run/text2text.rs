//! `lantern run translation|summarization --model ORG/NAME[@REV] --input TEXT [--num-beams B]
//! [--max-tokens N] [--min-length N] [--length-penalty P] [--no-repeat-ngram-size N]
//! [--repetition-penalty P] [--early-stopping true|false|never] [--task-params KEY] [--json]`
//!
//! An encoder-decoder (Marian, T5, BART) from safetensors, as transformers' translation and
//! summarization pipelines run it: the model's generation settings (`generation_config.json`,
//! T5's `task_specific_params` and their prefixes), greedy or beam search, options that change
//! them. The text is printed; `--json` prints one object:
//! `{"text", "tokens", "input_tokens", "generated_tokens", "elapsed_s", "backend"}` (`tokens`:
//! the generated ids, the decoder's start token and a final end token included, as
//! `generate()` returns them). Inputs longer than the model's maximum are cut, with a warning
//! on stderr.

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use lantern_core::protocol::{EarlyStopping, Never, Text2TextInput, Text2TextOptions};
use lantern_hub::RepoRef;
use lantern_pipelines::device::Device;
use lantern_pipelines::tasks::Wanted;
use lantern_pipelines::text2text::{self, Text2TextTask};

use crate::args::HubArgs;

/// transformers' `early_stopping`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EarlyStoppingArg {
    True,
    False,
    Never,
}

#[derive(Debug, Args)]
pub struct Text2TextArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// The text to translate or summarize.
    #[arg(long)]
    pub input: String,
    /// Beam search width (1: greedy); default: the model's.
    #[arg(long)]
    pub num_beams: Option<usize>,
    /// Most new tokens; default: the model's (its max_length, else 256).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// The shortest output in tokens, the decoder's start token counted (transformers'
    /// min_length).
    #[arg(long)]
    pub min_length: Option<usize>,
    /// A finished beam's score is its log-probability over length^P: above 0 favours longer
    /// outputs.
    #[arg(long)]
    pub length_penalty: Option<f32>,
    /// No n-gram of this size twice in the output (0: off).
    #[arg(long)]
    pub no_repeat_ngram_size: Option<usize>,
    /// Above 1: tokens already in the output are less likely.
    #[arg(long)]
    pub repetition_penalty: Option<f32>,
    /// When beam search stops.
    #[arg(long, value_enum)]
    pub early_stopping: Option<EarlyStoppingArg>,
    /// T5: the task_specific_params entry to use (its prefix and settings), e.g.
    /// translation_en_to_fr.
    #[arg(long)]
    pub task_params: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(task: Text2TextTask, args: Text2TextArgs) -> anyhow::Result<()> {
    let source = super::task_files(
        task.task(),
        &args.model,
        Wanted::Choose,
        &args.hub,
        args.quiet || args.json,
    )
    .await?;
    let input = Text2TextInput {
        text: args.input.clone(),
        options: Text2TextOptions {
            num_beams: args.num_beams,
            max_new_tokens: args.max_tokens,
            min_length: args.min_length,
            length_penalty: args.length_penalty,
            no_repeat_ngram_size: args.no_repeat_ngram_size,
            repetition_penalty: args.repetition_penalty,
            early_stopping: args.early_stopping.map(|e| match e {
                EarlyStoppingArg::True => EarlyStopping::Bool(true),
                EarlyStoppingArg::False => EarlyStopping::Bool(false),
                EarlyStoppingArg::Never => EarlyStopping::Never(Never::Never),
            }),
            task_params: args.task_params.clone(),
        },
    };
    let model = args.model.clone();
    // The search is CPU-bound: keep it off the async workers. On the CPU nothing in loading or
    // generating waits for an event loop.
    let (out, elapsed_s, backend) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let pipeline = futures_util::FutureExt::now_or_never(text2text::load(&source, Device::Cpu))
            .context("loading waited for an event loop")?
            .with_context(|| format!("cannot load {model}"))?
            .pipeline;
        let started = std::time::Instant::now();
        let out = pipeline.generate(task, &input, &mut |_| {}, &|| false)?;
        Ok((
            out,
            started.elapsed().as_secs_f64(),
            pipeline.backend_name(),
        ))
    })
    .await
    .context("the generation thread failed")??;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        let v = serde_json::json!({
            "text": out.text,
            "tokens": out.tokens,
            "input_tokens": out.input_tokens,
            "generated_tokens": out.generated_tokens,
            "elapsed_s": elapsed_s,
            "backend": backend,
        });
        return super::print(&format!("{}\n", serde_json::to_string(&v)?));
    }
    super::print(&format!("{}\n", out.text))?;
    if !args.quiet {
        eprintln!(
            "{} input tokens, {} generated in {elapsed_s:.2} s ({:.1} tokens/s, {backend})",
            out.input_tokens,
            out.generated_tokens,
            out.generated_tokens as f64 / elapsed_s.max(1e-9)
        );
    }
    Ok(())
}
