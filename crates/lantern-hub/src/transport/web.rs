//! Browser HTTP through `fetch`, in a window or a worker.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, ReadableStreamDefaultReader, RequestCache, RequestInit, RequestMode,
    RequestRedirect, WorkerGlobalScope,
};

use super::{Request, Response, TransportConfig, TransportError};

#[derive(Debug, Clone)]
pub(crate) struct Transport;

impl Transport {
    pub(crate) fn new(_config: &TransportConfig) -> Result<Self, TransportError> {
        // The browser owns the user agent and connection timeouts; nothing to configure.
        Ok(Transport)
    }

    pub(crate) async fn send(&self, req: &Request) -> Result<Response, TransportError> {
        let controller = AbortController::new().map_err(js_error)?;
        let init = RequestInit::new();
        init.set_method(req.method.as_str());
        init.set_mode(RequestMode::Cors);
        init.set_redirect(RequestRedirect::Follow);
        // Verified blobs live in our own cache; the HTTP cache would only keep a second copy
        // of every weight file (and may answer a Range request from a stale entry).
        init.set_cache(RequestCache::NoStore);
        init.set_signal(Some(&controller.signal()));
        let headers = web_sys::Headers::new().map_err(js_error)?;
        for (name, value) in &req.headers {
            headers.append(name, value).map_err(js_error)?;
        }
        init.set_headers(&headers);
        let request = web_sys::Request::new_with_str_and_init(&req.url, &init).map_err(js_error)?;

        let global = js_sys::global();
        let promise = if let Some(scope) = global.dyn_ref::<WorkerGlobalScope>() {
            scope.fetch_with_request(&request)
        } else if let Some(window) = global.dyn_ref::<web_sys::Window>() {
            window.fetch_with_request(&request)
        } else {
            return Err(TransportError::new("no fetch in this JavaScript context"));
        };
        let resp: web_sys::Response = JsFuture::from(promise)
            .await
            .map_err(js_error)?
            .dyn_into()
            .map_err(|_| TransportError::new("fetch did not return a Response"))?;

        let mut map = HeaderMap::new();
        if let Ok(Some(iter)) = js_sys::try_iter(&resp.headers()) {
            for pair in iter.flatten() {
                let pair: js_sys::Array = pair.unchecked_into();
                let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string())
                else {
                    continue;
                };
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    map.append(n, v);
                }
            }
        }
        let reader = match resp.body() {
            Some(stream) => Some(
                stream
                    .get_reader()
                    .dyn_into::<ReadableStreamDefaultReader>()
                    .map_err(|_| TransportError::new("response body has no default reader"))?,
            ),
            None => None,
        };
        Ok(Response {
            status: resp.status(),
            headers: map,
            url: resp.url(),
            body: Body { reader, controller },
        })
    }

    /// `fetch` follows redirects itself.
    pub(crate) fn follows_redirects(&self) -> bool {
        true
    }
}

/// A streamed response body. Dropping it aborts the fetch, so a cancelled download stops
/// using the network at once.
#[derive(Debug)]
pub(crate) struct Body {
    reader: Option<ReadableStreamDefaultReader>,
    controller: AbortController,
}

impl Body {
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        let Some(reader) = &self.reader else {
            return Ok(None);
        };
        let result: Object = JsFuture::from(reader.read())
            .await
            .map_err(js_error)?
            .unchecked_into();
        let done = Reflect::get(&result, &JsValue::from_str("done"))
            .map_err(js_error)?
            .as_bool()
            .unwrap_or(true);
        if done {
            self.reader = None;
            return Ok(None);
        }
        let value = Reflect::get(&result, &JsValue::from_str("value")).map_err(js_error)?;
        let bytes: Uint8Array = value
            .dyn_into()
            .map_err(|_| TransportError::new("response chunk is not a Uint8Array"))?;
        Ok(Some(Bytes::from(bytes.to_vec())))
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.controller.abort();
        }
    }
}

pub(crate) fn js_error(v: JsValue) -> TransportError {
    TransportError::new(describe_js(&v))
}

/// `"Name: message"` of a JS exception (DOMException, TypeError, ...), or its string form.
pub(crate) fn describe_js(v: &JsValue) -> String {
    let field = |name: &str| {
        Reflect::get(v, &JsValue::from_str(name))
            .ok()
            .and_then(|x| x.as_string())
    };
    match (field("name"), field("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (None, Some(m)) => m,
        _ => v.as_string().unwrap_or_else(|| format!("{v:?}")),
    }
}

pub(crate) async fn sleep(d: Duration) {
    gloo_timers::future::sleep(d).await;
}
