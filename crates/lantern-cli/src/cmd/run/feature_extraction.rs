//! `lantern run feature-extraction --model ORG/NAME[@REV] --input TEXT ... [--json]`
//!
//! Sentence embeddings as sentence-transformers computes them (the pooling, normalisation and
//! truncation the repository's own files ask for), with the model fetched through the Hub
//! client into the huggingface_hub cache.

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lantern_hub::{
    CachedSnapshot, CancelToken, HubClient, HubError, NetworkMode, Progress, RepoRef,
};
use lantern_pipelines::embeddings::{
    Embedder, EmbedderOptions, Quantization, files_to_fetch, similarity_matrix,
};

use crate::args::HubArgs;
use crate::cmd::fetch;
use crate::hf_env;

#[derive(Debug, Args)]
pub struct FeatureExtractionArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: RepoRef,
    /// Texts to embed: `--input A B` or `--input A --input B`.
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<String>,
    /// Print `{"embeddings": [[...]], "dim": N}` instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Hold the linear layers quantized (smaller in memory, slightly different vectors).
    #[arg(long, value_enum, default_value_t = QuantizeArg::None)]
    pub quantize: QuantizeArg,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    #[command(flatten)]
    pub hub: HubArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuantizeArg {
    None,
    #[value(name = "q8_0")]
    Q8_0,
}

pub async fn run(args: FeatureExtractionArgs) -> anyhow::Result<()> {
    let client = fetch::client(&args.hub)?;
    let cache = fetch::cache(&args.hub);
    let mode = if args.hub.offline || hf_env::offline() {
        NetworkMode::Offline
    } else {
        NetworkMode::Online
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.file.clone());
    };
    let cancel = CancelToken::new();
    let fetcher = Fetcher {
        client: &client,
        repo: &args.model,
        cache: &cache,
        mode,
        cancel: &cancel,
    };

    // modules.json first: it names the Pooling module's folder, and its absence means a plain
    // encoder (mean pooling + L2 norm, DESIGN.md's default).
    let modules = match fetcher.get(&["modules.json"], &mut on_progress).await {
        Ok(s) => {
            Some(std::fs::read(s.dir.join("modules.json")).context("cannot read modules.json")?)
        }
        Err(HubError::EntryNotFound { .. }) => None,
        Err(e) => return Err(e).with_context(|| format!("cannot fetch {}", args.model)),
    };
    let mut files = files_to_fetch(modules.as_deref())?;
    let snapshot = match fetcher.get_all(&files, &mut on_progress).await {
        // Older sentence-transformers repos have no sentence_bert_config.json: then the
        // encoder's own position limit is the only truncation.
        Err(HubError::EntryNotFound { .. })
            if files.iter().any(|f| f == "sentence_bert_config.json") =>
        {
            files.retain(|f| f != "sentence_bert_config.json");
            fetcher.get_all(&files, &mut on_progress).await
        }
        other => other,
    }
    .with_context(|| format!("cannot fetch {}", args.model))?;
    bar.finish_and_clear();

    let options = EmbedderOptions {
        quantization: match args.quantize {
            QuantizeArg::None => Quantization::None,
            QuantizeArg::Q8_0 => Quantization::Q8_0,
        },
        batch_size: args.batch_size,
    };
    let dir = snapshot.dir.clone();
    let inputs = args.input.clone();
    // The forward pass is CPU-bound: keep it off the async workers.
    let (dim, embeddings) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let embedder = Embedder::from_dir(&dir, &options)
            .with_context(|| format!("cannot load {}", dir.display()))?;
        let v = embedder.embed(&inputs)?;
        Ok((embedder.dim(), v))
    })
    .await
    .context("the embedding thread failed")??;

    let mut out = String::new();
    if args.json {
        // Serialized as f32 (shortest round-trip form), not widened to f64 digits.
        out = format!(
            "{{\"embeddings\":{},\"dim\":{dim}}}\n",
            serde_json::to_string(&embeddings)?
        );
    } else {
        for (text, v) in args.input.iter().zip(&embeddings) {
            let head: Vec<String> = v.iter().take(6).map(|x| format!("{x:+.4}")).collect();
            out += &format!("[{} …] dim {dim}  {text:?}\n", head.join(", "));
        }
        if embeddings.len() > 1 {
            out += "cosine similarity:\n";
            for row in similarity_matrix(&embeddings, &embeddings)? {
                let cells: Vec<String> = row.iter().map(|s| format!("{s:7.4}")).collect();
                out += &format!("  {}\n", cells.join(" "));
            }
        }
    }
    // A closed pipe (`| head`) ends the output quietly instead of panicking as println! does.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

struct Fetcher<'a> {
    client: &'a HubClient,
    repo: &'a RepoRef,
    cache: &'a lantern_hub::HfCache,
    mode: NetworkMode,
    cancel: &'a CancelToken,
}

impl Fetcher<'_> {
    async fn get(
        &self,
        paths: &[&str],
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<CachedSnapshot, HubError> {
        self.client
            .snapshot(
                self.repo,
                paths,
                self.cache,
                self.mode,
                on_progress,
                self.cancel,
            )
            .await
    }

    async fn get_all(
        &self,
        paths: &[String],
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<CachedSnapshot, HubError> {
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        self.get(&paths, on_progress).await
    }
}
