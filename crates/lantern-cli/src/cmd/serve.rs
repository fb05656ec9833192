//! `lantern serve DIR [--addr 127.0.0.1:PORT] [--mirror MIRROR_DIR]`: a built Space, served
//! with the headers a Space gets.
//!
//! Those headers are the `custom_headers` of the Space's own `README.md` front matter (what
//! huggingface.co applies), so a Space that works here works there. Only `GET`/`HEAD` of files
//! inside DIR are answered: `..` segments (raw or percent-encoded), NUL bytes, backslashes and
//! symlinks that lead out of DIR are refused before the file service sees the request, and so
//! are over-long paths (414) and request bodies (413); hyper refuses oversized request lines and
//! headers (414/431) and malformed requests (400).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use axum::middleware::Next;
use lantern_mirror::{Mirror, MirrorConfig};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::args::ServeArgs;
use crate::space::SpaceConfig;

/// `/hub` serves the mirror when `--mirror` is given, so a demo built with `--endpoint /hub`
/// downloads from the page's own origin.
pub const MIRROR_MOUNT: &str = "/hub";

/// Longest decoded request path served (Linux's PATH_MAX is 4096; no Space file comes close).
const MAX_PATH_BYTES: usize = 2048;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    if !args.dir.join("index.html").is_file() {
        anyhow::bail!(
            "{} has no index.html: build a Space into it with `lantern build DEMO --out {}`",
            args.dir.display(),
            args.dir.display()
        );
    }
    let headers = if args.no_isolation {
        Vec::new()
    } else {
        space_headers(&args.dir)?
    };
    if args.mirror.is_some() && args.dir.join(crate::space::BUNDLE_DIR).exists() {
        tracing::warn!("--mirror is mounted at {MIRROR_MOUNT}: the Space's bundled hub/ is hidden");
    }
    let app = router(&args.dir, args.mirror.as_deref(), &headers)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!("serving on {addr}: reachable from other machines");
    }
    // The first line of stdout is the URL, so scripts and tests can start us on port 0.
    println!("lantern serve: {} at http://{addr}/", args.dir.display());
    if headers.is_empty() {
        eprintln!("  no cross-origin isolation: the page will run the worker on one thread");
    }
    for (name, value) in &headers {
        eprintln!("  {name}: {value}");
    }
    tokio::select! {
        served = axum::serve(listener, app) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// The `custom_headers` of `DIR/README.md`, as the Hub would apply them. A folder without a
/// README (not made by `lantern build`) gets none, as a Space without them would.
fn space_headers(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let path = dir.join("README.md");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(
                "{} has no README.md: serving without custom headers",
                dir.display()
            );
            return Ok(Vec::new());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let config = SpaceConfig::parse(&text)
        .with_context(|| format!("{} is not a valid Space README", path.display()))?;
    if let Some(app) = &config.app_file
        && !dir.join(app).is_file()
    {
        anyhow::bail!(
            "{} names app_file {app:?}, which {} lacks",
            path.display(),
            dir.display()
        );
    }
    Ok(config.custom_headers.into_iter().collect())
}

/// The Space's files (and the mirror, if given) with `headers` on every response.
pub fn router(
    dir: &Path,
    mirror: Option<&Path>,
    headers: &[(String, String)],
) -> anyhow::Result<Router> {
    let root = Arc::new(
        std::fs::canonicalize(dir).with_context(|| format!("cannot open {}", dir.display()))?,
    );
    let mut app = Router::new();
    if let Some(m) = mirror {
        let mirror = Mirror::new(MirrorConfig::new(m))
            .with_context(|| format!("cannot serve {} as a mirror", m.display()))?;
        app = app.nest_service(MIRROR_MOUNT, mirror.router());
    }
    // ServeDir sets the MIME type from the extension (`application/wasm` included, which
    // streaming compilation requires) and answers Range requests.
    app = app.fallback_service(ServeDir::new(&*root).append_index_html_on_directories(true));
    // Model weights (`application/octet-stream`: .gguf, .safetensors) barely compress and are
    // large: gzipping them on the fly would cost more time than it saves.
    let compress =
        DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream"));
    let mut app = app
        .layer(axum::middleware::map_response(cache_control))
        .layer(CompressionLayer::new().compress_when(compress));
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::overriding(
            HeaderName::try_from(name.as_str())?,
            HeaderValue::try_from(value.as_str())?,
        ));
    }
    Ok(app
        .layer(axum::middleware::from_fn_with_state(root, confine))
        .layer(axum::middleware::from_fn(log_request)))
}

/// Refuses requests that could name a file outside the Space: this is the boundary, ServeDir's
/// own checks are the second line.
async fn confine(State(root): State<Arc<PathBuf>>, req: Request, next: Next) -> Response<Body> {
    // A static Space takes no request body; hyper would not read one, but say so.
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let Ok(decoded) = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8() else {
        return refuse(StatusCode::BAD_REQUEST);
    };
    let bad_segment = decoded
        .split('/')
        .any(|s| s == ".." || s == "." || s.contains(['\\', '\0']));
    if bad_segment || !decoded.starts_with('/') {
        return refuse(StatusCode::BAD_REQUEST);
    }
    // Longer names than any file system takes: an error from the OS (500) otherwise.
    let too_long = decoded.len() > MAX_PATH_BYTES || decoded.split('/').any(|s| s.len() > 255);
    if too_long {
        return refuse(StatusCode::URI_TOO_LONG);
    }
    // A symlink inside the Space that points out of it: resolve what exists and check.
    let candidate = root.join(decoded.trim_start_matches('/'));
    if let Ok(real) = std::fs::canonicalize(&candidate)
        && !real.starts_with(&*root)
    {
        return refuse(StatusCode::NOT_FOUND);
    }
    next.run(req).await
}

fn refuse(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Body::from(status.canonical_reason().unwrap_or("refused")));
    *resp.status_mut() = status;
    resp
}

/// The page build's hashed output (`lantern-app-0123456789abcdef.js`, scripts/build-web.sh):
/// content-addressed, never changes.
pub fn is_hashed(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, _)| {
        stem.rsplit_once('-')
            .is_some_and(|(_, h)| h.len() >= 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// Hashed build outputs never change; everything else (index.html, demo.json, the worker) is
/// revalidated, so a rebuilt Space is seen at the next load.
async fn cache_control<B>(
    req_path: axum::extract::OriginalUri,
    mut resp: Response<B>,
) -> Response<B> {
    let hashed = req_path.path().rsplit('/').next().is_some_and(is_hashed);
    if !resp.headers().contains_key(header::CACHE_CONTROL) {
        let value = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    resp
}

async fn log_request(req: Request, next: Next) -> Response<Body> {
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let resp = next.run(req).await;
    tracing::debug!("{method} {uri} -> {}", resp.status());
    resp
}
