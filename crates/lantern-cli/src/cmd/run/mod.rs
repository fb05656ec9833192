//! `lantern run <task>`: one file per task. What they share: fetching the files a task reads
//! (the task module decides which, [`task_files`]) into the huggingface_hub cache.

pub mod feature_extraction;
pub mod text_classification;
pub mod text_generation;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lantern_core::{RepoRef, Task};
use lantern_hub::{CancelToken, NetworkMode, Progress};
use lantern_pipelines::source::DirSource;
use lantern_pipelines::tasks::{self, Wanted};

use crate::args::HubArgs;
use crate::cmd::fetch;
use crate::hf_env;
use crate::hub_source::HubSource;

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
    let paths: Vec<&str> = choice.files.iter().map(String::as_str).collect();
    let snapshot = client
        .snapshot(
            &at_commit,
            &paths,
            &cache,
            NetworkMode::Online,
            &mut |p: &Progress| {
                bar.set_length(p.total);
                bar.set_position(p.done);
                bar.set_message(p.file.clone());
            },
            &CancelToken::new(),
        )
        .await
        .with_context(|| format!("cannot fetch {repo}"))?;
    bar.finish_and_clear();
    Ok(DirSource::new(&snapshot.dir)?)
}
