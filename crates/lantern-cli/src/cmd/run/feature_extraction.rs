//! `lantern run feature-extraction --model ORG/NAME[@REV] --input TEXT ... [--json]`
//!
//! Sentence embeddings as sentence-transformers computes them (the pooling, normalisation and
//! truncation the repository's own files ask for), with the model fetched through the Hub
//! client into the huggingface_hub cache.

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use lantern_core::Task;
use lantern_hub::RepoRef;
use lantern_pipelines::embeddings::{Embedder, EmbedderOptions, Quantization, similarity_matrix};
use lantern_pipelines::tasks::Wanted;

use crate::args::HubArgs;

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
    let source = super::task_files(
        Task::FeatureExtraction,
        &args.model,
        Wanted::Choose,
        &args.hub,
        args.quiet,
    )
    .await?;
    let options = EmbedderOptions {
        quantization: match args.quantize {
            QuantizeArg::None => Quantization::None,
            QuantizeArg::Q8_0 => Quantization::Q8_0,
        },
        batch_size: args.batch_size,
    };
    let dir = source.dir().to_owned();
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
