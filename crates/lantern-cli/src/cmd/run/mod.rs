//! `lantern run <task>`: one file per task, registered here. What they share: fetching the
//! files a task reads (the task module decides which, [`task_files`]) into the
//! huggingface_hub cache.

pub mod automatic_speech_recognition;
pub mod feature_extraction;
pub mod text_classification;
pub mod text_generation;

use clap::Subcommand;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
}

pub async fn run(task: RunTask) -> anyhow::Result<()> {
    match task {
        RunTask::TextGeneration(args) => text_generation::run(args).await,
        RunTask::FeatureExtraction(args) => feature_extraction::run(args).await,
        RunTask::TextClassification(args) => text_classification::run(args).await,
        RunTask::AutomaticSpeechRecognition(args) => automatic_speech_recognition::run(args).await,
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
