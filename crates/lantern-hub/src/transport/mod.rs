//! A minimal HTTP layer: one request type, one response type with a streamed body.
//!
//! Natively it is reqwest (with redirects off, so metadata headers of the Hub's 302 answers are
//! visible and `Authorization` is never forwarded to the CDN); in the browser it is `fetch`
//! (which follows redirects itself). Everything above this module is written once.

use std::time::Duration;

use http::HeaderMap;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as imp;
#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
use web as imp;

pub(crate) use imp::{Body, Transport, sleep};
#[cfg(target_arch = "wasm32")]
pub(crate) use web::describe_js;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    pub(crate) fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    /// The URL that answered (after redirects, in the browser).
    pub url: String,
    pub body: Body,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Reads at most `limit` bytes of the body: for error messages and JSON metadata, which are
    /// small; a hostile server cannot make us buffer more than that.
    pub(crate) async fn read_limited(&mut self, limit: usize) -> Result<Vec<u8>, TransportError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.body.chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(TransportError::new(format!(
                    "response body larger than {limit} bytes"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// A request that produced no HTTP answer, or whose body broke off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransportError {
    pub message: String,
}

impl TransportError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        TransportError {
            message: message.into(),
        }
    }
}

/// Settings of the underlying HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct TransportConfig {
    pub user_agent: String,
    /// The browser owns its connection timeouts; only native clients use this.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub connect_timeout: Duration,
}
