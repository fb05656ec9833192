//! `lantern new DIR --model ORG/NAME[@REV] [--task TASK] [--file F]`: scaffolds `DIR/demo.toml`.
//!
//! Without `--task`, the task comes from the model card (`pipeline_tag`, else `library_name`
//! and `tags`), else from the files (a `.gguf` means text generation). For a GGUF repository
//! the file list is printed with sizes and a default is picked ([`crate::gguf_choice`]).
//! The manifest written is checked by the same parser `lantern build` uses.

use anyhow::{Context as _, bail};
use lantern_core::{RepoFile, RepoRef, Task};
use lantern_hub::{CancelToken, NetworkMode};

use crate::args::NewArgs;
use crate::cmd::fetch;
use crate::gguf_choice;
use crate::manifest::DemoManifest;
use crate::model_card::ModelCard;
use crate::space::HUB_LICENSES;
use crate::wasm_limit::human_bytes;

/// What the embeddings pipeline cannot run without (`lantern_pipelines::embeddings`).
const EMBEDDING_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

pub async fn run(args: NewArgs) -> anyhow::Result<()> {
    let manifest_path = args.dir.join("demo.toml");
    if manifest_path.exists() && !args.force {
        bail!(
            "{} already exists: edit it, or pass --force to replace it",
            manifest_path.display()
        );
    }
    if args.hub.offline || crate::hf_env::offline() {
        bail!(
            "lantern new reads the repository's file list from the Hub, so it cannot run offline"
        );
    }
    let repo: RepoRef = args.model.parse()?;
    let wanted_task = args.task.as_deref().map(str::parse::<Task>).transpose()?;
    let client = fetch::client(&args.hub)?;
    let listed = client
        .pin(&repo, &[])
        .await
        .with_context(|| format!("cannot list the files of {repo} on {}", client.endpoint()))?;

    let card = match listed.file("README.md") {
        Some(_) => read_card(&client, &repo, &args).await,
        None => {
            eprintln!("{repo} has no README.md: no model card to read");
            ModelCard::default()
        }
    };
    let (task, why) = match wanted_task {
        Some(t) => (t, "--task".to_owned()),
        None => choose_task(&repo, &card, &listed.files)?,
    };
    if let (Some(_), Some(tag)) = (wanted_task, &card.pipeline_tag)
        && tag != task.as_str()
    {
        eprintln!("note: the model card says pipeline_tag {tag:?}; using --task {task}");
    }
    eprintln!("task: {task} ({why})");

    let files = match task {
        Task::TextGeneration => vec![gguf_file(&repo, &listed.files, args.file.as_deref())?],
        Task::FeatureExtraction | Task::SentenceSimilarity => {
            if let Some(f) = &args.file {
                bail!(
                    "--file {f:?}: an embeddings demo takes the files its pipeline reads \
                     (config.json, tokenizer.json, model.safetensors, and the sentence-transformers \
                     recipe); --file picks the .gguf of a text-generation demo"
                );
            }
            let missing: Vec<&str> = EMBEDDING_FILES
                .into_iter()
                .filter(|f| listed.file(f).is_none())
                .collect();
            if !missing.is_empty() {
                bail!(
                    "{repo} has no {}: Lantern's embeddings run BERT-family encoders from \
                     safetensors with a tokenizer.json",
                    missing.join(", ")
                );
            }
            // `lantern build` reads modules.json and pins exactly what the pipeline reads.
            Vec::new()
        }
    };

    let license = card.license.as_deref().and_then(|l| {
        if HUB_LICENSES.contains(&l) {
            Some(l.to_owned())
        } else {
            eprintln!(
                "note: the model card's license {l:?} is not a Hub license id; \
                 set [model] license in demo.toml"
            );
            None
        }
    });
    let text = manifest_text(&Scaffold {
        repo: &repo,
        task,
        files: &files,
        license: license.as_deref(),
        card: &card,
    });
    // The scaffold must be something `lantern build` accepts.
    toml::from_str::<DemoManifest>(&text)
        .context("internal error: the scaffolded manifest does not parse")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    std::fs::write(&manifest_path, text)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;

    let space = args.dir.join("space");
    eprintln!(
        "wrote {}\nnext:\n  lantern build {} --out {}\n  lantern serve {}",
        manifest_path.display(),
        manifest_path.display(),
        space.display(),
        space.display()
    );
    println!("{}", manifest_path.display());
    Ok(())
}

/// The model card, or an empty one (with a note) when it cannot be read.
async fn read_card(client: &lantern_hub::HubClient, repo: &RepoRef, args: &NewArgs) -> ModelCard {
    let fetched = client
        .snapshot(
            repo,
            &["README.md"],
            &fetch::cache(&args.hub),
            NetworkMode::Online,
            &mut |_| {},
            &CancelToken::new(),
        )
        .await;
    let read = |s: lantern_hub::CachedSnapshot| match s.files.first() {
        Some(path) => std::fs::read_to_string(path),
        None => Err(std::io::Error::other("the snapshot holds no README.md")),
    };
    let text = match fetched.map(read) {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => {
            eprintln!("note: cannot read {repo}'s model card: {e}");
            return ModelCard::default();
        }
        Err(e) => {
            eprintln!("note: cannot download {repo}'s model card: {e}");
            return ModelCard::default();
        }
    };
    match ModelCard::parse(&text) {
        Ok(card) => {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            eprintln!(
                "model card: pipeline_tag {}, library_name {}, license {}",
                show(&card.pipeline_tag),
                show(&card.library_name),
                show(&card.license)
            );
            card
        }
        Err(e) => {
            eprintln!("note: {repo}'s model card is not usable ({e}); deciding from its files");
            ModelCard::default()
        }
    }
}

/// The task a demo of this repository should have, and why.
fn choose_task(
    repo: &RepoRef,
    card: &ModelCard,
    files: &[RepoFile],
) -> anyhow::Result<(Task, String)> {
    let has_gguf = files
        .iter()
        .any(|f| f.path.as_str().to_ascii_lowercase().ends_with(".gguf"));
    if let Some(tag) = &card.pipeline_tag {
        return match tag.as_str() {
            "text-generation" | "conversational" | "text2text-generation" if has_gguf => Ok((
                Task::TextGeneration,
                format!("the model card's pipeline_tag is {tag}"),
            )),
            "text-generation" | "conversational" | "text2text-generation" => bail!(
                "{repo} is a {tag} model without .gguf files; Lantern runs text generation from \
                 GGUF (look for a GGUF version of it, usually a repository named …-GGUF)"
            ),
            other => match other.parse::<Task>() {
                Ok(task) => Ok((task, format!("the model card's pipeline_tag is {tag}"))),
                Err(_) => bail!(
                    "{repo} is a {tag} model (its card's pipeline_tag); Lantern runs \
                     text-generation, feature-extraction and sentence-similarity \
                     (pass --task to override)"
                ),
            },
        };
    }
    let sentence_transformers = card.library_name.as_deref() == Some("sentence-transformers")
        || card.tags.iter().any(|t| t == "sentence-transformers")
        || files.iter().any(|f| f.path.as_str() == "modules.json");
    if sentence_transformers {
        return Ok((
            Task::SentenceSimilarity,
            "a sentence-transformers model, and its card has no pipeline_tag".into(),
        ));
    }
    if has_gguf {
        return Ok((
            Task::TextGeneration,
            "the repository holds .gguf files, and no card says otherwise".into(),
        ));
    }
    bail!(
        "cannot tell which task {repo} is for: its model card has no pipeline_tag and it holds \
         no .gguf or sentence-transformers files; pass --task \
         (text-generation, feature-extraction, sentence-similarity)"
    )
}

/// The `.gguf` file of a text-generation demo: `--file`, checked, or the default pick.
fn gguf_file(repo: &RepoRef, files: &[RepoFile], wanted: Option<&str>) -> anyhow::Result<String> {
    let Some(choice) = gguf_choice::choose(files) else {
        bail!(
            "{repo} has no .gguf file; Lantern runs text generation from GGUF \
             (look for a GGUF version of the model)"
        );
    };
    eprint!("GGUF files in {repo}:\n{}", choice.table());
    if let Some(wanted) = wanted {
        let Some(file) = choice.files.iter().find(|g| g.path == wanted) else {
            bail!("{repo} has no file {wanted:?} (its .gguf files are listed above)");
        };
        if let Some(why) = file.unusable {
            bail!("{wanted} cannot run in the browser: {why}");
        }
        eprintln!("using {wanted} (--file)");
        return Ok(wanted.to_owned());
    }
    let Some(picked) = choice.picked() else {
        bail!(
            "none of {repo}'s .gguf files can run in the browser ({}); pass --file to insist",
            choice.why
        );
    };
    eprintln!(
        "picked {} ({}): {}; --file chooses another",
        picked.path,
        human_bytes(picked.size),
        choice.why
    );
    Ok(picked.path.clone())
}

struct Scaffold<'a> {
    repo: &'a RepoRef,
    task: Task,
    files: &'a [String],
    license: Option<&'a str>,
    card: &'a ModelCard,
}

/// The manifest, with comments that tell the author what each field does.
fn manifest_text(s: &Scaffold<'_>) -> String {
    let name = s.repo.id.name();
    let short = name
        .strip_suffix("-GGUF")
        .or_else(|| name.strip_suffix("-gguf"))
        .unwrap_or(name);
    let (emoji, title, description, colors) = match s.task {
        Task::TextGeneration => (
            "💬",
            format!("{short} chat"),
            format!("{short}, a chat model running in your browser."),
            ("yellow", "red"),
        ),
        Task::FeatureExtraction | Task::SentenceSimilarity => (
            "🧭",
            format!("{short} similarity"),
            format!("{short} sentence embeddings, in your browser."),
            ("blue", "indigo"),
        ),
    };
    let mut out = String::new();
    // Only a plain tag goes into the comment: a card's value could hold a line break.
    let tag = s
        .card
        .pipeline_tag
        .as_deref()
        .filter(|t| {
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or("none");
    out.push_str(&format!(
        "# A Lantern demo, scaffolded by `lantern new` from {} (model card: pipeline_tag {tag}).\n\
         # `lantern build demo.toml --out space` turns it into a static Hugging Face Space.\n\n",
        s.repo,
    ));
    out.push_str(&format!("title = {}\n", toml_str(&title)));
    out.push_str(&format!("emoji = {}\n", toml_str(emoji)));
    out.push_str(&format!("task = {}\n", toml_str(s.task.as_str())));
    out.push_str("# The Space card shows the first 60 characters.\n");
    out.push_str(&format!("description = {}\n", toml_str(&description)));
    out.push_str("# Card colours: red, yellow, green, blue, indigo, purple, pink, gray.\n");
    out.push_str(&format!(
        "colors = {{ from = {}, to = {} }}\n\n",
        toml_str(colors.0),
        toml_str(colors.1)
    ));
    out.push_str("[model]\n");
    out.push_str(&format!("repo = {}\n", toml_str(&s.repo.id.to_string())));
    out.push_str(
        "# `lantern build` pins this revision to a commit, with every file's size and hash.\n",
    );
    out.push_str(&format!(
        "revision = {}\n",
        toml_str(s.repo.revision.as_str())
    ));
    if s.files.is_empty() {
        out.push_str(
            "# files: empty means what the embeddings pipeline reads (from modules.json).\n",
        );
    } else {
        let list: Vec<String> = s.files.iter().map(|f| toml_str(f)).collect();
        out.push_str(&format!("files = [{}]\n", list.join(", ")));
    }
    match s.license {
        Some(l) => out.push_str(&format!("license = {}\n", toml_str(l))),
        None => {
            out.push_str("# license = \"apache-2.0\"   # a Hub license id, shown on the Space\n")
        }
    }
    match s.task {
        Task::TextGeneration => out.push_str(
            "\n[chat]\n\
             system_prompt = \"You are a helpful assistant.\"\n\
             # 0 is greedy (the same answer every time); around 0.7 gives varied answers.\n\
             temperature = 0.7\n\
             top_p = 0.9\n\
             max_tokens = 256\n",
        ),
        Task::FeatureExtraction | Task::SentenceSimilarity => out.push_str(
            "\n[embeddings]\n\
             # Shown on the page, compared with each other, and searched.\n\
             sentences = [\n  \"A man is eating food.\",\n  \"A man is eating a piece of bread.\",\n  \
             \"The girl is carrying a baby.\",\n  \"A man is riding a horse.\",\n  \
             \"A woman is playing violin.\",\n]\n",
        ),
    }
    out
}

/// A TOML basic string. JSON's string escapes are a subset of TOML's, so serde_json's output is
/// valid TOML.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lantern_core::ContentHash;

    fn files(names: &[&str]) -> Vec<RepoFile> {
        names
            .iter()
            .map(|p| RepoFile {
                path: p.parse().unwrap(),
                size: 1000,
                hash: ContentHash::from_hex(&"a".repeat(64)).unwrap(),
            })
            .collect()
    }

    fn card(tag: Option<&str>, library: Option<&str>) -> ModelCard {
        ModelCard {
            pipeline_tag: tag.map(str::to_owned),
            library_name: library.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn the_task_comes_from_the_card_then_the_files() {
        let repo: RepoRef = "org/m".parse().unwrap();
        let gguf = files(&["m.Q4_0.gguf"]);
        let st = files(&["config.json", "modules.json", "model.safetensors"]);
        let task = |c: &ModelCard, f: &[RepoFile]| choose_task(&repo, c, f).map(|(t, _)| t);
        assert_eq!(
            task(&card(Some("text-generation"), None), &gguf).unwrap(),
            Task::TextGeneration
        );
        assert_eq!(
            task(
                &card(Some("feature-extraction"), Some("sentence-transformers")),
                &st
            )
            .unwrap(),
            Task::FeatureExtraction
        );
        assert_eq!(
            task(&card(None, Some("sentence-transformers")), &st).unwrap(),
            Task::SentenceSimilarity
        );
        assert_eq!(
            task(&card(None, None), &gguf).unwrap(),
            Task::TextGeneration
        );
        let err = task(&card(Some("text-generation"), None), &st)
            .unwrap_err()
            .to_string();
        assert!(err.contains("GGUF"), "{err}");
        let err = task(&card(Some("image-classification"), None), &st)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("image-classification") && err.contains("--task"),
            "{err}"
        );
        assert!(task(&card(None, None), &files(&["weights.bin"])).is_err());
    }

    #[test]
    fn scaffolds_parse_and_escape() {
        let repo: RepoRef = "org/m-GGUF@v1".parse().unwrap();
        for task in [Task::TextGeneration, Task::SentenceSimilarity] {
            let files = if task == Task::TextGeneration {
                vec!["m.Q4_0.gguf".to_owned()]
            } else {
                vec![]
            };
            let text = manifest_text(&Scaffold {
                repo: &repo,
                task,
                files: &files,
                license: Some("mit"),
                card: &card(Some("a \"quoted\" tag\n"), None),
            });
            let m: DemoManifest = toml::from_str(&text).unwrap();
            assert_eq!(m.task().unwrap(), task);
            assert_eq!(m.model.revision, "v1");
            assert_eq!(m.model.files, files);
            assert_eq!(m.model.license.as_deref(), Some("mit"));
        }
        assert_eq!(toml_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
