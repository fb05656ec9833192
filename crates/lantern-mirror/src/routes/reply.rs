//! Response building blocks: Hub-style errors, JSON, header names, and CORS.

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

pub(crate) const X_REPO_COMMIT: HeaderName = HeaderName::from_static("x-repo-commit");
pub(crate) const X_LINKED_ETAG: HeaderName = HeaderName::from_static("x-linked-etag");
pub(crate) const X_LINKED_SIZE: HeaderName = HeaderName::from_static("x-linked-size");
const X_ERROR_CODE: HeaderName = HeaderName::from_static("x-error-code");
const X_ERROR_MESSAGE: HeaderName = HeaderName::from_static("x-error-message");
const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-resource-policy");

/// Headers a page on another origin may read: the Hub clients need all of these.
const EXPOSED: &str = "X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, Content-Range, \
                       Content-Length, Accept-Ranges, X-Error-Code, X-Error-Message, Link, Location";

/// Sets a header whose value is built from validated parts; a value that is still not a valid
/// header (it cannot happen for hex, numbers and checked repo ids) is left out, not a panic.
pub(crate) fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            headers.insert(name, v);
        }
        Err(_) => tracing::warn!(?name, value, "not a valid header value; left out"),
    }
}

pub(crate) fn response(status: StatusCode, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut r = response(status, Body::from(value.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// Why a request cannot be answered, in the Hub's terms: `X-Error-Code` is what
/// huggingface_hub turns into `RepositoryNotFoundError`, `RevisionNotFoundError` and
/// `EntryNotFoundError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HubError {
    RepoNotFound(String),
    RevisionNotFound(String),
    EntryNotFound(String),
    BadRequest(String),
    NotFound,
    MethodNotAllowed,
    Internal(String),
}

impl HubError {
    pub(crate) fn into_response(self) -> Response {
        let (status, code, message) = match self {
            HubError::RepoNotFound(repo) => (
                StatusCode::NOT_FOUND,
                Some("RepoNotFound"),
                format!("Repository not found: {repo}"),
            ),
            HubError::RevisionNotFound(rev) => (
                StatusCode::NOT_FOUND,
                Some("RevisionNotFound"),
                format!("Invalid rev id: {rev}"),
            ),
            HubError::EntryNotFound(path) => (
                StatusCode::NOT_FOUND,
                Some("EntryNotFound"),
                format!("Entry not found: {path}"),
            ),
            HubError::BadRequest(message) => (StatusCode::BAD_REQUEST, None, message),
            HubError::NotFound => (StatusCode::NOT_FOUND, None, "Not Found".to_owned()),
            HubError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "Method not allowed".to_owned(),
            ),
            HubError::Internal(message) => (StatusCode::INTERNAL_SERVER_ERROR, None, message),
        };
        let mut r = json(status, &serde_json::json!({ "error": message }));
        let headers = r.headers_mut();
        if let Some(code) = code {
            headers.insert(X_ERROR_CODE, HeaderValue::from_static(code));
        }
        // The message may quote request bytes; keep the header to printable ASCII.
        let printable: String = message
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        set(headers, X_ERROR_MESSAGE, &printable);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
        }
        r
    }
}

/// The answer of an injected `status=CODE` fault.
pub(crate) fn fault_status(code: u16, retry_after: u64) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json(
        status,
        &serde_json::json!({ "error": format!("fault injection: status {code}") }),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    r
}

/// Answer to a CORS preflight: the browser may send what a Hub client sends.
pub(crate) fn preflight() -> Response {
    let mut r = response(StatusCode::NO_CONTENT, Body::empty());
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Range, Authorization, If-None-Match, Content-Type, User-Agent"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

/// CORS on every response, so a page on any origin can download, as it can from the Hub.
pub(crate) fn add_cors(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    // Lets cross-origin-isolated pages (COEP: require-corp) load from the mirror.
    headers.insert(
        CROSS_ORIGIN_RESOURCE_POLICY,
        HeaderValue::from_static("cross-origin"),
    );
}

pub(crate) fn check_method(method: &Method) -> Result<(), HubError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(HubError::MethodNotAllowed)
    }
}
