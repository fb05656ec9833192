//! One file per subcommand.

pub mod fetch;
mod mirror;
pub mod run;

use crate::args::{Cli, Command, RunTask};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Fetch(args) => fetch::run(args).await,
        Command::Mirror(args) => mirror::run(args).await,
        Command::Run(RunTask::TextGeneration(args)) => run::text_generation::run(args).await,
        Command::Run(RunTask::FeatureExtraction(args)) => run::feature_extraction::run(args).await,
    }
}
