//! The page's end of the worker protocol: starts the worker, sends [`Request`]s, receives
//! [`Event`]s. JSON text crosses `postMessage`, as `lantern_core::protocol` describes.

use lantern_core::protocol::{ErrorCode, ErrorReport, Event, Request};
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
            let Some(text) = e.data().as_string() else {
                return;
            };
            match serde_json::from_str::<Event>(&text) {
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
        let text = serde_json::to_string(request).map_err(|e| e.to_string())?;
        self.worker.post_message(&text.into()).map_err(describe)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn describe(v: wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(&v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}
