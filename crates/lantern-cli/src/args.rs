//! The command line as plain data.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lantern_core::RepoRef;

#[derive(Debug, Parser)]
#[command(
    name = "lantern",
    version,
    about = "Hugging Face models in the browser: fetch, mirror, run, build, serve"
)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace). LANTERN_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn log_level(&self) -> &'static str {
        match self.verbose {
            0 => "warn,lantern=info,lantern_hub=info,lantern_mirror=info",
            1 => "info,lantern=debug,lantern_hub=debug,lantern_mirror=debug",
            _ => "trace",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download files of a repository into the huggingface_hub cache, verified, and print the
    /// snapshot folder.
    Fetch(FetchArgs),
    /// Serve a folder (DIR/ORG/NAME/<files>) with the Hugging Face Hub's HTTP protocol.
    Mirror(MirrorArgs),
    /// Run a task natively, with the same pipelines the browser runs.
    #[command(subcommand)]
    Run(RunTask),
}

/// Tasks, named like the Hub's pipeline tags.
#[derive(Debug, Subcommand)]
pub enum RunTask {
    /// Generate text with a GGUF chat model.
    TextGeneration(crate::cmd::run::text_generation::TextGenerationArgs),
    /// Sentence embeddings (mean pooled, L2-normalised, as sentence-transformers does).
    FeatureExtraction(crate::cmd::run::feature_extraction::FeatureExtractionArgs),
}

/// Options shared by commands that talk to the Hub.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// Hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co).
    #[arg(long, env = "HF_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Never use the network; only what is in the cache (also: HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// ORG/NAME[@REVISION]; `datasets/ORG/NAME` and `spaces/ORG/NAME` for other repo types.
    pub repo: RepoRef,
    /// Files to fetch (default: every file of the repository).
    pub files: Vec<String>,
    #[command(flatten)]
    pub hub: HubArgs,
    /// Print the fetched files as JSON instead of the snapshot path.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Folder holding ORG/NAME/<files> (and datasets/ORG/NAME, spaces/ORG/NAME).
    pub dir: PathBuf,
    /// Address to listen on; loopback unless you ask otherwise.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub addr: SocketAddr,
    /// Entries per page of the tree API (the Hub uses 1000).
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,
    /// Files at least this large are served as LFS files (besides .gitattributes patterns).
    #[arg(long, default_value_t = 10 << 20)]
    pub lfs_threshold: u64,
    /// A fault applied to every request, e.g. `id=x,drop_after=1000000,times=1` (see the
    /// lantern-mirror docs); tests usually put faults in the URL instead.
    #[arg(long)]
    pub fault: Option<String>,
}
