//! The client: endpoint, token, retries, and the request loop every call goes through.

use std::time::Duration;

use futures_util::future::{Either, select};
use lantern_core::{RepoPath, RepoRef};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::cancel::CancelToken;
use crate::error::{HubError, Result};
use crate::retry::RetryPolicy;
use crate::transport::{Method, Request, Response, Transport, TransportConfig, sleep};

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Characters kept as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Largest JSON document (a tree page, a revision) we read; the Hub's pages are far smaller.
pub(crate) const MAX_JSON_BYTES: usize = 64 << 20;

/// Most redirects followed for one request (the Hub uses one, to its CDN).
const MAX_REDIRECTS: usize = 10;

/// A Hugging Face Hub client. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), lantern_hub::HubError> {
/// let client = lantern_hub::HubClient::builder()
///     .endpoint("http://127.0.0.1:8765")
///     .build()?;
/// let repo = "lantern-fixtures/all-MiniLM-L6-v2".parse()?;
/// let pinned = client.pin(&repo, &["config.json"]).await?;
/// println!("{} at {}: {} bytes", pinned.repo, pinned.commit, pinned.total_size());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HubClient {
    pub(crate) endpoint: String,
    token: Option<String>,
    pub(crate) retry: RetryPolicy,
    /// A body read that yields nothing for this long is treated as a dropped connection.
    pub(crate) idle_timeout: Duration,
    transport: Transport,
}

/// Builds a [`HubClient`]. Nothing here reads the environment: callers pass `HF_ENDPOINT` and
/// `HF_TOKEN` explicitly, so a library user is never surprised.
#[derive(Debug, Clone)]
pub struct HubClientBuilder {
    endpoint: String,
    token: Option<String>,
    retry: RetryPolicy,
    idle_timeout: Duration,
    config: TransportConfig,
}

impl Default for HubClientBuilder {
    fn default() -> Self {
        HubClientBuilder {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            retry: RetryPolicy::default(),
            idle_timeout: Duration::from_secs(30),
            config: TransportConfig {
                user_agent: format!("lantern-hub/{}", env!("CARGO_PKG_VERSION")),
                connect_timeout: Duration::from_secs(10),
            },
        }
    }
}

impl HubClientBuilder {
    /// Base URL of the Hub (or a mirror), e.g. `https://huggingface.co`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into().trim_end_matches('/').to_owned();
        self
    }

    /// A user access token, sent as `Authorization: Bearer` to the endpoint's own origin only.
    /// Meant for native use: a browser build must never embed one.
    pub fn token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.config.user_agent = ua.into();
        self
    }

    pub fn build(self) -> Result<HubClient> {
        let origin_ok =
            self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://");
        if !origin_ok {
            return Err(HubError::InvalidResponse {
                url: self.endpoint,
                reason: "the endpoint must be an http:// or https:// URL".into(),
            });
        }
        let transport = Transport::new(&self.config).map_err(|e| HubError::Network {
            url: self.endpoint.clone(),
            message: e.message,
        })?;
        Ok(HubClient {
            endpoint: self.endpoint,
            token: self.token,
            retry: self.retry,
            idle_timeout: self.idle_timeout,
            transport,
        })
    }
}

impl HubClient {
    pub fn builder() -> HubClientBuilder {
        HubClientBuilder::default()
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `{endpoint}/{prefix}{repo}/resolve/{revision}/{path}`, each part percent-encoded (the
    /// revision as one segment, so `refs/pr/1` becomes `refs%2Fpr%2F1`).
    pub fn resolve_url(&self, repo: &RepoRef, revision: &str, path: &RepoPath) -> String {
        let path: Vec<String> = path
            .components()
            .map(|c| utf8_percent_encode(c, SEGMENT).to_string())
            .collect();
        format!(
            "{}/{}{}/resolve/{}/{}",
            self.endpoint,
            repo.repo_type.url_prefix(),
            repo.id,
            utf8_percent_encode(revision, SEGMENT),
            path.join("/")
        )
    }

    /// `{endpoint}/api/{models|datasets|spaces}/{repo}{suffix}`.
    pub(crate) fn api_url(&self, repo: &RepoRef, suffix: &str) -> String {
        format!(
            "{}/api/{}/{}{}",
            self.endpoint,
            repo.repo_type.api_segment(),
            repo.id,
            suffix
        )
    }

    pub(crate) fn encode_segment(s: &str) -> String {
        utf8_percent_encode(s, SEGMENT).to_string()
    }

    /// Sends one request, following redirects, without retrying. HTTP error statuses are
    /// returned as responses; only transport failures are errors here.
    pub(crate) async fn send_once(
        &self,
        mut req: Request,
        follow_redirects: bool,
        cancel: &CancelToken,
    ) -> Result<Response> {
        for _ in 0..=MAX_REDIRECTS {
            let mut wire = req.clone();
            if let Some(token) = &self.token
                && same_origin(&wire.url, &self.endpoint)
            {
                wire.headers
                    .push(("authorization", format!("Bearer {token}")));
            }
            let resp = race_cancel(cancel, self.transport.send(&wire))
                .await?
                .map_err(|e| HubError::Network {
                    url: req.url.clone(),
                    message: e.message,
                })?;
            let redirect = matches!(resp.status, 301 | 302 | 303 | 307 | 308);
            if !(redirect && follow_redirects && !self.transport.follows_redirects()) {
                return Ok(resp);
            }
            let location = resp
                .header("location")
                .ok_or_else(|| HubError::InvalidResponse {
                    url: req.url.clone(),
                    reason: format!("HTTP {} without a Location header", resp.status),
                })?;
            req.url = join_url(&req.url, location);
        }
        Err(HubError::InvalidResponse {
            url: req.url,
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// Sends a request, retrying network failures, 5xx and 429 with backoff. A non-success
    /// answer becomes the matching typed error.
    pub(crate) async fn send(
        &self,
        req: Request,
        ctx: &ErrorContext<'_>,
        cancel: &CancelToken,
    ) -> Result<Response> {
        let mut attempt = 0;
        loop {
            let err = match self.send_once(req.clone(), true, cancel).await {
                Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp),
                Ok(resp) => status_error(resp, ctx).await,
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= self.retry.max_retries {
                return Err(err);
            }
            let retry_after = match &err {
                HubError::RateLimited { retry_after } => *retry_after,
                _ => None,
            };
            let delay = self.retry.delay(attempt, retry_after);
            tracing::debug!(url = %req.url, %err, ?delay, "retrying");
            race_cancel(cancel, sleep(delay)).await?;
            attempt += 1;
        }
    }

    /// GETs a JSON document (bounded in size) with retries.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        ctx: &ErrorContext<'_>,
        cancel: &CancelToken,
    ) -> Result<(T, Response)> {
        let mut resp = self
            .send(Request::new(Method::Get, url), ctx, cancel)
            .await?;
        let body = race_cancel(cancel, resp.read_limited(MAX_JSON_BYTES))
            .await?
            .map_err(|e| HubError::Network {
                url: url.to_owned(),
                message: e.message,
            })?;
        Ok((parse_json(&body, url)?, resp))
    }
}

/// A JSON answer of the API at `url`, as `T`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], url: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| HubError::InvalidResponse {
        url: url.to_owned(),
        reason: format!("invalid JSON: {e}"),
    })
}

/// What a request was about, to name the right thing in a not-found error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorContext<'a> {
    pub repo: &'a RepoRef,
    pub revision: &'a str,
    pub path: Option<&'a str>,
}

/// Maps a non-success answer to a typed error, using the Hub's `X-Error-Code` header
/// (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`) where present.
pub(crate) async fn status_error(mut resp: Response, ctx: &ErrorContext<'_>) -> HubError {
    let code = resp.header("x-error-code").map(str::to_owned);
    let mut message = resp.header("x-error-message").map(str::to_owned);
    if message.is_none() {
        // The body of an error is small JSON (`{"error": "..."}`); read a bounded amount.
        if let Ok(body) = resp.read_limited(16 << 10).await {
            message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .or_else(|| {
                    String::from_utf8(body)
                        .ok()
                        .filter(|s| !s.trim().is_empty())
                });
        }
    }
    let message = message.unwrap_or_else(|| format!("HTTP {}", resp.status));
    let repo = ctx.repo.id.to_string();
    match (resp.status, code.as_deref()) {
        (_, Some("RepoNotFound")) => HubError::RepoNotFound { repo },
        (_, Some("RevisionNotFound")) => HubError::RevisionNotFound {
            repo,
            revision: ctx.revision.to_owned(),
        },
        (_, Some("EntryNotFound")) => HubError::EntryNotFound {
            repo,
            revision: ctx.revision.to_owned(),
            path: ctx.path.unwrap_or_default().to_owned(),
        },
        (_, Some("GatedRepo")) => HubError::Gated { repo, message },
        (401 | 403, _) => HubError::Unauthorized { repo, message },
        (429, _) => HubError::RateLimited {
            retry_after: resp
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        (404, _) => match ctx.path {
            Some(path) => HubError::EntryNotFound {
                repo,
                revision: ctx.revision.to_owned(),
                path: path.to_owned(),
            },
            None => HubError::RepoNotFound { repo },
        },
        (status, _) => HubError::Http {
            status,
            url: resp.url.clone(),
            message,
        },
    }
}

/// Runs `fut` unless `cancel` fires first.
pub(crate) async fn race_cancel<F: std::future::Future>(
    cancel: &CancelToken,
    fut: F,
) -> Result<F::Output> {
    if cancel.is_cancelled() {
        return Err(HubError::Cancelled);
    }
    let fut = std::pin::pin!(fut);
    let cancelled = std::pin::pin!(cancel.cancelled());
    match select(fut, cancelled).await {
        Either::Left((out, _)) => Ok(out),
        Either::Right(((), _)) => Err(HubError::Cancelled),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme_end + end])
}

fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y))
}

/// Resolves a `Location` (absolute, path-absolute or relative) against the URL that sent it.
pub(crate) fn join_url(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let Some(origin) = origin(base) else {
        return location.to_owned();
    };
    if let Some(rest) = location.strip_prefix("//") {
        let scheme = &base[..base.find("://").unwrap_or(0)];
        return format!("{scheme}://{rest}");
    }
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path_end = base.find(['?', '#']).unwrap_or(base.len());
    let dir = match base[..path_end].rfind('/') {
        Some(i) if i >= origin.len() => &base[..=i],
        _ => return format!("{origin}/{location}"),
    };
    format!("{dir}{location}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_encoded() {
        let c = HubClient::builder()
            .endpoint("http://h:1/")
            .build()
            .unwrap();
        let repo: RepoRef = "datasets/org/name".parse().unwrap();
        let p = RepoPath::new("dir/a b#.json").unwrap();
        assert_eq!(
            c.resolve_url(&repo, "refs/pr/1", &p),
            "http://h:1/datasets/org/name/resolve/refs%2Fpr%2F1/dir/a%20b%23.json"
        );
        assert_eq!(
            c.api_url(&repo, "/tree/main"),
            "http://h:1/api/datasets/org/name/tree/main"
        );
    }

    #[test]
    fn joins_locations() {
        let base = "http://h:1/org/n/resolve/main/f?x=1";
        assert_eq!(join_url(base, "https://cdn/x"), "https://cdn/x");
        assert_eq!(join_url(base, "/_lfs/a"), "http://h:1/_lfs/a");
        assert_eq!(join_url(base, "g"), "http://h:1/org/n/resolve/main/g");
        assert_eq!(join_url(base, "//cdn/y"), "http://cdn/y");
    }

    #[test]
    fn token_stays_on_its_origin() {
        assert!(same_origin(
            "https://huggingface.co/api/x",
            "https://huggingface.co"
        ));
        assert!(!same_origin(
            "https://cdn-lfs.hf.co/x",
            "https://huggingface.co"
        ));
        assert!(!same_origin(
            "https://huggingface.co.evil/x",
            "https://huggingface.co"
        ));
    }

    #[test]
    fn rejects_non_http_endpoints() {
        assert!(
            HubClient::builder()
                .endpoint("file:///etc")
                .build()
                .is_err()
        );
    }
}
