//! The speech-recognition demo: an audio file or the microphone in, its transcript out, with
//! segment times that seek the player, and the transcript as `.txt`, `.srt` or `.vtt`.
//!
//! The browser decodes a file (`AudioContext.decodeAudioData`: every format the browser
//! plays; a worker has no Web Audio) at 16 kHz, the rate Whisper hears, so the browser also
//! resamples; the microphone is read at the same rate through an `AudioWorklet`. The page mixes
//! the channels to mono and sends the samples to the worker as one binary attachment
//! (transferred, not copied into JSON). Segments arrive as they are decoded (`Partial`
//! events) and a run can be cancelled between two decoder steps.

use std::sync::Arc;
use std::time::Duration;

use lantern_core::protocol::{
    Chunk, Partial, TaskInput, TaskOutput, TranscribeInput, TranscribeOptions, Transcript,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen_futures::JsFuture;

use crate::Ui;

/// The rate the page asks the browser to decode and record at (Whisper's).
const RATE: f32 = 16_000.0;
/// The largest file the page reads: a browser tab cannot hold more in one `ArrayBuffer`, and
/// two hours of 16 kHz audio (what the worker would be sent) are far below it.
const MAX_FILE_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;
/// While recording, the tail is transcribed again this often (when no run is in flight).
const LIVE_EVERY: Duration = Duration::from_secs(3);
/// How much of the recording's end the live transcript hears: one Whisper window.
const LIVE_TAIL_S: usize = 30;

/// The audio worklet that hands the microphone's samples to the page, 0.1 s at a time (one
/// message per 128-sample render quantum would be 125 messages a second).
const RECORDER_WORKLET: &str = "class LanternRecorder extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = new Float32Array(1600); this.used = 0; }
  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length > 0) {
      const n = channels[0].length;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (const c of channels) s += c[i];
        this.buffer[this.used++] = s / channels.length;
        if (this.used === this.buffer.length) {
          this.port.postMessage(this.buffer);
          this.buffer = new Float32Array(1600);
          this.used = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor('lantern-recorder', LanternRecorder);
";

/// What a run was for: the whole audio, or the live transcript of a recording's tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Whole,
    Live,
}

/// Audio ready to transcribe: mono samples at [`RATE`], a name, and a URL the player plays.
#[derive(Debug, Clone, PartialEq)]
struct Audio {
    samples: Arc<[f32]>,
    name: String,
    url: Option<String>,
}

/// The open microphone: dropped (tracks stopped, context closed) when recording stops.
struct Recorder {
    stream: web_sys::MediaStream,
    context: web_sys::AudioContext,
    node: web_sys::AudioWorkletNode,
    _on_chunk: Closure<dyn FnMut(web_sys::MessageEvent)>,
    tick: Option<IntervalHandle>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(tick) = self.tick.take() {
            tick.clear();
        }
        if let Ok(port) = self.node.port() {
            port.set_onmessage(None);
        }
        for track in self.stream.get_tracks() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
        let _ = self.context.close();
    }
}

#[component]
pub fn SpeechRecognition() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let transcript = RwSignal::new(None::<Transcript>);
    let pending = RwSignal::new(None::<(u64, Kind)>);
    let started = RwSignal::new(0.0f64);
    let elapsed = RwSignal::new(0.0f64);
    let status = RwSignal::new(None::<String>);
    let cancelled = RwSignal::new(None::<String>);
    let timestamps = RwSignal::new(true);
    let audio = RwSignal::new(None::<Audio>);
    // The microphone: its error, whether it records, the samples so far, the live text.
    let mic_error = RwSignal::new(None::<String>);
    let recording = RwSignal::new(false);
    let recorded_s = RwSignal::new(0.0f64);
    let live = RwSignal::new(String::new());
    let queued = RwSignal::new(false);
    let recorder = StoredValue::new_local(None::<Recorder>);
    let buffer = StoredValue::new_local(Vec::<f32>::new());
    let copied = RwSignal::new(false);

    let send = move |samples: &[f32], kind: Kind| {
        let options = TranscribeOptions {
            timestamps: kind == Kind::Whole && timestamps.get_untracked(),
            ..TranscribeOptions::default()
        };
        let id = ui.run_task(TaskInput::SpeechRecognition(TranscribeInput::mono(
            samples,
            RATE as u32,
            options,
        )));
        if let Some(id) = id {
            pending.set(Some((id, kind)));
            if kind == Kind::Whole {
                transcript.set(None);
                cancelled.set(None);
                copied.set(false);
                started.set(now());
            }
        }
        id
    };
    let run = move || {
        if let Some(a) = audio.get_untracked() {
            send(&a.samples, Kind::Whole);
        }
    };
    Effect::new(move |_| {
        if let Some((id, TaskOutput::SpeechRecognition(t))) = ui.output.get() {
            match pending.get_untracked() {
                Some((p, Kind::Whole)) if p == id => {
                    elapsed.set((now() - started.get_untracked()) / 1000.0);
                    transcript.set(Some(t));
                    pending.set(None);
                }
                Some((p, Kind::Live)) if p == id => {
                    if recording.get_untracked() {
                        live.set(t.text.trim().to_owned());
                    }
                    pending.set(None);
                }
                _ => {}
            }
        }
    });
    // A run that ends without an output (cancelled, failed) is no longer pending.
    Effect::new(move |_| {
        if ui.running.get().is_none()
            && let Some((id, kind)) = pending.get_untracked()
            && !matches!(ui.output.get_untracked(), Some((o, _)) if o == id)
        {
            pending.set(None);
            if kind == Kind::Whole {
                let done = done_s(&ui.partials.get_untracked());
                cancelled.set(Some(format!("Stopped after {done:.1} s of audio")));
            }
        }
    });
    // The whole recording is transcribed once the live run before it has ended.
    Effect::new(move |_| {
        if queued.get() && ui.running.get().is_none() && ui.ready() {
            queued.set(false);
            run();
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
        set_audio(audio, None);
        transcript.set(None);
        if file.size() > MAX_FILE_BYTES {
            status.set(Some(format!(
                "{name}: {} is more than the page reads ({}): cut it, or transcribe it with \
                 `lantern run automatic-speech-recognition`",
                size(file.size()),
                size(MAX_FILE_BYTES)
            )));
            return;
        }
        status.set(Some(format!("decoding {name}…")));
        wasm_bindgen_futures::spawn_local(async move {
            match decode(&file).await {
                Ok(samples) if samples.is_empty() => {
                    status.set(Some(format!("{name}: the file holds no audio")));
                }
                Ok(samples) => {
                    status.set(None);
                    let url = web_sys::Url::create_object_url_with_blob(&file).ok();
                    set_audio(
                        audio,
                        Some(Audio {
                            samples: samples.into(),
                            name,
                            url,
                        }),
                    );
                }
                Err(e) => status.set(Some(format!("{name}: the browser cannot decode it ({e})"))),
            }
        });
    };

    let stop_recording = move || {
        recording.set(false);
        recorder.set_value(None);
        let samples = buffer.with_value(|b| b.clone());
        buffer.set_value(Vec::new());
        if samples.is_empty() {
            mic_error.set(Some("Nothing was recorded".into()));
            return;
        }
        let url = wav_url(&samples);
        set_audio(
            audio,
            Some(Audio {
                samples: samples.into(),
                name: "recording".into(),
                url,
            }),
        );
        // The live run in flight (if any) is of no use now; the whole recording follows it.
        if let Some((id, Kind::Live)) = pending.get_untracked() {
            ui.cancel(id);
        }
        queued.set(true);
    };
    let start_recording = move || {
        mic_error.set(None);
        live.set(String::new());
        transcript.set(None);
        set_audio(audio, None);
        buffer.set_value(Vec::new());
        recorded_s.set(0.0);
        wasm_bindgen_futures::spawn_local(async move {
            let on_samples = move |chunk: Vec<f32>| {
                buffer.update_value(|b| b.extend_from_slice(&chunk));
                recorded_s.set(buffer.with_value(|b| b.len()) as f64 / f64::from(RATE));
            };
            match open_microphone(on_samples).await {
                Ok(mut r) => {
                    let tick = move || {
                        if pending.get_untracked().is_some() || ui.running.get_untracked().is_some()
                        {
                            return;
                        }
                        let tail = buffer.with_value(|b| {
                            let from = b.len().saturating_sub(LIVE_TAIL_S * RATE as usize);
                            b[from..].to_vec()
                        });
                        // Less than a second is mostly the click that started it.
                        if tail.len() >= RATE as usize {
                            send(&tail, Kind::Live);
                        }
                    };
                    r.tick = set_interval_with_handle(tick, LIVE_EVERY).ok();
                    recorder.set_value(Some(r));
                    recording.set(true);
                }
                Err(e) => mic_error.set(Some(e)),
            }
        });
    };

    let busy = move || pending.get().is_some_and(|(_, k)| k == Kind::Whole);
    let disabled = move || {
        !ui.ready() || ui.running.get().is_some() || audio.get().is_none() || recording.get()
    };
    let cancel = move |_| {
        if let Some((id, _)) = pending.get_untracked() {
            ui.cancel(id);
        }
    };
    let seek = move |start: f64| {
        let player = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("player"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlMediaElement>().ok());
        if let Some(player) = player {
            player.set_current_time(start);
            let _ = player.play();
        }
    };
    let copy = move |_| {
        let Some(t) = transcript.get_untracked() else {
            return;
        };
        if let Some(w) = web_sys::window() {
            let promise = w.navigator().clipboard().write_text(t.text.trim());
            wasm_bindgen_futures::spawn_local(async move {
                copied.set(JsFuture::from(promise).await.is_ok());
            });
        }
    };
    let stem = move || {
        audio
            .get()
            .map(|a| {
                a.name
                    .rsplit_once('.')
                    .map_or(a.name.clone(), |(s, _)| s.to_owned())
            })
            .unwrap_or_else(|| "transcript".into())
    };
    let chunk_list = move |chunks: Vec<Chunk>| {
        chunks
            .into_iter()
            .map(|c| {
                let (start, end) = c.timestamp;
                view! {
                    <li data-start=format!("{start:.2}") data-end=format!("{end:.2}")>
                        <button class="time" title="Play from here" on:click=move |_| seek(start)>
                            {format!("[{} – {}]", clock(start), clock(end))}
                        </button>
                        {c.text}
                    </li>
                }
            })
            .collect_view()
    };

    view! {
        <section class="panel speech" aria-label="Speech recognition">
            <div class="row">
                <label for="audio-input">"Audio file"</label>
                <input
                    id="audio-input"
                    data-testid="audio-input"
                    type="file"
                    accept="audio/*"
                    on:change=on_file
                    disabled=move || !ui.ready() || recording.get()
                />
                <button
                    data-testid="record"
                    aria-pressed=move || recording.get().to_string()
                    on:click=move |_| if recording.get_untracked() { stop_recording() } else { start_recording() }
                    disabled=move || !ui.ready() || busy()
                >
                    {move || if recording.get() { "Stop recording" } else { "Record" }}
                </button>
            </div>
            {move || mic_error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="mic-error">{e}</p>
            })}
            {move || recording.get().then(|| view! {
                <p class="muted" data-testid="recording">{move || format!("recording… {:.1} s", recorded_s.get())}</p>
                <p class="transcript live" data-testid="live" aria-live="polite">{move || live.get()}</p>
            })}
            <p class="muted" data-testid="audio-status">
                {move || status.get().or_else(|| audio.get().map(|a| {
                    format!("{}: {:.1} s", a.name, a.samples.len() as f32 / RATE)
                }))}
            </p>
            {move || audio.get().and_then(|a| a.url).map(|url| view! {
                <audio id="player" data-testid="player" controls src=url></audio>
            })}
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
            {move || busy().then(|| {
                let parts = ui.partials.get();
                let (done, total) = progress(&parts);
                let chunks: Vec<Chunk> = segments(&parts);
                view! {
                    <progress data-testid="progress" max=format!("{total:.2}") value=format!("{done:.2}")></progress>
                    <button data-testid="cancel" on:click=cancel>"Cancel"</button>
                    <ol class="chunks partial" data-testid="partial-chunks">{chunk_list(chunks)}</ol>
                }
            })}
            {move || cancelled.get().map(|why| {
                let chunks = segments(&ui.partials.get());
                view! {
                    <p class="muted" data-testid="cancelled">{why}</p>
                    <ol class="chunks partial" data-testid="partial-chunks">{chunk_list(chunks)}</ol>
                }
            })}
            {move || transcript.get().map(|t| {
                let rtf = elapsed.get() / t.audio_s.max(1e-9);
                let name = stem();
                view! {
                    <p class="transcript" data-testid="transcript" aria-live="polite">{t.text.clone()}</p>
                    <ol class="chunks" data-testid="chunks">{chunk_list(t.chunks.clone())}</ol>
                    <p class="muted" data-testid="stats" data-rtf=format!("{rtf:.4}")>
                        {format!("{:.1} s of audio in {:.2} s (real-time factor {rtf:.3})", t.audio_s, elapsed.get())}
                    </p>
                    <p class="row downloads">
                        <button data-testid="copy" on:click=copy>
                            {move || if copied.get() { "Copied" } else { "Copy" }}
                        </button>
                        {download("txt", &name, "text/plain", &t.to_txt())}
                        {download("srt", &name, "application/x-subrip", &t.to_srt())}
                        {download("vtt", &name, "text/vtt", &t.to_vtt())}
                    </p>
                    {t.warnings.iter().map(|w| view! { <p class="muted warning">{w.clone()}</p> }).collect_view()}
                }
            })}
        </section>
    }
}

/// Replaces the audio, freeing the player's old object URL.
fn set_audio(audio: RwSignal<Option<Audio>>, next: Option<Audio>) {
    if let Some(url) = audio.get_untracked().and_then(|a| a.url) {
        let _ = web_sys::Url::revoke_object_url(&url);
    }
    audio.set(next);
}

/// A download link for the transcript in one format (a `blob:` URL, made when the transcript
/// is shown; the page is short-lived, and the text is small).
fn download(ext: &'static str, stem: &str, mime: &str, text: &str) -> impl IntoView + use<> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let parts = js_sys::Array::of1(&text.into());
    let url = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .ok()
        .and_then(|b| web_sys::Url::create_object_url_with_blob(&b).ok());
    url.map(|href| {
        view! {
            <a class="button" data-testid=format!("download-{ext}") href=href download=format!("{stem}.{ext}")>
                {format!(".{ext}")}
            </a>
        }
    })
}

/// The audio transcribed so far and the whole, from the run's progress parts.
fn progress(parts: &[Partial]) -> (f64, f64) {
    parts
        .iter()
        .rev()
        .find_map(|p| match p {
            Partial::SpeechProgress { done_s, total_s } => Some((*done_s, *total_s)),
            _ => None,
        })
        .unwrap_or((0.0, 1.0))
}

fn done_s(parts: &[Partial]) -> f64 {
    progress(parts).0
}

fn segments(parts: &[Partial]) -> Vec<Chunk> {
    parts
        .iter()
        .filter_map(|p| match p {
            Partial::SpeechSegment(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// `m:ss.cc`, as players show times.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0);
    format!("{}:{:05.2}", (s / 60.0).floor() as u64, s % 60.0)
}

fn size(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn describe(v: wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(&v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// The file decoded by the browser at 16 kHz and mixed to mono.
async fn decode(file: &web_sys::File) -> Result<Vec<f32>, String> {
    let bytes: js_sys::ArrayBuffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "not a buffer".to_owned())?;
    let options = web_sys::AudioContextOptions::new();
    options.set_sample_rate(RATE);
    let context = web_sys::AudioContext::new_with_context_options(&options).map_err(describe)?;
    let decoded = context.decode_audio_data(&bytes);
    let buffer = match decoded {
        Ok(promise) => JsFuture::from(promise).await.map_err(describe),
        Err(e) => Err(describe(e)),
    };
    let _ = context.close();
    let buffer: web_sys::AudioBuffer = buffer?
        .dyn_into()
        .map_err(|_| "not an audio buffer".to_owned())?;
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

/// Opens the microphone at 16 kHz; `on_samples` gets its mono samples as they come.
async fn open_microphone(on_samples: impl FnMut(Vec<f32>) + 'static) -> Result<Recorder, String> {
    let window = web_sys::window().ok_or("no window")?;
    let devices = window.navigator().media_devices().map_err(|_| {
        "this page cannot use a microphone (it needs https or localhost)".to_owned()
    })?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_audio(&wasm_bindgen::JsValue::TRUE);
    let asked = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(describe)?;
    let stream: web_sys::MediaStream = JsFuture::from(asked)
        .await
        .map_err(|e| {
            let name = js_sys::Reflect::get(&e, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            match name.as_str() {
                "NotAllowedError" | "SecurityError" => {
                    "The microphone was refused: allow it for this site in the browser's settings \
                     to record (a file works without it)"
                        .to_owned()
                }
                "NotFoundError" => "No microphone was found".to_owned(),
                _ => format!("The microphone cannot be opened: {}", describe(e)),
            }
        })?
        .dyn_into()
        .map_err(|_| "not a media stream".to_owned())?;
    let options = web_sys::AudioContextOptions::new();
    options.set_sample_rate(RATE);
    let context = web_sys::AudioContext::new_with_context_options(&options).map_err(describe)?;
    // From here the recorder owns the stream and the context: an error drops (closes) them.
    let blob_options = web_sys::BlobPropertyBag::new();
    blob_options.set_type("text/javascript");
    let module = web_sys::Blob::new_with_str_sequence_and_options(
        &js_sys::Array::of1(&RECORDER_WORKLET.into()),
        &blob_options,
    )
    .map_err(describe)?;
    let url = web_sys::Url::create_object_url_with_blob(&module).map_err(describe)?;
    let added = context
        .audio_worklet()
        .and_then(|w| w.add_module(&url))
        .map_err(describe);
    let added = match added {
        Ok(p) => JsFuture::from(p).await.map_err(describe),
        Err(e) => Err(e),
    };
    let _ = web_sys::Url::revoke_object_url(&url);
    added?;
    let node = web_sys::AudioWorkletNode::new(&context, "lantern-recorder").map_err(describe)?;
    let mut on_samples = on_samples;
    let on_chunk =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let chunk = js_sys::Float32Array::new(&ev.data());
            on_samples(chunk.to_vec());
        });
    let recorder = Recorder {
        stream,
        context,
        node,
        _on_chunk: on_chunk,
        tick: None,
    };
    recorder
        .node
        .port()
        .map_err(describe)?
        .set_onmessage(Some(recorder._on_chunk.as_ref().unchecked_ref()));
    let source = recorder
        .context
        .create_media_stream_source(&recorder.stream)
        .map_err(describe)?;
    source
        .connect_with_audio_node(&recorder.node)
        .map_err(describe)?;
    // The graph is pulled from its destination: the node reaches it through a silent gain, so
    // it runs without the microphone being heard.
    let silent = recorder.context.create_gain().map_err(describe)?;
    silent.gain().set_value(0.0);
    recorder
        .node
        .connect_with_audio_node(&silent)
        .and_then(|_| silent.connect_with_audio_node(&recorder.context.destination()))
        .map_err(describe)?;
    if let Ok(p) = recorder.context.resume() {
        let _ = JsFuture::from(p).await;
    }
    Ok(recorder)
}

/// A recording as a 16-bit PCM WAV file, for the player.
fn wav_url(samples: &[f32]) -> Option<String> {
    let data_len = samples.len().checked_mul(2)?;
    let data_len32 = u32::try_from(data_len).ok()?;
    let mut wav = Vec::with_capacity(44 + data_len);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&(RATE as u32).to_le_bytes());
    wav.extend_from_slice(&(RATE as u32 * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len32.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    let bytes = js_sys::Uint8Array::from(wav.as_slice());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("audio/wav");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(
        &js_sys::Array::of1(&bytes),
        &options,
    )
    .ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}
