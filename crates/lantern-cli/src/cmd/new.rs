//! `lantern new DIR --model ORG/NAME[@REV] [--task TASK] [--file F]`: scaffolds `DIR/demo.toml`.
//!
//! Without `--task`, the task comes from the model card (`pipeline_tag`, else `library_name`
//! and `tags`), else from the files (a `.gguf` means text generation). For a GGUF repository
//! the file list is printed with sizes and a default is picked ([`crate::gguf_choice`]).
//! The manifest written is checked by the same parser `lantern build` uses.

use anyhow::{Context as _, bail};
use lantern_core::{RepoRef, Task};
use lantern_hub::{CancelToken, NetworkMode};
use lantern_pipelines::source::listing_paths;
use lantern_pipelines::tasks::{self, CardHints, Wanted};

use crate::args::NewArgs;
use crate::cmd::fetch;
use crate::hub_source::HubSource;
use crate::manifest::DemoManifest;
use crate::model_card::ModelCard;
use crate::space::HUB_LICENSES;

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
    let hints = CardHints {
        pipeline_tag: card.pipeline_tag.clone(),
        library_name: card.library_name.clone(),
        tags: card.tags.clone(),
    };
    let paths = listing_paths(&listed.files);
    let (task, why) = match wanted_task {
        Some(t) => (t, "--task".to_owned()),
        None => tasks::detect(&hints, &paths).map_err(|e| {
            anyhow::anyhow!("{repo}: {e} (pass --task to override: {})", Task::names())
        })?,
    };
    // The Hub tags T5, BART and Marian models alike (text2text-generation): their config.json's
    // task_specific_params and their name tell translation from summarization.
    let (task, why) = match (wanted_task, task) {
        (None, Task::Translation | Task::Summarization)
            if card.pipeline_tag.as_deref() == Some("text2text-generation") =>
        {
            let config = match listed.file("config.json") {
                Some(_) => read_config(&client, &repo, &args).await,
                None => None,
            };
            tasks::text2text_task(&hints, config.as_ref(), repo.id.name())
        }
        _ => (task, why),
    };
    if let (Some(_), Some(tag)) = (wanted_task, &card.pipeline_tag)
        && tag != task.as_str()
    {
        eprintln!("note: the model card says pipeline_tag {tag:?}; using --task {task}");
    }
    eprintln!("task: {task} ({why})");

    let at_commit = RepoRef {
        revision: listed.commit.parse()?,
        ..repo.clone()
    };
    let source = HubSource {
        client: &client,
        repo: at_commit,
        cache: fetch::cache(&args.hub),
        listed: &listed,
    };
    let wanted = match &args.file {
        Some(f) => Wanted::Pick(f),
        None => Wanted::Choose,
    };
    let choice = tasks::files_for(task, &source, wanted)
        .await
        .map_err(|e| anyhow::anyhow!("{repo}: {e}"))?;
    eprint!("{}", choice.report);
    // A pick is the author's to change in the manifest; otherwise `lantern build` pins what
    // the task reads.
    let files = if choice.picked {
        choice.files
    } else {
        Vec::new()
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

/// The repository's `config.json`, parsed; `None` (with a note) when it cannot be read.
async fn read_config(
    client: &lantern_hub::HubClient,
    repo: &RepoRef,
    args: &NewArgs,
) -> Option<serde_json::Value> {
    let fetched = client
        .snapshot(
            repo,
            &["config.json"],
            &fetch::cache(&args.hub),
            NetworkMode::Online,
            &mut |_| {},
            &CancelToken::new(),
        )
        .await;
    let text = match fetched {
        Ok(s) => s.files.first().and_then(|p| std::fs::read(p).ok()),
        Err(e) => {
            eprintln!("note: cannot download {repo}'s config.json: {e}");
            None
        }
    }?;
    serde_json::from_slice(&text)
        .map_err(|e| eprintln!("note: {repo}'s config.json is not JSON ({e})"))
        .ok()
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
    let (emoji, title, description, colors, examples): (_, _, _, _, &[&str]) = match s.task {
        Task::TextGeneration => (
            "💬",
            format!("{short} chat"),
            format!("{short}, a chat model running in your browser."),
            ("yellow", "red"),
            &[],
        ),
        Task::FeatureExtraction | Task::SentenceSimilarity => (
            "🧭",
            format!("{short} similarity"),
            format!("{short} sentence embeddings, in your browser."),
            ("blue", "indigo"),
            &[],
        ),
        Task::TextClassification => (
            "🏷️",
            format!("{short} classifier"),
            format!("{short} text classification, in your browser."),
            ("green", "blue"),
            &[
                "I loved this movie, the acting was wonderful!",
                "The service was slow and the food was cold.",
            ],
        ),
        Task::AutomaticSpeechRecognition => (
            "🎙️",
            format!("{short} speech recognition"),
            format!("{short} turns speech into text, in your browser."),
            ("purple", "blue"),
            &[],
        ),
        Task::ImageClassification => (
            "🖼️",
            format!("{short} image classifier"),
            format!("{short} says what a picture shows, in your browser."),
            ("pink", "purple"),
            &[],
        ),
        Task::ObjectDetection => (
            "🔍",
            format!("{short} object detection"),
            format!("{short} finds objects in a picture, in your browser."),
            ("indigo", "pink"),
            &[],
        ),
        Task::Translation => (
            "🌐",
            format!("{short} translation"),
            format!("{short} translates text, in your browser."),
            ("blue", "green"),
            &[
                "The house is wonderful.",
                "I would like a cup of coffee, please.",
            ],
        ),
        Task::Summarization => (
            "📝",
            format!("{short} summarization"),
            format!("{short} summarizes a text, in your browser."),
            ("yellow", "red"),
            &[],
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
        "colors = {{ from = {}, to = {} }}\n",
        toml_str(colors.0),
        toml_str(colors.1)
    ));
    if !examples.is_empty() {
        out.push_str("# Inputs the page offers (a visitor can type their own).\n");
        let list: Vec<String> = examples
            .iter()
            .map(|e| format!("  {},\n", toml_str(e)))
            .collect();
        out.push_str(&format!("examples = [\n{}]\n", list.concat()));
    }
    out.push('\n');
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
            "# files: empty means what the task reads (for embeddings, from modules.json).\n",
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
        Task::Translation | Task::Summarization => out.push_str(
            "\n# The page reads the language pair from the model (a Marian name like opus-mt-en-de,\n\
             # T5's task_specific_params, the card's pipeline_tag) and starts from its\n\
             # generation_config.json; set any of these to override.\n\
             # [text2text]\n\
             # source_language = \"en\"\n\
             # target_language = \"de\"\n\
             # task_params = \"translation_en_to_de\"   # T5: the task_specific_params key\n\
             # num_beams = 4\n\
             # max_new_tokens = 128\n\
             # min_length = 30\n",
        ),
        Task::TextClassification
        | Task::AutomaticSpeechRecognition
        | Task::ImageClassification
        | Task::ObjectDetection => {}
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

    fn card(tag: Option<&str>, library: Option<&str>) -> ModelCard {
        ModelCard {
            pipeline_tag: tag.map(str::to_owned),
            library_name: library.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn scaffolds_parse_and_escape() {
        let repo: RepoRef = "org/m-GGUF@v1".parse().unwrap();
        for task in Task::ALL {
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
