//! Every task, behind one door: which files of a repository it reads, which task a repository
//! is for, loading from any [`FileSource`] onto a [`Device`], and running a request. The worker,
//! `lantern run`, `lantern new` and `lantern build` ask here; none of them knows a task's
//! files. Each `match` below is exhaustive, so a new task is a compile error until every
//! question has its answer (ARCHITECTURE.md, "Adding a task").

use lantern_core::Task;
use lantern_core::protocol::{Partial, TaskInput, TaskOutput};

use crate::device::{Device, Loaded};
use crate::embeddings::{self, Embedder, EmbedderOptions};
use crate::error::{PipelineError, Result};
use crate::image_classification::{self, ImageClassifier};
use crate::object_detection::{self, ObjectDetector};
use crate::source::FileSource;
use crate::speech_recognition::{self, SpeechEvent, SpeechRecognizer};
use crate::steps::Steps;
use crate::text_classification::{self, TextClassifier};
use crate::text_generation::{self, TextGeneration};
use crate::text2text::{self, Text2Text, Text2TextTask};

/// The files a task reads from a repository, and what `lantern new` tells the author about
/// the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChoice {
    pub files: Vec<String>,
    pub report: String,
    /// Whether the files are a pick among alternatives (a text-generation model's `.gguf`),
    /// which `lantern new` writes into the manifest for the author to change; otherwise they
    /// are what the task reads, and `lantern build` decides them again.
    pub picked: bool,
}

/// A task's fixed list of files (every task but text generation, which picks one `.gguf`).
pub(crate) struct FileList<'a> {
    pub required: &'a [&'a str],
    /// One of these is needed, the first present is read (none: named by the first).
    pub one_of: &'a [&'a str],
    /// Read where present.
    pub optional: &'a [&'a str],
    /// The end of the error for a repository without them: "runs Whisper from safetensors…".
    pub runs: &'a str,
    /// How the report names the files: "Whisper's".
    pub whose: &'a str,
}

impl FileList<'_> {
    /// The files of the list that `source` has, or the error naming the missing ones.
    pub(crate) fn choose<S: FileSource>(&self, source: &S) -> Result<FileChoice> {
        let mut missing: Vec<&str> = self
            .required
            .iter()
            .copied()
            .filter(|f| !source.has(f))
            .collect();
        let alternative = self.one_of.iter().copied().find(|f| source.has(f));
        if let (None, Some(first)) = (alternative, self.one_of.first()) {
            missing.push(first);
        }
        if !missing.is_empty() {
            return Err(PipelineError::UnsupportedModel(format!(
                "the repository has no {}: {}",
                missing.join(", "),
                self.runs
            )));
        }
        let files: Vec<String> = self
            .required
            .iter()
            .copied()
            .chain(alternative)
            .chain(self.optional.iter().copied().filter(|f| source.has(f)))
            .map(String::from)
            .collect();
        Ok(FileChoice {
            report: format!("{} {}\n", self.whose, files.join(", ")),
            files,
            picked: false,
        })
    }
}

/// What a model card says (its YAML front matter), for [`detect`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardHints {
    pub pipeline_tag: Option<String>,
    pub library_name: Option<String>,
    pub tags: Vec<String>,
}

/// Which files the author asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted<'a> {
    /// None: the task decides (`lantern new`), picking a default where it picks one file among
    /// several (a text-generation model's `.gguf`).
    Choose,
    /// One file, picked by the author (`lantern new --file`): only a text-generation model's
    /// `.gguf` is picked this way.
    Pick(&'a str),
    /// The demo manifest's `[model] files` (`lantern build`): checked by the task. Empty means
    /// "what the task reads" for tasks that read a fixed set, and is refused by text
    /// generation, whose `.gguf` the manifest must name.
    Pinned(&'a [String]),
}

/// The files `task` reads from the repository `source` lists.
pub async fn files_for<S: FileSource>(
    task: Task,
    source: &S,
    wanted: Wanted<'_>,
) -> Result<FileChoice> {
    match task {
        Task::TextGeneration => text_generation::files(&source.paths(), wanted),
        Task::FeatureExtraction | Task::SentenceSimilarity => match pinned(task, wanted)? {
            Some(files) => check_listed(files, &embeddings::REQUIRED),
            None => embeddings::files(source).await,
        },
        Task::TextClassification => match pinned(task, wanted)? {
            Some(files) => check_listed(files, &text_classification::REQUIRED),
            None => text_classification::files(source),
        },
        Task::AutomaticSpeechRecognition => match pinned(task, wanted)? {
            Some(files) => check_listed(files, &speech_recognition::REQUIRED),
            None => speech_recognition::files(source),
        },
        Task::ImageClassification => match pinned(task, wanted)? {
            Some(files) => check_listed(files, &image_classification::REQUIRED),
            None => image_classification::files(source),
        },
        Task::ObjectDetection => match pinned(task, wanted)? {
            Some(files) => check_listed(files, &object_detection::REQUIRED),
            None => object_detection::files(source),
        },
        Task::Translation | Task::Summarization => match pinned(task, wanted)? {
            Some(files) => check_listed(files, &text2text::REQUIRED),
            None => text2text::files(source),
        },
    }
}

/// The manifest's list for a task that reads a fixed set of files (`None`: the task decides);
/// a single picked file is refused.
fn pinned<'a>(task: Task, wanted: Wanted<'a>) -> Result<Option<&'a [String]>> {
    match wanted {
        Wanted::Choose => Ok(None),
        Wanted::Pinned([]) => Ok(None),
        Wanted::Pinned(files) => Ok(Some(files)),
        Wanted::Pick(file) => Err(PipelineError::UnsupportedModel(format!(
            "a {task} model reads the files its pipeline needs; picking one file ({file:?}, \
             --file) is for a text-generation model's .gguf"
        ))),
    }
}

/// The author's own list, if it holds every file the task cannot run without.
fn check_listed(files: &[String], required: &[&str]) -> Result<FileChoice> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !files.iter().any(|f| f == r))
        .collect();
    if !missing.is_empty() {
        return Err(PipelineError::UnsupportedModel(format!(
            "the demo's [model] files leave out {}, which the task cannot run without \
             (leave the list out to pin what the task reads)",
            missing.join(", ")
        )));
    }
    Ok(FileChoice {
        files: files.to_vec(),
        report: "the files the demo names\n".into(),
        picked: false,
    })
}

/// Which task a repository is for, and why: its card's `pipeline_tag` first, then what its
/// files say. `Err` explains what the repository is and why Lantern cannot run it.
pub fn detect(card: &CardHints, paths: &[(String, u64)]) -> Result<(Task, String)> {
    let has = |suffix: &str| {
        paths
            .iter()
            .any(|(p, _)| p.to_ascii_lowercase().ends_with(suffix))
    };
    let has_gguf = has(".gguf");
    if let Some(tag) = &card.pipeline_tag {
        let from_card = format!("the model card's pipeline_tag is {tag}");
        return match tag.as_str() {
            "text-generation" | "conversational" | "text2text-generation" if has_gguf => {
                Ok((Task::TextGeneration, from_card))
            }
            // An encoder-decoder in transformers' layout (T5, BART, Marian): translation or
            // summarization, as `text2text_task` tells them apart from the card (`lantern new`
            // asks it again with config.json).
            "text2text-generation" if has("model.safetensors") => {
                Ok(text2text_task(card, None, ""))
            }
            // translation_en_to_de: a language pair's translation.
            t if t.starts_with("translation_") && t.contains("_to_") => {
                Ok((Task::Translation, from_card))
            }
            "text-generation" | "conversational" | "text2text-generation" => {
                Err(PipelineError::UnsupportedModel(format!(
                    "a {tag} model without .gguf files; Lantern runs text generation from GGUF \
                     (look for a GGUF version of it, usually a repository named …-GGUF)"
                )))
            }
            other => match other.parse::<Task>() {
                Ok(task) => Ok((task, from_card)),
                Err(_) => Err(PipelineError::UnsupportedModel(format!(
                    "a {tag} model (its card's pipeline_tag); Lantern runs {}",
                    Task::names()
                ))),
            },
        };
    }
    let sentence_transformers = card.library_name.as_deref() == Some("sentence-transformers")
        || card.tags.iter().any(|t| t == "sentence-transformers")
        || paths.iter().any(|(p, _)| p == "modules.json");
    if sentence_transformers {
        return Ok((
            Task::SentenceSimilarity,
            "a sentence-transformers model, and its card has no pipeline_tag".into(),
        ));
    }
    // The Hub tags a transformers vision model with its task even where its card names no
    // pipeline_tag (its config's architectures are what the Hub reads them from).
    for task in [Task::ImageClassification, Task::ObjectDetection] {
        if card.tags.iter().any(|t| t == task.as_str()) {
            return Ok((
                task,
                format!("its card has no pipeline_tag, and the Hub tags it {task}"),
            ));
        }
    }
    if has_gguf {
        return Ok((
            Task::TextGeneration,
            "the repository holds .gguf files, and no card says otherwise".into(),
        ));
    }
    Err(PipelineError::UnsupportedModel(format!(
        "its model card has no pipeline_tag and its files do not say which task it is for; \
         name the task ({})",
        Task::names()
    )))
}

/// Which of translation and summarization a `text2text-generation` model is for (the Hub tags
/// T5, BART and Marian models so alike), and why. In order: the card's tags (`summarization` or
/// `translation`, one without the other); `config.json`'s `task_specific_params` (T5 and BART
/// name the tasks they were tuned for: `summarization` alone, or `translation_*` keys alone);
/// the repository's name (`cnn`, `xsum`, `samsum`, `sum` say summarization; `opus-mt`,
/// `translat`, `-to-` say translation); else translation, the task T5's own card names.
/// `config` is the parsed `config.json` where the caller has read it (`lantern new`).
pub fn text2text_task(
    card: &CardHints,
    config: Option<&serde_json::Value>,
    repo_name: &str,
) -> (Task, String) {
    let tagged = |t: &str| {
        card.tags
            .iter()
            .any(|tag| tag == t || tag.starts_with(&format!("{t}_")))
    };
    match (tagged("summarization"), tagged("translation")) {
        (true, false) => {
            return (
                Task::Summarization,
                "a text2text-generation model whose card is tagged summarization".into(),
            );
        }
        (false, true) => {
            return (
                Task::Translation,
                "a text2text-generation model whose card is tagged translation".into(),
            );
        }
        _ => {}
    }
    let params: Vec<&str> = config
        .and_then(|c| c.get("task_specific_params"))
        .and_then(|p| p.as_object())
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let summarizes = params.contains(&"summarization");
    let translates = params.iter().any(|k| k.starts_with("translation"));
    match (summarizes, translates) {
        (true, false) => {
            return (
                Task::Summarization,
                "a text2text-generation model whose config.json has summarization parameters only"
                    .into(),
            );
        }
        (false, true) => {
            return (
                Task::Translation,
                "a text2text-generation model whose config.json has translation parameters only"
                    .into(),
            );
        }
        _ => {}
    }
    let name = repo_name.to_ascii_lowercase();
    if ["cnn", "xsum", "samsum", "sum"]
        .iter()
        .any(|w| name.contains(w))
    {
        return (
            Task::Summarization,
            format!("a text2text-generation model named {repo_name}"),
        );
    }
    if ["opus-mt", "translat", "-to-"]
        .iter()
        .any(|w| name.contains(w))
        || ends_in_language_pair(repo_name)
    {
        return (
            Task::Translation,
            format!("a text2text-generation model named {repo_name}"),
        );
    }
    (
        Task::Translation,
        "a text2text-generation model that neither its card nor its config.json marks as a \
         summarizer (pass --task summarization for one)"
            .into(),
    )
}

/// Whether a name ends in two language codes, `…-en-de` (two or three lower-case letters each,
/// different: `t5-small` and `bart-large-cnn` do not).
fn ends_in_language_pair(name: &str) -> bool {
    let code = |c: &str| (2..=3).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_lowercase());
    let parts: Vec<&str> = name.split('-').collect();
    matches!(parts.as_slice(), [_, .., from, to] if code(from) && code(to) && from != to)
}

/// Options of the tasks that have any.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub embeddings: EmbedderOptions,
}

/// A loaded model, ready for its task's requests.
#[derive(Debug)]
pub enum Pipeline {
    TextGeneration(Box<TextGeneration>),
    Embeddings(Box<Embedder>),
    TextClassification(Box<TextClassifier>),
    SpeechRecognition(Box<SpeechRecognizer>),
    ImageClassification(Box<ImageClassifier>),
    ObjectDetection(Box<ObjectDetector>),
    /// Translation or summarization (one model serves both; it answers the task it was
    /// loaded for).
    Text2Text(Box<Text2Text>, Text2TextTask),
}

/// Loads the model of `task` from `source` onto `device` (the CPU when the GPU cannot take
/// it: [`Loaded::fallback`] says why).
pub async fn load<S: FileSource>(
    task: Task,
    source: &S,
    device: Device,
    options: &LoadOptions,
) -> Result<Loaded<Pipeline>> {
    Ok(match task {
        Task::TextGeneration => {
            let l = text_generation::load(source, device).await?;
            Loaded {
                pipeline: Pipeline::TextGeneration(Box::new(l.pipeline)),
                fallback: l.fallback,
            }
        }
        Task::FeatureExtraction | Task::SentenceSimilarity => {
            let l = embeddings::load(source, device, &options.embeddings).await?;
            Loaded {
                pipeline: Pipeline::Embeddings(Box::new(l.pipeline)),
                fallback: l.fallback,
            }
        }
        Task::TextClassification => {
            let l = text_classification::load(source, device).await?;
            Loaded {
                pipeline: Pipeline::TextClassification(Box::new(l.pipeline)),
                fallback: l.fallback,
            }
        }
        Task::AutomaticSpeechRecognition => {
            let l = speech_recognition::load(source, device).await?;
            Loaded {
                pipeline: Pipeline::SpeechRecognition(Box::new(l.pipeline)),
                fallback: l.fallback,
            }
        }
        Task::ImageClassification => {
            let l = image_classification::load(source, device).await?;
            Loaded {
                pipeline: Pipeline::ImageClassification(Box::new(l.pipeline)),
                fallback: l.fallback,
            }
        }
        Task::ObjectDetection => {
            let l = object_detection::load(source, device).await?;
            Loaded {
                pipeline: Pipeline::ObjectDetection(Box::new(l.pipeline)),
                fallback: l.fallback,
            }
        }
        Task::Translation | Task::Summarization => {
            let l = text2text::load(source, device).await?;
            let task = Text2TextTask::of(task).ok_or(PipelineError::UnsupportedModel(
                "not a text-to-text task".into(),
            ))?;
            Loaded {
                pipeline: Pipeline::Text2Text(Box::new(l.pipeline), task),
                fallback: l.fallback,
            }
        }
    })
}

impl Pipeline {
    /// `cpu` or `webgpu`: where the model is.
    pub fn backend_name(&self) -> String {
        match self {
            Pipeline::TextGeneration(p) => p.model().backend_name(),
            Pipeline::Embeddings(p) => p.backend_name(),
            Pipeline::TextClassification(p) => p.backend_name(),
            Pipeline::SpeechRecognition(p) => p.backend_name(),
            Pipeline::ImageClassification(p) => p.backend_name(),
            Pipeline::ObjectDetection(p) => p.backend_name(),
            Pipeline::Text2Text(p, _) => p.backend_name(),
        }
    }

    pub fn on_gpu(&self) -> bool {
        self.backend_name() != "cpu"
    }

    /// The chat pipeline, if this is one (text generation streams through sessions rather
    /// than [`Pipeline::run`]).
    pub fn text_generation(&mut self) -> Option<&mut TextGeneration> {
        match self {
            Pipeline::TextGeneration(p) => Some(p),
            _ => None,
        }
    }

    /// Runs a one-shot request. An input for another task is [`PipelineError::WrongTask`].
    pub async fn run(&self, input: TaskInput) -> Result<TaskOutput> {
        self.run_with(input, &mut |_| {}, &|| false).await
    }

    /// [`Pipeline::run`], streaming: the tasks that take long send parts of their answer to
    /// `partial` as they are ready, and ask `steps` between decoder steps whether to stop.
    pub async fn run_with(
        &self,
        input: TaskInput,
        partial: &mut dyn FnMut(Partial),
        steps: &dyn Steps,
    ) -> Result<TaskOutput> {
        match (self, input) {
            (Pipeline::Embeddings(e), TaskInput::Embeddings { sentences }) => {
                let vectors = e.embed_async(&sentences).await?;
                Ok(TaskOutput::Embeddings {
                    vectors,
                    dim: e.dim(),
                })
            }
            (Pipeline::TextClassification(c), TaskInput::TextClassification(input)) => {
                let labels = c.classify_async(&input.inputs, input.top_k).await?;
                Ok(TaskOutput::TextClassification(labels))
            }
            (Pipeline::SpeechRecognition(s), TaskInput::SpeechRecognition(input)) => {
                let mut events = |e: SpeechEvent| {
                    if let Some(p) = speech_recognition::partial(e) {
                        partial(p);
                    }
                };
                let transcript = s.run_async(input, &mut events, steps).await?;
                Ok(TaskOutput::SpeechRecognition(transcript))
            }
            (Pipeline::ImageClassification(c), TaskInput::ImageClassification(input)) => {
                let labels = c.classify_async(input.image, input.top_k).await?;
                Ok(TaskOutput::ImageClassification(labels))
            }
            (Pipeline::ObjectDetection(d), TaskInput::ObjectDetection(input)) => {
                let detections = d.detect_async(input.image, input.threshold).await?;
                Ok(TaskOutput::ObjectDetection(detections))
            }
            (Pipeline::Text2Text(t, task), TaskInput::Translation(input))
                if *task == Text2TextTask::Translation =>
            {
                let out = t.generate_async(*task, &input, partial, steps).await?;
                Ok(TaskOutput::Translation(out))
            }
            (Pipeline::Text2Text(t, task), TaskInput::Summarization(input))
                if *task == Text2TextTask::Summarization =>
            {
                let out = t.generate_async(*task, &input, partial, steps).await?;
                Ok(TaskOutput::Summarization(out))
            }
            (p, input) => Err(PipelineError::WrongTask {
                loaded: p.task_name(),
                wanted: input_name(&input).to_owned(),
            }),
        }
    }

    fn task_name(&self) -> Task {
        match self {
            Pipeline::TextGeneration(_) => Task::TextGeneration,
            Pipeline::Embeddings(_) => Task::FeatureExtraction,
            Pipeline::TextClassification(_) => Task::TextClassification,
            Pipeline::SpeechRecognition(_) => Task::AutomaticSpeechRecognition,
            Pipeline::ImageClassification(_) => Task::ImageClassification,
            Pipeline::ObjectDetection(_) => Task::ObjectDetection,
            Pipeline::Text2Text(_, task) => task.task(),
        }
    }
}

fn input_name(input: &TaskInput) -> &'static str {
    match input {
        TaskInput::Embeddings { .. } => "embeddings",
        TaskInput::TextClassification(_) => Task::TextClassification.as_str(),
        TaskInput::SpeechRecognition(_) => Task::AutomaticSpeechRecognition.as_str(),
        TaskInput::ImageClassification(_) => Task::ImageClassification.as_str(),
        TaskInput::ObjectDetection(_) => Task::ObjectDetection.as_str(),
        TaskInput::Translation(_) => Task::Translation.as_str(),
        TaskInput::Summarization(_) => Task::Summarization.as_str(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files(names: &[&str]) -> Vec<(String, u64)> {
        names.iter().map(|p| (p.to_string(), 1000)).collect()
    }

    fn card(tag: Option<&str>, library: Option<&str>) -> CardHints {
        CardHints {
            pipeline_tag: tag.map(str::to_owned),
            library_name: library.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn the_task_comes_from_the_card_then_the_files() {
        let gguf = files(&["m.Q4_0.gguf"]);
        let st = files(&["config.json", "modules.json", "model.safetensors"]);
        let task = |c: &CardHints, f: &[(String, u64)]| detect(c, f).map(|(t, _)| t);
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
        let err = task(&card(Some("image-to-3d"), None), &st)
            .unwrap_err()
            .to_string();
        assert!(err.contains("image-to-3d"), "{err}");
        assert!(task(&card(None, None), &files(&["weights.bin"])).is_err());
        let vision = files(&[
            "config.json",
            "preprocessor_config.json",
            "model.safetensors",
        ]);
        assert_eq!(
            task(&card(Some("image-classification"), None), &vision).unwrap(),
            Task::ImageClassification
        );
        assert_eq!(
            task(&card(Some("object-detection"), None), &vision).unwrap(),
            Task::ObjectDetection
        );
        let tagged = CardHints {
            tags: vec!["transformers".into(), "object-detection".into()],
            ..Default::default()
        };
        assert_eq!(task(&tagged, &vision).unwrap(), Task::ObjectDetection);
    }

    #[test]
    fn translation_and_summarization_from_the_card_then_config_then_name() {
        let st = files(&["config.json", "model.safetensors", "tokenizer.json"]);
        let task = |c: &CardHints| detect(c, &st).map(|(t, _)| t).unwrap();
        assert_eq!(task(&card(Some("translation"), None)), Task::Translation);
        assert_eq!(
            task(&card(Some("translation_en_to_de"), None)),
            Task::Translation
        );
        assert_eq!(
            task(&card(Some("summarization"), None)),
            Task::Summarization
        );
        let t2t = card(Some("text2text-generation"), None);
        assert_eq!(task(&t2t), Task::Translation);
        // A text2text GGUF is still a chat model's.
        assert_eq!(
            detect(&t2t, &files(&["m.Q4_0.gguf"])).unwrap().0,
            Task::TextGeneration
        );
        let tagged = CardHints {
            tags: vec!["summarization".into(), "bart".into()],
            ..t2t.clone()
        };
        assert_eq!(task(&tagged), Task::Summarization);
        let t5 = serde_json::json!({"task_specific_params": {
            "summarization": {"prefix": "summarize: "},
            "translation_en_to_de": {"prefix": "translate English to German: "}}});
        let bart = serde_json::json!({"task_specific_params": {"summarization": {"num_beams": 4}}});
        let by =
            |config: &serde_json::Value, name: &str| text2text_task(&t2t, Some(config), name).0;
        assert_eq!(by(&bart, "x"), Task::Summarization);
        assert_eq!(by(&t5, "t5-small"), Task::Translation);
        assert_eq!(by(&t5, "flan-t5-samsum"), Task::Summarization);
        assert_eq!(
            by(&serde_json::json!({}), "random-en-de"),
            Task::Translation
        );
        assert!(
            text2text_task(&t2t, None, "random-en-de")
                .1
                .contains("named")
        );
        assert!(!ends_in_language_pair("bart-large-cnn") && !ends_in_language_pair("t5-small"));
        assert_eq!(
            by(&serde_json::json!({}), "distilbart-cnn-6-6"),
            Task::Summarization
        );
        assert_eq!(
            by(&serde_json::json!({}), "opus-mt-en-de"),
            Task::Translation
        );
    }

    #[test]
    fn encoder_decoders_are_translation_or_summarization() {
        let task = |tag: &str, tags: &[&str], f: &[(String, u64)]| {
            let c = CardHints {
                pipeline_tag: Some(tag.into()),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            };
            detect(&c, f).map(|(t, _)| t)
        };
        let st = files(&["config.json", "model.safetensors", "tokenizer.json"]);
        assert_eq!(task("translation", &[], &st).unwrap(), Task::Translation);
        assert_eq!(
            task("translation_en_to_de", &[], &st).unwrap(),
            Task::Translation
        );
        assert_eq!(
            task("summarization", &[], &st).unwrap(),
            Task::Summarization
        );
        assert_eq!(
            task("text2text-generation", &[], &st).unwrap(),
            Task::Translation
        );
        assert_eq!(
            task("text2text-generation", &["summarization"], &st).unwrap(),
            Task::Summarization
        );
        // With GGUF files a text2text model is a chat model, as before; without weights
        // Lantern reads, an error.
        assert_eq!(
            task("text2text-generation", &[], &files(&["m.Q4_0.gguf"])).unwrap(),
            Task::TextGeneration
        );
        assert!(task("text2text-generation", &[], &files(&["pytorch_model.bin"])).is_err());
    }
}
