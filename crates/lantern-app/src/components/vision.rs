//! The two image demos, one component in two modes: image classification (the top five
//! labels as bars) and object detection (boxes with labels and scores drawn over the picture,
//! a threshold slider that filters them again without running the model, a legend by class).
//!
//! A picture comes from a file (picked, or dropped on the drop zone), a paste, or a camera
//! snapshot (`getUserMedia`). The browser decodes it: `createImageBitmap` with
//! `imageOrientation: "from-image"` (EXIF orientation applied, as PIL's `exif_transpose`),
//! drawn onto an `OffscreenCanvas` scaled so the long side is at most [`MAX_SIDE`], whose RGBA
//! pixels go to the worker as a transferred buffer (`Binary::Attached`: they never enter the
//! page's wasm memory). The page shows the same pixels on its own canvas, so the boxes are
//! drawn on what the model saw; their `data-box` is in pixels of the picture as loaded (scaled
//! back where the page scaled it down).

use std::collections::BTreeMap;

use js_sys::ArrayBuffer;
use lantern_core::protocol::{
    Binary, DetectInput, Detection, ImageClassifyInput, ImageData, ImageLabels, TaskInput,
    TaskOutput,
};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::Ui;

/// The longest side the page sends: a 6000×4000 photo is 96 MB of RGBA, and every model here
/// resizes to at most 1333 px anyway.
const MAX_SIDE: u32 = 2048;
/// Labels a classification shows.
const TOP_K: usize = 5;
/// The slider's start: transformers' default threshold.
const DEFAULT_THRESHOLD: f32 = 0.5;
/// Colours of the classes, in the order they first appear (the legend and the boxes).
const COLOURS: [&str; 10] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#9a6324", "#469990",
];

/// A decoded picture: the bitmap (oriented), its size as loaded, and the size sent.
#[derive(Clone)]
struct Picture {
    bitmap: web_sys::ImageBitmap,
    name: String,
    /// (width, height) as decoded.
    loaded: (u32, u32),
    /// (width, height) of the pixels sent (and drawn).
    sent: (u32, u32),
}

#[component]
pub fn Vision(detect: bool) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let picture = StoredValue::new_local(None::<Picture>);
    // What the view shows of the picture (the bitmap itself is not `Send`).
    let shown = RwSignal::new(None::<(String, (u32, u32), (u32, u32))>);
    let status = RwSignal::new(None::<String>);
    let labels = RwSignal::new(None::<ImageLabels>);
    let detections = RwSignal::new(None::<Vec<Detection>>);
    let threshold = RwSignal::new(DEFAULT_THRESHOLD);
    let pending = RwSignal::new(None::<u64>);
    let camera = StoredValue::new_local(None::<web_sys::MediaStream>);
    let camera_on = RwSignal::new(false);
    let image_canvas = NodeRef::<leptos::html::Canvas>::new();
    let box_canvas = NodeRef::<leptos::html::Canvas>::new();
    let video = NodeRef::<leptos::html::Video>::new();

    Effect::new(move |_| match ui.output.get() {
        Some((id, TaskOutput::ImageClassification(l))) if pending.get_untracked() == Some(id) => {
            labels.set(Some(l));
            pending.set(None);
        }
        Some((id, TaskOutput::ObjectDetection(d))) if pending.get_untracked() == Some(id) => {
            detections.set(Some(d.detections));
            pending.set(None);
        }
        _ => {}
    });

    // A new picture: decoded, scaled, drawn; earlier answers cleared.
    let take = move |source: Source, name: String| {
        status.set(Some(format!("reading {name}…")));
        wasm_bindgen_futures::spawn_local(async move {
            match decode(source).await {
                Ok(bitmap) => {
                    let loaded = (bitmap.width(), bitmap.height());
                    let sent = scaled(loaded);
                    let p = Picture {
                        bitmap,
                        name: name.clone(),
                        loaded,
                        sent,
                    };
                    if let Some(canvas) = image_canvas.get_untracked() {
                        draw_picture(&canvas, &p);
                    }
                    picture.set_value(Some(p));
                    shown.set(Some((name, loaded, sent)));
                    labels.set(None);
                    detections.set(None);
                    status.set(None);
                }
                Err(e) => status.set(Some(format!("{name}: {e}"))),
            }
        });
    };
    let run = move || {
        let Some(p) = picture.get_value() else {
            return;
        };
        let buffer = match pixels(&p) {
            Ok(b) => b,
            Err(e) => {
                status.set(Some(format!("{}: {e}", p.name)));
                return;
            }
        };
        let image = ImageData::Rgba {
            pixels: Binary::Attached(0),
            width: p.sent.0,
            height: p.sent.1,
        };
        let input = if detect {
            // Every detection: the slider filters them here.
            TaskInput::ObjectDetection(DetectInput {
                image,
                threshold: Some(0.0),
            })
        } else {
            TaskInput::ImageClassification(ImageClassifyInput {
                image,
                top_k: Some(TOP_K),
            })
        };
        labels.set(None);
        detections.set(None);
        pending.set(ui.run_task_with(input, &[buffer]));
    };

    let on_file = move |ev: leptos::ev::Event| {
        let file = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|i| i.files())
            .and_then(|f| f.get(0));
        if let Some(file) = file {
            take(Source::Blob(file.clone().into()), file.name());
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if !ui.ready() {
            return;
        }
        let file = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0));
        if let Some(file) = file {
            take(Source::Blob(file.clone().into()), file.name());
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        if !ui.ready() {
            return;
        }
        let file = ev
            .clipboard_data()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0));
        if let Some(file) = file {
            ev.prevent_default();
            take(Source::Blob(file.into()), "pasted image".into());
        }
    };
    let stop_camera = move || {
        if let Some(stream) = camera.get_value() {
            for track in stream.get_tracks() {
                if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                    track.stop();
                }
            }
        }
        camera.set_value(None);
        camera_on.set(false);
    };
    let start_camera = move || {
        status.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            match open_camera().await {
                Ok(stream) => {
                    if let Some(v) = video.get_untracked() {
                        v.set_src_object(Some(&stream));
                        let _ = v.play();
                    }
                    camera.set_value(Some(stream));
                    camera_on.set(true);
                }
                Err(e) => status.set(Some(e)),
            }
        });
    };
    let snapshot = move || {
        if let Some(v) = video.get_untracked() {
            take(Source::Video(v), "camera snapshot".into());
        }
        stop_camera();
    };
    on_cleanup(stop_camera);

    // The boxes above the slider's threshold, drawn again when either changes.
    let visible = move || {
        let t = threshold.get();
        detections
            .get()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.score > t)
            .collect::<Vec<_>>()
    };
    let colours = move || colour_map(&detections.get().unwrap_or_default());
    Effect::new(move |_| {
        let shown_boxes = visible();
        let colours = colours();
        if let (Some(canvas), Some(p)) = (box_canvas.get(), picture.get_value()) {
            draw_boxes(&canvas, p.sent, &shown_boxes, &colours);
        }
    });

    let disabled = move || !ui.ready() || ui.running.get().is_some() || shown.get().is_none();
    let (title, run_label) = if detect {
        ("Object detection", "Detect")
    } else {
        ("Image classification", "Classify")
    };
    view! {
        <section class="panel vision" aria-label=title on:paste=on_paste>
            <div
                class="dropzone"
                data-testid="dropzone"
                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                on:drop=on_drop
            >
                <p class="muted">"Drop a picture here, paste one, pick a file or take a photo."</p>
                <div class="row">
                    <input
                        id="image-input"
                        data-testid="image-input"
                        type="file"
                        accept="image/*"
                        on:change=on_file
                        disabled=move || !ui.ready()
                    />
                    <button
                        data-testid="camera"
                        on:click=move |_| if camera_on.get_untracked() { stop_camera() } else { start_camera() }
                        disabled=move || !ui.ready()
                    >
                        {move || if camera_on.get() { "Close camera" } else { "Camera" }}
                    </button>
                    <button
                        data-testid="snapshot"
                        on:click=move |_| snapshot()
                        hidden=move || !camera_on.get()
                    >
                        "Take photo"
                    </button>
                </div>
                <video node_ref=video class="camera" playsinline muted hidden=move || !camera_on.get()></video>
            </div>
            <p class="muted" data-testid="image-status">
                {move || status.get().or_else(|| shown.get().map(|(name, loaded, sent)| {
                    if loaded == sent {
                        format!("{name}: {}×{}", loaded.0, loaded.1)
                    } else {
                        format!("{name}: {}×{}, sent at {}×{}", loaded.0, loaded.1, sent.0, sent.1)
                    }
                }))}
            </p>
            <div class="picture" hidden=move || shown.get().is_none()>
                <canvas node_ref=image_canvas data-testid="image"></canvas>
                <canvas node_ref=box_canvas class="boxes" data-testid="boxes"></canvas>
            </div>
            <button class="primary" data-testid="run" on:click=move |_| run() disabled=disabled>
                {run_label}
            </button>
            {(!detect).then(|| view! { <Bars labels=labels /> })}
            {detect.then(|| view! {
                <label for="threshold">
                    "Threshold "
                    <output>{move || format!("{:.2}", threshold.get())}</output>
                </label>
                <input
                    id="threshold"
                    data-testid="threshold"
                    type="range"
                    min="0"
                    max="1"
                    step="0.01"
                    prop:value=move || format!("{:.2}", threshold.get())
                    on:input=move |ev| {
                        if let Ok(t) = event_target_value(&ev).parse::<f32>() {
                            threshold.set(t);
                        }
                    }
                />
                {move || detections.get().is_some().then(|| {
                    let colours = colours();
                    let (loaded, sent) = picture
                        .get_value()
                        .map_or(((1, 1), (1, 1)), |p| (p.loaded, p.sent));
                    let boxes = visible();
                    let mut counts = BTreeMap::<String, usize>::new();
                    for d in &boxes {
                        *counts.entry(d.label.clone()).or_default() += 1;
                    }
                    view! {
                        <ul class="legend" data-testid="legend">
                            {counts.into_iter().map(|(label, n)| {
                                let colour = colours.get(&label).copied().unwrap_or(COLOURS[0]);
                                view! {
                                    <li data-label=label.clone() data-count=n.to_string()>
                                        <span class="swatch" style=format!("background: {colour}")></span>
                                        {format!("{label} ({n})")}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <ol class="detections" data-testid="detections" aria-live="polite">
                            {boxes.into_iter().map(|d| {
                                let b = to_loaded(&d, loaded, sent);
                                view! {
                                    <li
                                        data-label=d.label.clone()
                                        data-score=format!("{:.4}", d.score)
                                        data-box=format!("{},{},{},{}", b[0], b[1], b[2], b[3])
                                    >
                                        {format!("{} {:.4} ({}, {}) to ({}, {})", d.label, d.score, b[0], b[1], b[2], b[3])}
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }
                })}
            })}
        </section>
    }
}

#[component]
fn Bars(labels: RwSignal<Option<ImageLabels>>) -> impl IntoView {
    move || {
        labels.get().map(|l| {
            view! {
                <ol class="labels" data-testid="labels" aria-live="polite">
                    {l.labels.into_iter().map(|s| {
                        let width = format!("width: {:.1}%", 100.0 * s.score.clamp(0.0, 1.0));
                        view! {
                            <li data-label=s.label.clone() data-score=format!("{:.4}", s.score)>
                                <span class="label">{s.label.clone()}</span>
                                <span class="bar"><span class="fill" style=width></span></span>
                                <span class="score">{format!("{:.4}", s.score)}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }
        })
    }
}

/// Where a picture comes from.
enum Source {
    Blob(web_sys::Blob),
    Video(web_sys::HtmlVideoElement),
}

/// The browser's decoding of a picture, EXIF orientation applied.
async fn decode(source: Source) -> Result<web_sys::ImageBitmap, String> {
    let window = web_sys::window().ok_or("no window")?;
    let promise = match source {
        Source::Blob(blob) => {
            let options = web_sys::ImageBitmapOptions::new();
            options.set_image_orientation(web_sys::ImageOrientation::FromImage);
            window.create_image_bitmap_with_blob_and_image_bitmap_options(&blob, &options)
        }
        Source::Video(video) => window.create_image_bitmap_with_html_video_element(&video),
    }
    .map_err(describe)?;
    let bitmap = JsFuture::from(promise)
        .await
        .map_err(|e| format!("the browser cannot decode it as an image ({})", describe(e)))?;
    let bitmap: web_sys::ImageBitmap = bitmap.dyn_into().map_err(describe)?;
    if bitmap.width() == 0 || bitmap.height() == 0 {
        return Err("the picture has no pixels".into());
    }
    Ok(bitmap)
}

/// The size sent for a picture of `(w, h)`: the long side at most [`MAX_SIDE`].
fn scaled((w, h): (u32, u32)) -> (u32, u32) {
    let long = w.max(h);
    if long <= MAX_SIDE {
        return (w, h);
    }
    let s = f64::from(MAX_SIDE) / f64::from(long);
    let side = |v: u32| ((f64::from(v) * s).round() as u32).max(1);
    (side(w), side(h))
}

/// The picture's RGBA pixels at the size sent, in a buffer of their own (to be transferred).
fn pixels(p: &Picture) -> Result<ArrayBuffer, String> {
    let (w, h) = p.sent;
    let canvas = web_sys::OffscreenCanvas::new(w, h).map_err(describe)?;
    let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(describe)?
        .ok_or("no 2d context")?
        .dyn_into()
        .map_err(|o: js_sys::Object| describe(o.into()))?;
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(&p.bitmap, 0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(describe)?;
    let data = context
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(describe)?;
    // The pixels' own buffer (a fresh one per call), handed over whole; read through
    // JavaScript, as `ImageData::data()` would copy them into wasm memory.
    let array: js_sys::Uint8ClampedArray = js_sys::Reflect::get(&data, &"data".into())
        .map_err(describe)?
        .dyn_into()
        .map_err(describe)?;
    Ok(array.buffer())
}

fn context_2d(canvas: &web_sys::HtmlCanvasElement) -> Option<web_sys::CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

fn draw_picture(canvas: &web_sys::HtmlCanvasElement, p: &Picture) {
    let (w, h) = p.sent;
    canvas.set_width(w);
    canvas.set_height(h);
    if let Some(c) = context_2d(canvas) {
        let _ = c.draw_image_with_image_bitmap_and_dw_and_dh(
            &p.bitmap,
            0.0,
            0.0,
            f64::from(w),
            f64::from(h),
        );
    }
}

fn draw_boxes(
    canvas: &web_sys::HtmlCanvasElement,
    (w, h): (u32, u32),
    boxes: &[Detection],
    colours: &BTreeMap<String, &'static str>,
) {
    canvas.set_width(w);
    canvas.set_height(h);
    let Some(c) = context_2d(canvas) else {
        return;
    };
    c.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
    // Lines and labels keep their size on screen whatever the picture's size.
    let unit = (f64::from(w.max(h)) / 400.0).max(1.0);
    c.set_line_width(2.0 * unit);
    c.set_font(&format!("{}px sans-serif", (12.0 * unit).round()));
    for d in boxes {
        let colour = colours.get(&d.label).copied().unwrap_or(COLOURS[0]);
        let b = d.bbox;
        let (x, y) = (f64::from(b.xmin), f64::from(b.ymin));
        let (bw, bh) = (f64::from(b.xmax - b.xmin), f64::from(b.ymax - b.ymin));
        c.set_stroke_style_str(colour);
        c.stroke_rect(x, y, bw, bh);
        let text = format!("{} {:.2}", d.label, d.score);
        let tw = c.measure_text(&text).map_or(60.0, |m| m.width());
        let th = 14.0 * unit;
        let ty = if y - th < 0.0 { y } else { y - th };
        c.set_fill_style_str(colour);
        c.fill_rect(x, ty, tw + 4.0 * unit, th);
        c.set_fill_style_str("#fff");
        let _ = c.fill_text(&text, x + 2.0 * unit, ty + th - 3.0 * unit);
    }
}

/// A colour per class, in the order the classes first appear.
fn colour_map(detections: &[Detection]) -> BTreeMap<String, &'static str> {
    let mut map = BTreeMap::new();
    for d in detections {
        let next = COLOURS[map.len() % COLOURS.len()];
        map.entry(d.label.clone()).or_insert(next);
    }
    map
}

/// A box in pixels of the picture as loaded (the worker's are in pixels of what was sent).
fn to_loaded(d: &Detection, loaded: (u32, u32), sent: (u32, u32)) -> [i64; 4] {
    let sx = f64::from(loaded.0) / f64::from(sent.0.max(1));
    let sy = f64::from(loaded.1) / f64::from(sent.1.max(1));
    let b = d.bbox;
    let x = |v: i32| (f64::from(v) * sx).round() as i64;
    let y = |v: i32| (f64::from(v) * sy).round() as i64;
    [x(b.xmin), y(b.ymin), x(b.xmax), y(b.ymax)]
}

async fn open_camera() -> Result<web_sys::MediaStream, String> {
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(|_| "This browser gives the page no camera".to_owned())?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_video(&JsValue::TRUE);
    let asked = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(describe)?;
    let stream = JsFuture::from(asked).await.map_err(|e| {
        let name = js_sys::Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" => {
                "The camera was refused: allow it for this site in the browser's settings \
                 (a file works without it)"
                    .to_owned()
            }
            "NotFoundError" => "No camera was found".to_owned(),
            _ => format!("The camera cannot be opened: {}", describe(e)),
        }
    })?;
    stream.dyn_into().map_err(describe)
}

fn describe(v: JsValue) -> String {
    js_sys::Reflect::get(&v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_pictures_are_scaled_to_the_long_side() {
        assert_eq!(scaled((640, 480)), (640, 480));
        assert_eq!(scaled((6000, 4000)), (2048, 1365));
        assert_eq!(scaled((10, 100_000)), (1, 2048));
    }
}
