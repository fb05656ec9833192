//! `lantern fetch ORG/NAME[@REV] [FILE...]`

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lantern_hub::{CancelToken, HfCache, HubClient, NetworkMode, Progress};

use crate::args::{FetchArgs, HubArgs};
use crate::hf_env;

pub async fn run(args: FetchArgs) -> anyhow::Result<()> {
    let client = client(&args.hub)?;
    let cache = cache(&args.hub);
    let mode = if args.hub.offline || hf_env::offline() {
        NetworkMode::Offline
    } else {
        NetworkMode::Online
    };
    let files: Vec<&str> = args.files.iter().map(String::as_str).collect();

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.file.clone());
    };

    // Ctrl-C cancels cleanly: the verified prefix of a partial file stays for a resume.
    let cancel = CancelToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });

    let snapshot = client
        .snapshot(&args.repo, &files, &cache, mode, &mut on_progress, &cancel)
        .await
        .with_context(|| format!("cannot fetch {}", args.repo))?;
    bar.finish_and_clear();

    if args.json {
        let files: Vec<String> = snapshot
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "repo": args.repo.id.to_string(),
                "commit": snapshot.commit,
                "snapshot": snapshot.dir.display().to_string(),
                "files": files,
            })
        );
    } else {
        eprintln!(
            "{} at {}: {} file(s) verified",
            args.repo,
            &snapshot.commit[..12.min(snapshot.commit.len())],
            snapshot.files.len()
        );
        println!("{}", snapshot.dir.display());
    }
    Ok(())
}

/// A client for the endpoint and token of the environment (`HF_ENDPOINT`, `HF_TOKEN`).
pub fn client(hub: &HubArgs) -> anyhow::Result<HubClient> {
    let mut builder = HubClient::builder()
        .token(hf_env::token())
        .user_agent(format!("lantern/{}", env!("CARGO_PKG_VERSION")));
    if let Some(endpoint) = &hub.endpoint {
        builder = builder.endpoint(endpoint.clone());
    }
    Ok(builder.build()?)
}

pub fn cache(hub: &HubArgs) -> HfCache {
    match &hub.cache_dir {
        Some(dir) => HfCache::new(dir.clone()),
        None => HfCache::from_env(),
    }
}
