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
    /// Scaffold a demo manifest (`DIR/demo.toml`) for a model on the Hub.
    New(NewArgs),
    /// Turn a demo manifest into a static Hugging Face Space.
    Build(BuildArgs),
    /// Serve a built Space locally with the headers a Space gets.
    Serve(ServeArgs),
    /// Run a task natively, with the same pipelines the browser runs.
    #[command(subcommand)]
    Run(crate::cmd::run::RunTask),
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

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Folder for the demo; `DIR/demo.toml` is written.
    pub dir: PathBuf,
    /// The model: ORG/NAME[@REVISION].
    #[arg(long)]
    pub model: String,
    /// text-generation, feature-extraction or sentence-similarity (default: from the model
    /// card's pipeline_tag, else from the repository's files).
    #[arg(long)]
    pub task: Option<String>,
    /// The .gguf file of a text-generation demo (default: Q4_K_M, else Q4_1/Q4_0, else the
    /// smallest that runs).
    #[arg(long)]
    pub file: Option<String>,
    /// Replace an existing DIR/demo.toml.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub hub: HubArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The demo manifest (`demo.toml`).
    pub demo: PathBuf,
    /// Folder to write the Space to.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub hub: HubArgs,
    /// Where to read the model's metadata when `--endpoint` is a path on the Space's origin.
    #[arg(long)]
    pub pin_endpoint: Option<String>,
    /// The prebuilt page and worker (default: $LANTERN_RUNTIME, else next to this binary).
    #[arg(long)]
    pub runtime: Option<PathBuf>,
    /// Put the model files inside the Space (under hub/, in LFS), downloaded by the page from
    /// its own origin; `--endpoint` is then only where they are fetched from now.
    #[arg(long)]
    pub bundle_model: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A folder written by `lantern build`.
    pub dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Also serve this mirror folder at /hub on the same origin.
    #[arg(long)]
    pub mirror: Option<PathBuf>,
    /// Serve without the cross-origin isolation headers (the page then runs one thread), as a
    /// plain static host would.
    #[arg(long)]
    pub no_isolation: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn servers_listen_on_loopback_unless_told_otherwise() {
        let cli = Cli::try_parse_from(["lantern", "serve", "space"]).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("not serve")
        };
        assert!(serve.addr.ip().is_loopback(), "{}", serve.addr);
        let cli = Cli::try_parse_from(["lantern", "mirror", "dir"]).unwrap();
        let Command::Mirror(mirror) = cli.command else {
            panic!("not mirror")
        };
        assert!(mirror.addr.ip().is_loopback(), "{}", mirror.addr);
    }
}
