//! `lantern mirror DIR [--addr 127.0.0.1:PORT]`

use anyhow::Context as _;
use lantern_mirror::{FaultSpec, MirrorConfig};

use crate::args::MirrorArgs;

pub async fn run(args: MirrorArgs) -> anyhow::Result<()> {
    let mut config = MirrorConfig::new(&args.dir);
    config.page_size = args.page_size;
    config.lfs_threshold = args.lfs_threshold;
    if let Some(spec) = &args.fault {
        config.default_fault = Some(spec.parse::<FaultSpec>()?);
    }
    if !args.addr.ip().is_loopback() {
        tracing::warn!(
            "serving {} on {}: reachable from other machines",
            args.dir.display(),
            args.addr
        );
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // The first line of stdout is the URL, so scripts can start us on port 0 and read it.
    println!(
        "lantern mirror: serving {} at http://{addr}",
        args.dir.display()
    );
    tokio::select! {
        served = lantern_mirror::serve(config, listener) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
