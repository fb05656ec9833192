//! The worker in a browser: a module Web Worker started by `static/worker.js`.

use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
use lantern_core::protocol::{CacheEntry, ErrorCode, ErrorReport, Event, Request, wire};
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
        if let Ok(wire) = wire::encode(&event) {
            // Fails only if the page is gone.
            let _ = post_wire(&post, wire);
        }
    };
    let on_message_emit = emit.clone();
    let handler_cancels = cancels.clone();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some((text, attachments)) = unwrap_message(&e.data()) else {
            on_message_emit(Event::Error(ErrorReport::new(
                ErrorCode::InvalidInput,
                "unreadable request: neither JSON text nor {message, buffers}",
            )));
            return;
        };
        match wire::decode::<Request>(&text, attachments) {
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

/// A message as the page posts it: JSON text alone, or `{message, buffers}` where `buffers`
/// are the message's attachments (transferred `ArrayBuffer`s, copied here into wasm memory,
/// where the pipelines read them).
fn unwrap_message(data: &JsValue) -> Option<(String, Vec<Vec<u8>>)> {
    if let Some(text) = data.as_string() {
        return Some((text, Vec::new()));
    }
    let text = Reflect::get(data, &"message".into()).ok()?.as_string()?;
    let buffers = Reflect::get(data, &"buffers".into()).ok()?;
    let mut attachments = Vec::new();
    if !buffers.is_undefined() {
        for buffer in buffers.dyn_into::<Array>().ok()?.iter() {
            let buffer: ArrayBuffer = buffer.dyn_into().ok()?;
            attachments.push(Uint8Array::new(&buffer).to_vec());
        }
    }
    Some((text, attachments))
}

/// Posts a message: its JSON text, or `{message, buffers}` with the buffers transferred.
fn post_wire(scope: &DedicatedWorkerGlobalScope, wire: wire::Wire) -> Result<(), JsValue> {
    if wire.attachments.is_empty() {
        return scope.post_message(&wire.json.into());
    }
    let buffers = Array::new();
    for bytes in &wire.attachments {
        buffers.push(&Uint8Array::from(bytes.as_slice()).buffer());
    }
    let message = Object::new();
    Reflect::set(&message, &"message".into(), &wire.json.into())?;
    Reflect::set(&message, &"buffers".into(), &buffers)?;
    scope.post_message_with_transfer(&message, &buffers)
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
