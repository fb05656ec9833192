//! `lantern build DEMO --out DIR [--endpoint URL] [--bundle-model]`: a demo manifest becomes a
//! static Space.
//!
//! The Space is the prebuilt runtime (page + worker), `demo.json` (the model pinned to a
//! commit, every file's size and hash), `README.md` (the Space's configuration),
//! `.gitattributes`, `widget.js`, and with `--bundle-model` the model files themselves under
//! `hub/`, laid out like the Hub's resolve URLs so the page downloads them from its own origin.
//! Everything is refused before anything is written when the manifest, the files or the size
//! are wrong. No token ever reaches the output: the Hub client sends it in a header only.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lantern_core::{ChatDefaults, DemoConfig, ModelRef, RepoRef, Task, Text2TextDefaults};
use lantern_hub::{CancelToken, HubClient, Progress};
use lantern_pipelines::source::FileSource as _;
use lantern_pipelines::tasks::{self, Wanted};

use crate::args::{BuildArgs, HubArgs};
use crate::cmd::fetch;
use crate::hub_source::HubSource;
use crate::manifest::{DemoManifest, Text2TextSection};
use crate::model_card::ModelCard;
use crate::space::{self, BUNDLE_DIR};
use crate::text2text;
use crate::wasm_limit::{self, human_bytes};

/// The embeddable widget, carried by the CLI so any runtime folder gets the matching one.
const WIDGET_JS: &str = include_str!("../../../../static/widget.js");

pub async fn run(args: BuildArgs) -> anyhow::Result<()> {
    let manifest = DemoManifest::read(&args.demo)?;
    let task = manifest.task()?;
    let repo = manifest.repo()?;
    let runtime = runtime_dir(args.runtime.as_deref())?;
    for endpoint in [&args.hub.endpoint, &args.pin_endpoint]
        .into_iter()
        .flatten()
    {
        check_endpoint(endpoint)?;
    }

    // The page downloads from `--endpoint` (or from its own origin with --bundle-model);
    // metadata is pinned through it too, unless it is a path on the page's own origin, which
    // only exists once the Space is served.
    let fetch_endpoint = match (&args.pin_endpoint, &args.hub.endpoint) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(e)) if !is_absolute(e) => bail!(
            "--endpoint {e} is a path on the Space's origin: give --pin-endpoint URL to read the \
             model's metadata"
        ),
        (None, e) => e.clone(),
    };
    let hub = HubArgs {
        endpoint: fetch_endpoint,
        cache_dir: args.hub.cache_dir.clone(),
        offline: args.hub.offline,
    };
    let client = fetch::client(&hub)?;
    let page_endpoint = if args.bundle_model {
        format!("./{BUNDLE_DIR}")
    } else {
        args.hub
            .endpoint
            .clone()
            .unwrap_or_else(|| client.endpoint().to_owned())
    };

    let listed = client
        .pin(&repo, &[])
        .await
        .with_context(|| format!("cannot read the files of {repo} from {}", client.endpoint()))?;
    let at_commit = RepoRef {
        revision: listed.commit.parse()?,
        ..repo.clone()
    };
    // The task decides which files it reads (checking the manifest's list, if any). The
    // manifest's names are checked against the repository first, so a missing one is refused
    // with the list of what the repository has.
    select(&listed, &manifest.model.files)?;
    let source = HubSource {
        client: &client,
        repo: at_commit,
        cache: fetch::cache(&hub),
        listed: &listed,
    };
    let choice = tasks::files_for(task, &source, Wanted::Pinned(&manifest.model.files))
        .await
        .map_err(|e| anyhow::anyhow!("{repo}: {e}"))?;
    let model = select(&listed, &choice.files)?;
    wasm_limit::check(&model)?;
    let text2text = text2text_defaults(task, &manifest, &source).await?;

    let demo = DemoConfig {
        title: manifest.title.clone(),
        emoji: manifest.emoji.clone(),
        description: manifest.description.clone(),
        task,
        quantization: quantization(&model),
        model,
        endpoint: page_endpoint,
        license: manifest.model.license.clone(),
        chat: ChatDefaults {
            system_prompt: manifest.chat.system_prompt.clone(),
            params: manifest.sampling(),
        },
        sentences: manifest.embeddings.sentences.clone(),
        examples: manifest.examples.clone(),
        text2text,
    };
    // Rendered before anything is written, so a refused front matter leaves DIR untouched.
    let readme = space::readme(&manifest, &demo, args.bundle_model)?;

    prepare_out(&args.out, &runtime)?;
    copy_dir(&runtime, &args.out)?;
    write(&args.out.join("widget.js"), WIDGET_JS.as_bytes())?;
    let json = serde_json::to_string_pretty(&demo)?;
    write(&args.out.join("demo.json"), json.as_bytes())?;
    write(&args.out.join("README.md"), readme.as_bytes())?;
    write(
        &args.out.join(".gitattributes"),
        space::gitattributes(args.bundle_model).as_bytes(),
    )?;
    if args.bundle_model {
        bundle(&client, &demo.model, &hub, &args.out).await?;
    }

    let (page, worker) = runtime_sizes(&args.out)?;
    let model_line = if args.bundle_model {
        format!("bundled under {}/{BUNDLE_DIR}/", args.out.display())
    } else {
        format!(
            "downloaded from {} when the visitor presses Load",
            demo.endpoint
        )
    };
    eprintln!(
        "{}: {} ({}) -> {}\n  page: {} (before anything else)\n  worker: {} (when the visitor presses Load)\n  \
         widget.js: {}\n  model: {} in {} file(s), pinned at {}, {}",
        args.demo.display(),
        demo.title,
        task,
        args.out.display(),
        human_bytes(page),
        human_bytes(worker),
        human_bytes(WIDGET_JS.len() as u64),
        human_bytes(demo.model.total_size()),
        demo.model.files.len(),
        demo.model.commit,
        model_line,
    );
    println!("{}", args.out.display());
    Ok(())
}

/// What the translation and summarization pages show (the language pair, T5's task keys),
/// read from the model's `config.json` and card, with the manifest's `[text2text]` over them.
/// Every other task's manifest must leave the section out.
async fn text2text_defaults(
    task: Task,
    manifest: &DemoManifest,
    source: &HubSource<'_>,
) -> anyhow::Result<Text2TextDefaults> {
    if !matches!(task, Task::Translation | Task::Summarization) {
        if manifest.text2text != Text2TextSection::default() {
            bail!("[text2text] is for translation and summarization demos, not {task}");
        }
        return Ok(Text2TextDefaults::default());
    }
    // config.json is one of the files the task reads; a card is optional, and a broken one
    // only means that its languages are not shown.
    let config = source
        .read("config.json")
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let card = if source.has("README.md") {
        match source.read("README.md").await {
            Ok(bytes) => ModelCard::parse(&String::from_utf8_lossy(&bytes)).unwrap_or_else(|e| {
                eprintln!("note: the model card is not usable ({e}): its languages are not shown");
                ModelCard::default()
            }),
            Err(e) => {
                eprintln!("note: cannot read the model card: {e}");
                ModelCard::default()
            }
        }
    } else {
        ModelCard::default()
    };
    let defaults = text2text::page_defaults(
        task,
        source.repo.id.name(),
        config.as_ref(),
        &card,
        &manifest.text2text,
    );
    if task == Task::Translation {
        match (&defaults.source_language, &defaults.target_language) {
            (Some(from), Some(to)) => eprintln!(
                "languages: {from} -> {to} (from {})",
                defaults.languages_from.as_deref().unwrap_or("the manifest")
            ),
            _ => eprintln!(
                "note: the model does not say which languages it translates between; set \
                 [text2text] source_language and target_language in the manifest to show them"
            ),
        }
    }
    Ok(defaults)
}

fn is_absolute(endpoint: &str) -> bool {
    endpoint.starts_with("http://") || endpoint.starts_with("https://")
}

/// An endpoint is written into `demo.json`, which is published: refuse credentials in it.
fn check_endpoint(endpoint: &str) -> anyhow::Result<()> {
    let authority = endpoint.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    let query = endpoint
        .split_once('?')
        .map_or("", |(_, q)| q)
        .to_ascii_lowercase();
    if authority.contains('@') || query.contains("token") {
        bail!(
            "the endpoint {} carries credentials, which would be published in demo.json; \
             use HF_TOKEN for private models",
            redact(endpoint)
        );
    }
    Ok(())
}

/// The endpoint with its user info and query hidden, for messages.
fn redact(endpoint: &str) -> String {
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("", endpoint));
    let rest = rest.split('?').next().unwrap_or(rest);
    let rest = match rest.split_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => rest.to_owned(),
    };
    format!("{scheme}://{rest}")
}

/// The pinned model restricted to `wanted`; a file the repository does not have is refused
/// with the list of what it does have.
fn select(listed: &ModelRef, wanted: &[String]) -> anyhow::Result<ModelRef> {
    let mut files = Vec::with_capacity(wanted.len());
    for path in wanted {
        match listed.file(path) {
            Some(f) => files.push(f.clone()),
            None => {
                let mut have: Vec<String> = listed
                    .files
                    .iter()
                    .filter(|f| !f.path.as_str().starts_with('.'))
                    .map(|f| format!("{} ({})", f.path, human_bytes(f.size)))
                    .collect();
                if have.len() > 20 {
                    let more = have.len() - 20;
                    have.truncate(20);
                    have.push(format!("and {more} more"));
                }
                bail!(
                    "{} has no file {path:?} at {} (commit {}); it has: {}",
                    listed.repo,
                    listed.revision,
                    listed.commit,
                    if have.is_empty() {
                        "no files".to_owned()
                    } else {
                        have.join(", ")
                    }
                );
            }
        }
    }
    Ok(ModelRef {
        files,
        ..listed.clone()
    })
}

/// Downloads the model (verified, into the Hub cache) and copies it into the Space at
/// `hub/{repo}/resolve/{commit}/{path}`: the URLs the worker asks for with `./hub` as endpoint.
async fn bundle(
    client: &HubClient,
    model: &ModelRef,
    hub: &HubArgs,
    out: &Path,
) -> anyhow::Result<()> {
    let bar = ProgressBar::with_draw_target(Some(model.total_size()), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:30!} [{bar:30}] {bytes}/{total_bytes} eta {eta}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_position(p.done);
        bar.set_message(p.file.clone());
    };
    let cached = client
        .download(
            model,
            &fetch::cache(hub),
            &mut on_progress,
            &CancelToken::new(),
        )
        .await
        .with_context(|| format!("cannot download {} to bundle it", model.repo))?;
    bar.finish_and_clear();
    let root = out
        .join(BUNDLE_DIR)
        .join(format!("{}{}", model.repo_type.url_prefix(), model.repo))
        .join("resolve")
        .join(&model.commit);
    for (file, from) in model.files.iter().zip(&cached) {
        let to = root.join(file.path.as_str());
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = to.with_extension("tmp");
        std::fs::copy(from, &tmp).with_context(|| format!("cannot copy {}", from.display()))?;
        std::fs::rename(&tmp, &to).with_context(|| format!("cannot write {}", to.display()))?;
    }
    Ok(())
}

/// `Q4_1` from `Model.Q4_1.gguf`; `safetensors` for safetensors (the fixture and most embedders).
fn quantization(model: &ModelRef) -> Option<String> {
    model.files.iter().find_map(|f| {
        let name = f.path.file_name();
        if let Some(stem) = name.strip_suffix(".gguf") {
            lantern_pipelines::text_generation::quant_of(stem)
        } else if name.ends_with(".safetensors") {
            Some("safetensors".into())
        } else {
            None
        }
    })
}

/// The prebuilt page and worker (`scripts/build-web.sh`): `--runtime`, `$LANTERN_RUNTIME`, or
/// `web/app` next to the folder holding this executable (`target/web/app` for a cargo build).
fn runtime_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => std::env::var_os("LANTERN_RUNTIME")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.parent()?.parent().map(|p| p.join("web/app"))),
            )
            .collect(),
    };
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file() && d.join("worker/worker.js").is_file())
        .context(
            "the browser runtime is not built: run scripts/build-web.sh (or pass --runtime DIR)",
        )
}

/// Creates `out`, and when it holds an earlier build, removes what that build wrote and this
/// one will not replace (hashed page assets of another runtime, a bundled model), so a Space
/// folder that is a git clone does not accumulate stale files. Other files are left alone.
fn prepare_out(out: &Path, runtime: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    if !out.join("demo.json").is_file() {
        return Ok(());
    }
    let bundled = out.join(BUNDLE_DIR);
    if bundled.is_dir() {
        std::fs::remove_dir_all(&bundled)
            .with_context(|| format!("cannot remove the earlier bundle {}", bundled.display()))?;
    }
    for entry in std::fs::read_dir(out)? {
        let entry = entry?;
        let name = entry.file_name();
        let stale = entry.file_type()?.is_file()
            && name.to_str().is_some_and(crate::cmd::serve::is_hashed)
            && !runtime.join(&name).exists();
        if stale {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Writes through a temporary file and a rename: an interrupted build never leaves half a file.
fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Bytes of the page (the top-level files a visitor loads first: not the README, the widget or
/// the repository metadata) and of one worker build.
fn runtime_sizes(out: &Path) -> anyhow::Result<(u64, u64)> {
    let mut page = 0;
    for entry in std::fs::read_dir(out)? {
        let entry = entry?;
        let name = entry.file_name();
        let skip = matches!(
            name.to_str(),
            Some("README.md" | "widget.js" | ".gitattributes")
        );
        if entry.file_type()?.is_file() && !skip {
            page += entry.metadata()?.len();
        }
    }
    let mut worker = 0;
    let st = out.join("worker/st");
    if st.is_dir() {
        for entry in std::fs::read_dir(st)? {
            worker += entry?.metadata()?.len();
        }
    }
    Ok((page, worker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_with_credentials_are_refused_without_echoing_them() {
        assert!(check_endpoint("https://huggingface.co").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8765/_faults/id=x").is_ok());
        for bad in [
            "https://user:s3cret@example.com",
            "https://example.com/?token=s3cret",
        ] {
            let err = check_endpoint(bad).map(|_| ()).unwrap_err().to_string();
            assert!(
                err.contains("credentials") && !err.contains("s3cret"),
                "{err}"
            );
        }
    }
}
