//! `lantern run image-classification --model ORG/NAME[@REV] --image FILE [--top-k K] [--json]`
//!
//! The best labels of an image (PNG, JPEG, WebP, GIF or BMP; EXIF orientation applied), as
//! transformers' image-classification pipeline gives them (`--json`:
//! `{"labels": [{"label", "score"}, ...]}`, best first, 5 unless `--top-k` says otherwise).
//! The file's bytes go to the pipeline as they are (`ImageData::Encoded`): it decodes them as
//! transformers' pipelines load a file, so the CLI's input is PIL's, not a browser's.

use anyhow::Context as _;
use clap::Args;
use futures_util::FutureExt;
use lantern_core::Task;
use lantern_hub::RepoRef;
use lantern_pipelines::device::Device;
use lantern_pipelines::image_classification;
use lantern_pipelines::tasks::Wanted;
use std::path::PathBuf;

use crate::args::HubArgs;

#[derive(Debug, Args)]
pub struct ImageClassificationArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// The image: PNG, JPEG, WebP, GIF (first frame) or BMP.
    #[arg(long)]
    pub image: PathBuf,
    /// The best K labels (default 5; at most the model's number of labels).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Print `{"labels": [{"label", "score"}, ...]}` instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(args: ImageClassificationArgs) -> anyhow::Result<()> {
    let image = super::read_image(&args.image)?;
    let source = super::task_files(
        Task::ImageClassification,
        &args.model,
        Wanted::Choose,
        &args.hub,
        args.quiet || args.json,
    )
    .await?;
    let (model, top_k) = (args.model.clone(), args.top_k);
    // The forward pass is CPU-bound: keep it off the async workers. On the CPU nothing in
    // loading or classifying waits for an event loop.
    let labels = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let classifier = image_classification::load(&source, Device::Cpu)
            .now_or_never()
            .context("loading waited for an event loop")?
            .with_context(|| format!("cannot load {model}"))?
            .pipeline;
        Ok(classifier.classify(image, top_k)?)
    })
    .await
    .context("the classification thread failed")??;

    let out = if args.json {
        format!("{}\n", serde_json::to_string(&labels)?)
    } else {
        let mut out = format!("{}\n", args.image.display());
        for l in &labels.labels {
            let bar = "█".repeat((l.score.clamp(0.0, 1.0) * 30.0).round() as usize);
            out += &format!("  {:>8.4}  {:<24} {bar}\n", l.score, l.label);
        }
        out
    };
    super::print(&out)
}
