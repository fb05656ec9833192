//! Native HTTP through reqwest (rustls, HTTP/2).

use std::time::Duration;

use bytes::Bytes;

use super::{Request, Response, TransportConfig, TransportError};

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
}

impl Transport {
    pub(crate) fn new(config: &TransportConfig) -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .user_agent(&config.user_agent)
            .connect_timeout(config.connect_timeout)
            // Redirects are followed by the caller: the Hub's 302 carries the metadata headers,
            // and the token must not travel to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::new(format!("cannot build HTTP client: {e}")))?;
        Ok(Transport { client })
    }

    pub(crate) async fn send(&self, req: &Request) -> Result<Response, TransportError> {
        let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
            .map_err(|e| TransportError::new(e.to_string()))?;
        let mut builder = self.client.request(method, &req.url);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        let resp = builder.send().await.map_err(describe)?;
        Ok(Response {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            url: resp.url().to_string(),
            body: Body { inner: Some(resp) },
        })
    }

    /// Redirects must be followed by the caller (see [`Transport::new`]).
    pub(crate) fn follows_redirects(&self) -> bool {
        false
    }
}

/// A streamed response body.
#[derive(Debug)]
pub(crate) struct Body {
    inner: Option<reqwest::Response>,
}

impl Body {
    /// The next chunk, `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        match &mut self.inner {
            Some(resp) => resp.chunk().await.map_err(describe),
            None => Ok(None),
        }
    }
}

fn describe(e: reqwest::Error) -> TransportError {
    // reqwest's Display is terse ("error sending request"); the source chain says why.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TransportError::new(message)
}

pub(crate) async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}
