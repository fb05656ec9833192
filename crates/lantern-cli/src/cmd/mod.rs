//! One file per subcommand.

mod build;
pub mod fetch;
mod mirror;
mod new;
pub mod run;
pub mod serve;

use crate::args::{Cli, Command, RunTask};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Fetch(args) => fetch::run(args).await,
        Command::Mirror(args) => mirror::run(args).await,
        Command::New(args) => new::run(args).await,
        Command::Build(args) => build::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Run(RunTask::TextGeneration(args)) => run::text_generation::run(args).await,
        Command::Run(RunTask::FeatureExtraction(args)) => run::feature_extraction::run(args).await,
        Command::Run(RunTask::TextClassification(args)) => {
            run::text_classification::run(args).await
        }
    }
}
