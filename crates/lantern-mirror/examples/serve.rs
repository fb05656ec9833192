//! Serves a mirror folder until Ctrl-C: `cargo run -p lantern-mirror --example serve -- ROOT [ADDR]`.
//!
//! ADDR defaults to `127.0.0.1:0`; the URL is printed on stdout once the port is bound, so
//! scripts can start it with a free port and read where it listens. `LANTERN_MIRROR_PAGE_SIZE`
//! sets the tree API's page size, to make clients follow `Link` headers.

use std::io::Write;

use lantern_mirror::{MirrorConfig, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        return Err("usage: serve ROOT [ADDR]".into());
    };
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let mut config = MirrorConfig::new(root);
    if let Ok(n) = std::env::var("LANTERN_MIRROR_PAGE_SIZE") {
        config.page_size = n.parse()?;
    }
    tokio::select! {
        result = serve(config, listener) => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
