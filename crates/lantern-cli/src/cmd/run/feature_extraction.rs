//! `lantern run feature-extraction` (being written).

use clap::Args;

#[derive(Debug, Args)]
pub struct FeatureExtractionArgs {
    /// ORG/NAME[@REVISION]
    #[arg(long)]
    pub model: lantern_core::RepoRef,
}

pub async fn run(args: FeatureExtractionArgs) -> anyhow::Result<()> {
    anyhow::bail!("{} is not implemented yet", args.model)
}
