//! `lantern run text-generation` (being written).

use clap::Args;

#[derive(Debug, Args)]
pub struct TextGenerationArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: lantern_core::RepoRef,
}

pub async fn run(args: TextGenerationArgs) -> anyhow::Result<()> {
    anyhow::bail!("{} is not implemented yet", args.model)
}
