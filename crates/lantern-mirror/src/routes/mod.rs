//! HTTP handling. One handler takes every request, so percent-decoding, the fault prefix and
//! hostile paths are dealt with in one place, on the raw path, rather than after a router has
//! normalised it.

mod api;
mod content;
mod reply;
mod route;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::response::Response;
use http::header::{self, HeaderMap};
use http::{Method, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use self::content::Answer;
use self::reply::HubError;
use self::route::{RepoKey, Route};
use crate::body::BodyFaults;
use crate::log::{FaultKind, Journal};
use crate::repo_index::{self, RepoIndex};
use crate::{FaultScope, FaultSpec, MirrorConfig, MirrorError, safety};

/// Characters left alone in a query component (RFC 3986 unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// State shared by every request of one mirror.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Canonical, so `starts_with` checks against it are meaningful.
    pub(crate) root: PathBuf,
    pub(crate) config: MirrorConfig,
    pub(crate) journal: Journal,
}

impl Shared {
    pub(crate) fn new(config: MirrorConfig) -> Result<Self, MirrorError> {
        let root = std::fs::canonicalize(&config.root)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| MirrorError::Root(config.root.clone()))?;
        Ok(Shared {
            root,
            config,
            journal: Journal::default(),
        })
    }

    /// The folder and index of a repo; hashing runs on the blocking pool.
    async fn index(&self, repo: &RepoKey) -> Result<(PathBuf, Arc<RepoIndex>), HubError> {
        let root = self.root.clone();
        let threshold = self.config.lfs_threshold;
        let repo = repo.clone();
        tokio::task::spawn_blocking(move || {
            let dir = safety::repo_dir(&root, repo.kind, &repo.id)
                .ok_or_else(|| HubError::RepoNotFound(repo.id.to_string()))?;
            let index = repo_index::load(&dir, threshold)
                .map_err(|e| HubError::Internal(format!("cannot index {}: {e}", repo.id)))?;
            Ok((dir, index))
        })
        .await
        .map_err(|e| HubError::Internal(e.to_string()))?
    }

    /// The commit of a repo given as `ORG/NAME`, `datasets/ORG/NAME` or `spaces/ORG/NAME`.
    /// Blocking: may hash the repo's files.
    pub(crate) fn commit_of(&self, repo: &str) -> Option<String> {
        let r: lantern_core::RepoRef = repo.parse().ok()?;
        let dir = safety::repo_dir(&self.root, r.repo_type, &r.id)?;
        let index = repo_index::load(&dir, self.config.lfs_threshold).ok()?;
        Some(index.commit.clone())
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let mut response = if req.method() == Method::OPTIONS {
        reply::preflight()
    } else {
        dispatch(&shared, req).await
    };
    reply::add_cors(response.headers_mut());
    response
}

/// What a route handler needs to know about its request.
pub(crate) struct Ctx<'a> {
    shared: &'a Shared,
    head: bool,
    headers: &'a HeaderMap,
    /// Path prefix of this mirror's URLs as the client sees them: the mount point, if the router
    /// is nested, and the fault prefix, so redirects keep both.
    prefix: String,
    /// This request's URL without its query; absolute when `Host` allows.
    url: String,
    query: Vec<(String, String)>,
}

impl Ctx<'_> {
    fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// This request's URL with `key` set to `value` in its query. Absolute, because clients
    /// (requests, httpx) follow `Link` headers without a base URL.
    fn url_with_query(&self, key: &str, value: &str) -> String {
        let pairs = self
            .query
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([(key, value)])
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY),
                    utf8_percent_encode(v, QUERY)
                )
            })
            .collect::<Vec<_>>();
        format!("{}?{}", self.url, pairs.join("&"))
    }
}

/// The client-visible path prefix under which this router is mounted (`Router::nest`).
fn mount_prefix(uri: &Uri, original: Option<&OriginalUri>) -> String {
    original
        .and_then(|o| o.0.path().strip_suffix(uri.path()))
        .unwrap_or("")
        .to_owned()
}

/// `http://HOST` when the `Host` header is a plain host name or address with a port.
fn origin(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

pub(crate) fn check_revision(rev: &str, index: &RepoIndex) -> Result<(), HubError> {
    // One branch; the synthetic commit is the only commit.
    if rev == "main" || rev == index.commit {
        Ok(())
    } else {
        Err(HubError::RevisionNotFound(rev.to_owned()))
    }
}

/// Splits a `/_faults/{spec}/` prefix off `segs`; returns the URL prefix to keep in redirects
/// and the spec in force (the prefix's, or the configured default).
fn fault_prefix(
    segs: &mut Vec<&str>,
    mount: &str,
    config: &MirrorConfig,
) -> Result<(String, Option<FaultSpec>), HubError> {
    if segs.first() != Some(&"_faults") {
        return Ok((mount.to_owned(), config.default_fault.clone()));
    }
    let raw = segs.get(1).copied().ok_or(HubError::NotFound)?;
    let spec = safety::decode_segment(raw)
        .ok_or_else(|| "fault spec is not UTF-8".to_owned())
        .and_then(|s| s.parse::<FaultSpec>().map_err(|e| e.to_string()))
        .map_err(HubError::BadRequest)?;
    let prefix = format!("{mount}/_faults/{raw}");
    segs.drain(..2);
    Ok((prefix, Some(spec)))
}

/// Decides whether `spec` applies to this request and applies a status fault; body faults are
/// returned for the content stream to apply.
fn apply_faults(
    journal: &Journal,
    spec: &FaultSpec,
    route: &Result<Route, HubError>,
    answer: Answer,
) -> (Answer, BodyFaults, Option<FaultKind>) {
    let none = BodyFaults::default();
    if !spec.has_faults() {
        return (answer, none, None);
    }
    let is_content = matches!(answer, Answer::Content(_));
    let in_scope = match spec.on {
        FaultScope::Content => is_content,
        FaultScope::Api => route.as_ref().is_ok_and(Route::is_api),
        FaultScope::All => !matches!(route, Ok(Route::Log { .. })),
    };
    // A request counts towards `times` only if a fault can change its answer, so the 302 in
    // front of LFS content does not use up a one-time body fault.
    let applicable = spec.status.is_some() || (is_content && spec.has_body_faults());
    if !(in_scope && applicable && journal.take_ticket(&spec.id, spec.times)) {
        return (answer, none, None);
    }
    match spec.status {
        Some(code) => (
            Answer::Reply(reply::fault_status(code, spec.retry_after)),
            none,
            Some(FaultKind::Status),
        ),
        None => {
            let body = BodyFaults {
                drop_after: spec.drop_after,
                flip: spec.flip,
                delay: spec.delay(),
            };
            (answer, body, None)
        }
    }
}

async fn dispatch(shared: &Shared, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let path = parts.uri.path();
    let original = parts.extensions.get::<OriginalUri>();
    let mount = mount_prefix(&parts.uri, original);
    let Some(rest) = path.strip_prefix('/') else {
        return HubError::NotFound.into_response();
    };
    let mut segs: Vec<&str> = rest.split('/').collect();
    let (prefix, spec) = match fault_prefix(&mut segs, &mount, &shared.config) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let route = reply::check_method(&parts.method).and_then(|()| Route::parse(&segs));

    let record = match (&spec, &route) {
        (_, Ok(Route::Log { .. })) | (None, _) => None,
        (Some(spec), _) => Some(
            shared.journal.record(
                &spec.id,
                parts.method.as_str(),
                &format!("/{}", segs.join("/")),
                parts
                    .headers
                    .get(header::RANGE)
                    .and_then(|v| v.to_str().ok()),
            ),
        ),
    };

    let ctx = Ctx {
        shared,
        head: parts.method == Method::HEAD,
        headers: &parts.headers,
        prefix,
        url: format!(
            "{}{}",
            origin(&parts.headers),
            original.map_or(path, |o| o.0.path())
        ),
        // An unparsable query is treated as none, as the Hub does.
        query: Query::try_from_uri(&parts.uri).map_or_else(|_| Vec::new(), |Query(q)| q),
    };
    let answer = match &route {
        Ok(route) => answer(&ctx, route).await,
        Err(e) => Answer::Reply(e.clone().into_response()),
    };
    let (answer, body_faults, mut fault) = match &spec {
        Some(spec) => apply_faults(&shared.journal, spec, &route, answer),
        None => (answer, BodyFaults::default(), None),
    };

    let response = match answer {
        Answer::Reply(r) => {
            if let (Some(record), Some(n)) = (&record, http_body_len(&r, ctx.head)) {
                record.add_bytes(n);
            }
            r
        }
        Answer::Content(c) => {
            let (r, body_fault) = c.into_response(body_faults, record.clone());
            fault = fault.or(body_fault);
            r
        }
    };
    if let Some(record) = &record {
        record.set_status(response.status().as_u16());
        if let Some(f) = fault {
            record.set_fault(f);
        }
    }
    tracing::debug!(method = %parts.method, path, status = response.status().as_u16(), "mirror");
    response
}

/// Size of a finished (non-streamed) body as it goes on the wire.
fn http_body_len(r: &Response, head: bool) -> Option<u64> {
    if head {
        return Some(0);
    }
    axum::body::HttpBody::size_hint(r.body()).exact()
}

async fn answer(ctx: &Ctx<'_>, route: &Route) -> Answer {
    let result = match route {
        Route::Info { repo, rev } => api::info(ctx, repo, rev).await.map(Answer::Reply),
        Route::Tree { repo, rev, dir } => api::tree(ctx, repo, rev, dir.as_ref())
            .await
            .map(Answer::Reply),
        Route::Resolve { repo, rev, path } => content::resolve(ctx, repo, rev, path.clone()).await,
        Route::Lfs { repo, sha256 } => content::lfs(ctx, repo, sha256).await,
        Route::Log { id } => Ok(Answer::Reply(reply::json(
            http::StatusCode::OK,
            &serde_json::json!(ctx.shared.journal.entries(id)),
        ))),
    };
    result.unwrap_or_else(|e| Answer::Reply(e.into_response()))
}
