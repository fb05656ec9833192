//! The speech-recognition demo: an audio file in, its transcript out, with segment times.
//!
//! The browser decodes the file (`AudioContext.decodeAudioData`: every format the browser
//! plays; a worker has no Web Audio) at 16 kHz, the rate Whisper hears, so the browser also
//! resamples; the page mixes the channels to mono and sends the samples to the worker as one
//! binary attachment (transferred, not copied into JSON).

use lantern_core::protocol::{
    TaskInput, TaskOutput, TranscribeInput, TranscribeOptions, Transcript,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::Ui;

/// The rate the page asks the browser to decode at (Whisper's).
const RATE: f32 = 16_000.0;

#[component]
pub fn SpeechRecognition() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let transcript = RwSignal::new(None::<Transcript>);
    let pending = RwSignal::new(None::<u64>);
    let started = RwSignal::new(0.0f64);
    let elapsed = RwSignal::new(0.0f64);
    let decoding = RwSignal::new(None::<String>);
    let timestamps = RwSignal::new(true);
    let audio = RwSignal::new(None::<(Vec<f32>, String)>);
    Effect::new(move |_| {
        if let Some((id, TaskOutput::SpeechRecognition(t))) = ui.output.get()
            && pending.get_untracked() == Some(id)
        {
            elapsed.set((now() - started.get_untracked()) / 1000.0);
            transcript.set(Some(t));
        }
    });
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        decoding.set(Some(format!("decoding {name}…")));
        audio.set(None);
        transcript.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            match decode(&file).await {
                Ok(samples) => {
                    decoding.set(None);
                    audio.set(Some((samples, name)));
                }
                Err(e) => decoding.set(Some(format!("{name}: the browser cannot decode it ({e})"))),
            }
        });
    };
    let run = move || {
        let Some((samples, _)) = audio.get_untracked() else {
            return;
        };
        transcript.set(None);
        started.set(now());
        let options = TranscribeOptions {
            timestamps: timestamps.get_untracked(),
            ..TranscribeOptions::default()
        };
        let id = ui.run_task(TaskInput::SpeechRecognition(TranscribeInput::mono(
            &samples,
            RATE as u32,
            options,
        )));
        pending.set(id);
    };
    let disabled = move || !ui.ready() || ui.running.get().is_some() || audio.get().is_none();
    view! {
        <section class="panel speech" aria-label="Speech recognition">
            <label for="audio-input">"Audio file"</label>
            <input
                id="audio-input"
                data-testid="audio-input"
                type="file"
                accept="audio/*"
                on:change=on_file
                disabled=move || !ui.ready()
            />
            <p class="muted" data-testid="audio-status">
                {move || decoding.get().or_else(|| audio.get().map(|(s, name)| {
                    format!("{name}: {:.1} s", s.len() as f32 / RATE)
                }))}
            </p>
            <label>
                <input
                    type="checkbox"
                    prop:checked=move || timestamps.get()
                    on:change=move |ev| timestamps.set(event_target_checked(&ev))
                />
                " Segment timestamps"
            </label>
            <button class="primary" data-testid="run" on:click=move |_| run() disabled=disabled>
                "Transcribe"
            </button>
            {move || transcript.get().map(|t| {
                let rtf = elapsed.get() / t.audio_s.max(1e-9);
                view! {
                    <p class="transcript" data-testid="transcript" aria-live="polite">{t.text.clone()}</p>
                    <ol class="chunks" data-testid="chunks">
                        {t.chunks.iter().map(|c| view! {
                            <li data-start=format!("{:.2}", c.timestamp.0) data-end=format!("{:.2}", c.timestamp.1)>
                                <span class="time">{format!("[{:.2} – {:.2}]", c.timestamp.0, c.timestamp.1)}</span>
                                {c.text.clone()}
                            </li>
                        }).collect_view()}
                    </ol>
                    <p class="muted" data-testid="stats" data-rtf=format!("{rtf:.4}")>
                        {format!("{:.1} s of audio in {:.2} s (real-time factor {rtf:.3})", t.audio_s, elapsed.get())}
                    </p>
                    {t.warnings.iter().map(|w| view! { <p class="muted warning">{w.clone()}</p> }).collect_view()}
                }
            })}
        </section>
    }
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The file decoded by the browser at 16 kHz and mixed to mono.
async fn decode(file: &web_sys::File) -> Result<Vec<f32>, String> {
    let describe = |v: wasm_bindgen::JsValue| {
        js_sys::Reflect::get(&v, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{v:?}"))
    };
    let bytes: js_sys::ArrayBuffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "not a buffer".to_owned())?;
    let options = web_sys::AudioContextOptions::new();
    options.set_sample_rate(RATE);
    let context = web_sys::AudioContext::new_with_context_options(&options).map_err(describe)?;
    let decoded = context.decode_audio_data(&bytes).map_err(describe)?;
    let buffer: web_sys::AudioBuffer = JsFuture::from(decoded)
        .await
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "not an audio buffer".to_owned())?;
    let _ = context.close();
    let channels = buffer.number_of_channels();
    let mut mono = vec![0.0f32; buffer.length() as usize];
    for c in 0..channels {
        let data = buffer.get_channel_data(c).map_err(describe)?;
        for (m, s) in mono.iter_mut().zip(data) {
            *m += s / channels as f32;
        }
    }
    Ok(mono)
}
