//! The page of a Lantern demo: reads `demo.json`, shows the model and a Load button, and talks
//! to the inference worker (`worker.js`) through the protocol of `lantern_core::protocol`.
//!
//! It depends on nothing heavy (no candle, tokenizers or wgpu), so it paints before the model
//! code has even been downloaded. Every part a test or a user relies on carries a `data-testid`
//! (DESIGN.md, "Test hooks in the page").

mod bridge;
mod components;
mod format;
mod state;

use lantern_core::DemoConfig;
use lantern_core::protocol::BackendChoice;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub use state::{Phase, Ui};

/// Where the worker's loader script is, relative to the page.
const WORKER_URL: &str = "./worker/worker.js";

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let demo = LocalResource::new(fetch_demo);
    view! {
        <main class="lantern">
            <Suspense fallback=|| view! { <p class="muted">"Loading the demo…"</p> }>
                {move || {
                    demo.get()
                        .map(|result| match result {
                            Ok(config) => {
                                let options = page_options();
                                let ui = Ui::new(config, options.backend);
                                ui.set_gpu_fail_after(options.gpu_fail_after);
                                // The loader picks its build by the choice (only the
                                // single-threaded build has the WebGPU backend).
                                ui.connect(&format!(
                                    "{WORKER_URL}?backend={}",
                                    options.backend.as_str()
                                ));
                                provide_context(ui);
                                view! { <components::Demo /> }.into_any()
                            }
                            Err(message) => {
                                view! {
                                    <div class="panel error" role="alert" data-testid="error">
                                        <strong>"This demo cannot start. "</strong>
                                        {message}
                                    </div>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </main>
    }
}

/// What the page's URL asks for.
struct PageOptions {
    /// `?backend=cpu|webgpu` forces a backend (for testing and for users whose GPU
    /// misbehaves).
    backend: BackendChoice,
    /// `?gpu_fail_after=N` (testing): the GPU device is destroyed after N forward passes.
    gpu_fail_after: Option<u32>,
}

fn page_options() -> PageOptions {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let get = |name: &str| params.as_ref().and_then(|p| p.get(name));
    PageOptions {
        backend: match get("backend").as_deref() {
            Some("cpu") => BackendChoice::Cpu,
            Some("webgpu") => BackendChoice::Webgpu,
            _ => BackendChoice::Auto,
        },
        gpu_fail_after: get("gpu_fail_after").and_then(|n| n.parse().ok()),
    }
}

async fn fetch_demo() -> Result<DemoConfig, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str("./demo.json"))
        .await
        .map_err(|e| format!("cannot fetch demo.json: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "fetch gave no Response")?;
    if !resp.ok() {
        return Err(format!("demo.json: HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?
        .as_string()
        .unwrap_or_default();
    // An unknown task is named (a Space built by a newer `lantern`, or an edited demo.json).
    DemoConfig::from_json(&text).map_err(|e| e.to_string())
}
