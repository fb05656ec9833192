//! `lantern run object-detection --model ORG/NAME[@REV] --image FILE [--threshold T] [--json]`
//!
//! The objects in an image, as transformers' object-detection pipeline gives them (`--json`:
//! `{"detections": [{"score", "label", "box": {"xmin", "ymin", "xmax", "ymax"}}, ...]}`, boxes
//! in whole pixels of the image as the file holds it after EXIF orientation, in the model's
//! order; detections scoring above `--threshold`, 0.5 unless given). The file's bytes go to the
//! pipeline as they are, as for `image-classification`.

use anyhow::Context as _;
use clap::Args;
use futures_util::FutureExt;
use lantern_core::Task;
use lantern_hub::RepoRef;
use lantern_pipelines::device::Device;
use lantern_pipelines::object_detection;
use lantern_pipelines::tasks::Wanted;
use std::path::PathBuf;

use crate::args::HubArgs;

#[derive(Debug, Args)]
pub struct ObjectDetectionArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// The image: PNG, JPEG, WebP, GIF (first frame) or BMP.
    #[arg(long)]
    pub image: PathBuf,
    /// Keep detections scoring above this (default 0.5).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Print `{"detections": [...]}` instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(args: ObjectDetectionArgs) -> anyhow::Result<()> {
    let image = super::read_image(&args.image)?;
    let source = super::task_files(
        Task::ObjectDetection,
        &args.model,
        Wanted::Choose,
        &args.hub,
        args.quiet || args.json,
    )
    .await?;
    let (model, threshold) = (args.model.clone(), args.threshold);
    let found = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let detector = object_detection::load(&source, Device::Cpu)
            .now_or_never()
            .context("loading waited for an event loop")?
            .with_context(|| format!("cannot load {model}"))?
            .pipeline;
        Ok(detector.detect(image, threshold)?)
    })
    .await
    .context("the detection thread failed")??;

    let out = if args.json {
        format!("{}\n", serde_json::to_string(&found)?)
    } else {
        let mut out = format!(
            "{}: {} detection{}\n",
            args.image.display(),
            found.detections.len(),
            if found.detections.len() == 1 { "" } else { "s" }
        );
        for d in &found.detections {
            let b = d.bbox;
            out += &format!(
                "  {:>8.4}  {:<24} ({}, {}) to ({}, {})\n",
                d.score, d.label, b.xmin, b.ymin, b.xmax, b.ymax
            );
        }
        out
    };
    super::print(&out)
}
