//! `lantern run text-classification --model ORG/NAME[@REV] --input TEXT... [--pair TEXT]
//! [--top-k K] [--json]`
//!
//! Labels and scores for each input, best first, as transformers' text-classification pipeline
//! gives them (`--json`: `{"results": [[{"label", "score"}, ...], ...]}`, one list per input).
//! `--pair` makes every input a pair with that text (a premise and a hypothesis for NLI, a
//! query and a passage for a cross-encoder). Inputs longer than the model's maximum are cut,
//! with a warning on stderr.

use std::io::Write as _;

use anyhow::Context as _;
use clap::Args;
use futures_util::FutureExt;
use lantern_core::Task;
use lantern_core::protocol::TextInput;
use lantern_hub::RepoRef;
use lantern_pipelines::device::Device;
use lantern_pipelines::tasks::Wanted;
use lantern_pipelines::text_classification;

use crate::args::HubArgs;

#[derive(Debug, Args)]
pub struct TextClassificationArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// Texts to classify: `--input A B` or `--input A --input B`.
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<String>,
    /// A second text paired with every input (NLI hypothesis, a passage for a query).
    #[arg(long)]
    pub pair: Option<String>,
    /// Only the best K labels of each input (default: all).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Print `{"results": [[{"label", "score"}, ...], ...]}` instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(args: TextClassificationArgs) -> anyhow::Result<()> {
    let source = super::task_files(
        Task::TextClassification,
        &args.model,
        Wanted::Choose,
        &args.hub,
        args.quiet || args.json,
    )
    .await?;
    let inputs: Vec<TextInput> = args
        .input
        .iter()
        .map(|text| TextInput {
            text: text.clone(),
            text_pair: args.pair.clone(),
        })
        .collect();
    let top_k = args.top_k;
    let model = args.model.clone();
    // The forward pass is CPU-bound: keep it off the async workers. On the CPU nothing in
    // loading or classifying waits for an event loop.
    let labels = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let classifier = text_classification::load(&source, Device::Cpu)
            .now_or_never()
            .context("loading waited for an event loop")?
            .with_context(|| format!("cannot load {model}"))?
            .pipeline;
        Ok(classifier.classify(&inputs, top_k)?)
    })
    .await
    .context("the classification thread failed")??;
    for w in &labels.warnings {
        eprintln!("warning: {w}");
    }

    let out = if args.json {
        format!(
            "{}\n",
            serde_json::to_string(&serde_json::json!({ "results": labels.results }))?
        )
    } else {
        let mut out = String::new();
        for (input, ranked) in args.input.iter().zip(&labels.results) {
            match &args.pair {
                Some(pair) => out += &format!("{input:?} / {pair:?}\n"),
                None => out += &format!("{input:?}\n"),
            }
            for l in ranked {
                let bar = "█".repeat((l.score.clamp(0.0, 1.0) * 30.0).round() as usize);
                out += &format!("  {:>8.4}  {:<20} {bar}\n", l.score, l.label);
            }
        }
        out
    };
    // A closed pipe (`| head`) ends the output quietly instead of panicking as println! does.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
