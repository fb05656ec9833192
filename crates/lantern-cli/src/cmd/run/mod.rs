//! `lantern run <task>`: one file per task, registered here. What they share: fetching the
//! files a task reads (the task module decides which, [`task_files`]) into the
//! huggingface_hub cache.

pub mod automatic_speech_recognition;
pub mod feature_extraction;
pub mod image_classification;
pub mod object_detection;
pub mod text2text;
pub mod text_classification;
pub mod text_generation;

use clap::Subcommand;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lantern_core::protocol::{Binary, ImageData};
use lantern_core::{RepoRef, Task};
use lantern_hub::{CancelToken, Progress};
use lantern_pipelines::source::DirSource;
use lantern_pipelines::tasks::{self, Wanted};

use crate::args::HubArgs;
use crate::cmd::fetch;
use crate::hf_env;
use crate::hub_source::HubSource;

/// Tasks, named like the Hub's pipeline tags.
#[derive(Debug, Subcommand)]
pub enum RunTask {
    /// Generate text with a GGUF chat model.
    TextGeneration(text_generation::TextGenerationArgs),
    /// Sentence embeddings (mean pooled, L2-normalised, as sentence-transformers does).
    FeatureExtraction(feature_extraction::FeatureExtractionArgs),
    /// Labels and scores for texts or text pairs (sentiment, NLI, rerankers, tagging).
    TextClassification(text_classification::TextClassificationArgs),
    /// Speech to text with Whisper: audio files of any length, timestamps, beam search.
    AutomaticSpeechRecognition(automatic_speech_recognition::SpeechRecognitionArgs),
    /// The best labels of an image (ViT, ResNet, EfficientNet-Lite).
    ImageClassification(image_classification::ImageClassificationArgs),
    /// Labelled boxes in an image (DETR, YOLOS).
    ObjectDetection(object_detection::ObjectDetectionArgs),
    /// Translate a text with an encoder-decoder (Marian, T5, BART), beam search as
    /// transformers.
    Translation(text2text::Text2TextArgs),
    /// Summarize a text with an encoder-decoder (BART, T5), beam search as transformers.
    Summarization(text2text::Text2TextArgs),
}

pub async fn run(task: RunTask) -> anyhow::Result<()> {
    match task {
        RunTask::TextGeneration(args) => text_generation::run(args).await,
        RunTask::FeatureExtraction(args) => feature_extraction::run(args).await,
        RunTask::TextClassification(args) => text_classification::run(args).await,
        RunTask::AutomaticSpeechRecognition(args) => automatic_speech_recognition::run(args).await,
        RunTask::ImageClassification(args) => image_classification::run(args).await,
        RunTask::ObjectDetection(args) => object_detection::run(args).await,
        RunTask::Translation(args) => {
            text2text::run(
                lantern_pipelines::text2text::Text2TextTask::Translation,
                args,
            )
            .await
        }
        RunTask::Summarization(args) => {
            text2text::run(
                lantern_pipelines::text2text::Text2TextTask::Summarization,
                args,
            )
            .await
        }
    }
}

/// An image file's bytes for the image tasks, checked before anything is downloaded: its
/// header must be an image format Lantern decodes, of a size it accepts (a 20000×20000 PNG is
/// refused here, before decoding). The pipeline decodes it.
pub fn read_image(path: &std::path::Path) -> anyhow::Result<ImageData> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let info =
        lantern_vision::probe(&bytes).with_context(|| format!("cannot read {}", path.display()))?;
    let (width, height) = (u64::from(info.width), u64::from(info.height));
    let limit = lantern_vision::DEFAULT_MAX_PIXELS;
    if width * height > limit {
        return Err(lantern_vision::VisionError::TooLarge {
            width,
            height,
            limit,
        })
        .with_context(|| format!("cannot read {}", path.display()));
    }
    Ok(ImageData::Encoded {
        bytes: Binary::Bytes(bytes),
    })
}

/// Writes a verb's output; a closed pipe (`| head`) ends it quietly instead of panicking as
/// println! does.
pub fn print(out: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

/// Downloads (or finds in the cache) the files `task` reads from `repo` and returns the
/// snapshot folder holding them. Offline (`--offline`, `HF_HUB_OFFLINE`), the task chooses
/// among the files already cached.
pub async fn task_files(
    task: Task,
    repo: &RepoRef,
    wanted: Wanted<'_>,
    hub: &HubArgs,
    quiet: bool,
) -> anyhow::Result<DirSource> {
    let client = fetch::client(hub)?;
    let cache = fetch::cache(hub);
    if hub.offline || hf_env::offline() {
        let snapshot = cache
            .cached_snapshot(repo, &[])
            .with_context(|| format!("{repo} is not in the cache, and the Hub is off"))?;
        let source = DirSource::new(&snapshot.dir)?;
        tasks::files_for(task, &source, wanted)
            .await
            .with_context(|| format!("cannot run {repo} (from the cache) for {task}"))?;
        return Ok(source);
    }
    let listed = client
        .pin(repo, &[])
        .await
        .with_context(|| format!("cannot list the files of {repo} on {}", client.endpoint()))?;
    let at_commit = RepoRef {
        revision: listed.commit.parse()?,
        ..repo.clone()
    };
    let hub_source = HubSource {
        client: &client,
        repo: at_commit.clone(),
        cache: cache.clone(),
        listed: &listed,
    };
    let choice = tasks::files_for(task, &hub_source, wanted)
        .await
        .with_context(|| format!("cannot run {repo} for {task}"))?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    // Downloaded as pinned (the commit of the listing the task chose from), with the revision
    // recorded in the cache so the same command works offline afterwards.
    let mut model = listed.clone();
    model
        .files
        .retain(|f| choice.files.iter().any(|c| c == f.path.as_str()));
    client
        .download(
            &model,
            &cache,
            &mut |p: &Progress| {
                bar.set_length(p.total);
                bar.set_position(p.done);
                bar.set_message(p.file.clone());
            },
            &CancelToken::new(),
        )
        .await
        .with_context(|| format!("cannot fetch {repo}"))?;
    let paths: Vec<&str> = choice.files.iter().map(String::as_str).collect();
    let snapshot = cache
        .cached_snapshot(repo, &paths)
        .with_context(|| format!("cannot find {repo} in the cache after downloading it"))?;
    bar.finish_and_clear();
    Ok(DirSource::new(&snapshot.dir)?)
}
