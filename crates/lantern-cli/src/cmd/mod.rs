//! One file per subcommand.

mod build;
pub mod fetch;
mod mirror;
mod new;
pub mod run;
pub mod serve;

use crate::args::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Fetch(args) => fetch::run(args).await,
        Command::Mirror(args) => mirror::run(args).await,
        Command::New(args) => new::run(args).await,
        Command::Build(args) => build::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Run(task) => run::run(task).await,
    }
}
