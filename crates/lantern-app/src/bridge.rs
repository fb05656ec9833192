//! The page's end of the worker protocol: starts the worker, sends [`Request`]s, receives
//! [`Event`]s. JSON text crosses `postMessage`, with binary attachments beside it as
//! transferred `ArrayBuffer`s (`lantern_core::protocol::wire`).

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use lantern_core::protocol::{ErrorCode, ErrorReport, Event, Request, wire};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// A running worker and the handlers that keep its messages flowing to `on_event`.
pub struct Bridge {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

impl Bridge {
    /// Starts the module worker at `url`; every event it sends goes to `on_event`, and a worker
    /// that fails to start or crashes becomes an `Event::Error`.
    pub fn start(url: &str, on_event: impl Fn(Event) + Clone + 'static) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(url, &options).map_err(describe)?;

        let handler = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some((text, attachments)) = unwrap_message(&e.data()) else {
                return;
            };
            match wire::decode::<Event>(&text, attachments) {
                Ok(event) => handler(event),
                Err(err) => handler(Event::Error(ErrorReport::new(
                    ErrorCode::Internal,
                    format!("unreadable message from the worker: {err}"),
                ))),
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
                on_event(Event::Error(ErrorReport::new(
                    ErrorCode::Internal,
                    format!("the model worker failed: {}", e.message()),
                )));
            });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        Ok(Bridge {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn send(&self, request: &Request) -> Result<(), String> {
        self.send_with(request, &[])
    }

    /// Sends `request` with `buffers` as its attachments `0..`, after those of its own
    /// [`Binary::Bytes`] fields: buffers the page holds in JavaScript (decoded audio, canvas
    /// pixels) are referenced as [`Binary::Attached`] and *transferred* — moved to the worker
    /// without a copy, and detached here.
    ///
    /// [`Binary::Bytes`]: lantern_core::protocol::Binary::Bytes
    /// [`Binary::Attached`]: lantern_core::protocol::Binary::Attached
    pub fn send_with(&self, request: &Request, buffers: &[ArrayBuffer]) -> Result<(), String> {
        let wire = wire::encode(request).map_err(|e| e.to_string())?;
        if wire.attachments.is_empty() && buffers.is_empty() {
            return self
                .worker
                .post_message(&wire.json.into())
                .map_err(describe);
        }
        let transfer = Array::new();
        for bytes in &wire.attachments {
            transfer.push(&Uint8Array::from(bytes.as_slice()).buffer());
        }
        for buffer in buffers {
            transfer.push(buffer);
        }
        let message = Object::new();
        Reflect::set(&message, &"message".into(), &wire.json.into()).map_err(describe)?;
        Reflect::set(&message, &"buffers".into(), &transfer).map_err(describe)?;
        self.worker
            .post_message_with_transfer(&message, &transfer)
            .map_err(describe)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A message as the worker posts it: JSON text alone, or `{message, buffers}`.
fn unwrap_message(data: &wasm_bindgen::JsValue) -> Option<(String, Vec<Vec<u8>>)> {
    if let Some(text) = data.as_string() {
        return Some((text, Vec::new()));
    }
    let text = Reflect::get(data, &"message".into()).ok()?.as_string()?;
    let mut attachments = Vec::new();
    if let Ok(buffers) = Reflect::get(data, &"buffers".into()).and_then(|b| b.dyn_into::<Array>()) {
        for buffer in buffers.iter() {
            let buffer: ArrayBuffer = buffer.dyn_into().ok()?;
            attachments.push(Uint8Array::new(&buffer).to_vec());
        }
    }
    Some((text, attachments))
}

fn describe(v: wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(&v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}
