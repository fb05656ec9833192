//! The worker in a browser: a module Web Worker started by `static/worker.js`.

use js_sys::{Function, Promise};
use lantern_core::protocol::{CacheEntry, ErrorCode, ErrorReport, Event, Request};
use lantern_hub::{CachedFile, HubError, OpfsCache};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

use crate::engine::{self, Cancels, Context};

/// Starts the worker loop and returns the `message` handler it installed on the worker's
/// global scope (the loader replays messages that arrived before with it).
#[wasm_bindgen]
pub fn start(threads: usize) -> Result<Function, JsValue> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().dyn_into()?;
    let (tx, rx) = futures_channel::mpsc::unbounded();
    let cancels = Cancels::default();

    let post = scope.clone();
    let emit = move |event: Event| {
        if let Ok(text) = serde_json::to_string(&event) {
            // Fails only if the page is gone.
            let _ = post.post_message(&text.into());
        }
    };
    let on_message_emit = emit.clone();
    let handler_cancels = cancels.clone();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(text) = e.data().as_string() else {
            return;
        };
        match serde_json::from_str::<Request>(&text) {
            // A cancel must not wait behind the request it cancels.
            Ok(Request::Cancel { id }) => handler_cancels.cancel(id),
            Ok(request) => {
                let _ = tx.unbounded_send(request);
            }
            Err(err) => on_message_emit(Event::Error(ErrorReport::new(
                ErrorCode::InvalidInput,
                format!("unreadable request: {err}"),
            ))),
        }
    });
    let function: Function = handler.as_ref().unchecked_ref::<Function>().clone();
    scope.set_onmessage(Some(&function));
    // The handler lives as long as the worker.
    handler.forget();

    let ctx = Context {
        cache: OpfsCache::default(),
        threads: threads.max(1),
        emit: Box::new(emit),
    };
    wasm_bindgen_futures::spawn_local(engine::run(rx, cancels, ctx));
    Ok(function)
}

pub(crate) async fn read(file: &CachedFile) -> Result<Vec<u8>, HubError> {
    let mut bytes = Vec::new();
    file.read_into(&mut bytes).await?;
    Ok(bytes)
}

/// Yields to the event loop through a `MessageChannel` (a task, unlike a microtask, lets the
/// worker's `message` events run; unlike `setTimeout(0)` it is not clamped to 4 ms).
pub(crate) async fn yield_now() {
    let Ok(channel) = MessageChannel::new() else {
        return;
    };
    let port = channel.port1();
    let promise = Promise::new(&mut |resolve, _| port.set_onmessage(Some(&resolve)));
    if channel.port2().post_message(&JsValue::UNDEFINED).is_ok() {
        let _ = JsFuture::from(promise).await;
    }
    port.set_onmessage(None);
}

/// A relative endpoint means the page's own origin (a Space that bundles its model).
pub(crate) fn absolute_endpoint(endpoint: &str) -> String {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        return endpoint.to_owned();
    }
    let base = js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .ok()
        .map(|s| s.location().href())
        .unwrap_or_default();
    web_sys::Url::new_with_base(endpoint, &base)
        .map(|u| u.href().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| endpoint.to_owned())
}

pub(crate) async fn cache_status(
    cache: &OpfsCache,
) -> Result<(Vec<CacheEntry>, u64, u64), HubError> {
    let entries = cache
        .entries()
        .await?
        .into_iter()
        .map(|(name, size)| CacheEntry { name, size })
        .collect();
    let (usage, quota) = cache.estimate().await?;
    Ok((entries, usage, quota))
}

pub(crate) async fn clear_cache(cache: &OpfsCache) -> Result<(), HubError> {
    cache.clear().await
}
