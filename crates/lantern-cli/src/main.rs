//! `lantern`: fetch models from the Hub, serve a local Hub mirror, run tasks natively, and
//! scaffold, build and serve demos. The command line is parsed into plain data (`args.rs`), then
//! each subcommand runs from its own file under `cmd/`.

mod args;
mod cmd;
mod hf_env;
mod hub_source;
mod manifest;
mod model_card;
mod space;
mod text2text;
mod wasm_limit;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Before any thread starts: models load on one thread and run on another (pool threads).
    lantern_pipelines::process::use_one_malloc_arena();
    let args = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LANTERN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(args.log_level())),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
