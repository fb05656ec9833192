//! The translation and summarization demos: a text in, a text out, from an encoder-decoder model
//! (Marian, T5, BART) with greedy or beam search.
//!
//! Translation shows the language pair (`demo.json`'s, which `lantern build` read from the
//! model: its name, T5's task keys, its card), a beams control and the output streamed as the
//! best beam grows (`Partial::GeneratedText` after each decoder step), then the final text.
//! Summarization has a long text area, length controls (minimum length, maximum new tokens) and
//! the compression ratio: input tokens over generated tokens (tokens, since that is what the
//! length controls count; the characters are shown beside). Both show the elapsed time, the
//! tokens per second (generated tokens over the wall time from the click to the answer, so
//! beam search counts the tokens of the answer, not of every beam) and the backend, and stop
//! between two decoder steps on Cancel.

use lantern_core::protocol::{
    GeneratedText, Partial, TaskInput, TaskOutput, Text2TextInput, Text2TextOptions,
};
use leptos::prelude::*;

use crate::Ui;

/// What the page starts with when the manifest gives no example.
const TRANSLATE_SAMPLE: &str =
    "The weather is nice today, and we are going for a walk in the park.";
const SUMMARIZE_SAMPLE: &str = "The tower is 324 metres (1,063 ft) tall, about the same height as \
an 81-storey building, and the tallest structure in Paris. Its base is square, measuring 125 \
metres (410 ft) on each side. During its construction, the Eiffel Tower surpassed the Washington \
Monument to become the tallest man-made structure in the world, a title it held for 41 years \
until the Chrysler Building in New York City was finished in 1930. It was the first structure to \
reach a height of 300 metres. Due to the addition of a broadcasting aerial at the top of the \
tower in 1957, it is now taller than the Chrysler Building by 5.2 metres (17 ft). Excluding \
transmitters, the Eiffel Tower is the second tallest free-standing structure in France after the \
Millau Viaduct.";

/// The largest beam count the page offers (more is slow in a browser and rarely better).
const MAX_BEAMS: usize = 16;

#[component]
pub fn Text2Text(summarize: bool) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let demo = ui.demo.get_untracked();
    let defaults = demo.text2text.clone();
    let sample = if summarize {
        SUMMARIZE_SAMPLE
    } else {
        TRANSLATE_SAMPLE
    };
    let examples = demo.examples.clone();
    let source = RwSignal::new(
        examples
            .first()
            .cloned()
            .unwrap_or_else(|| sample.to_owned()),
    );
    let number = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    let beams = RwSignal::new(number(defaults.num_beams));
    let max_tokens = RwSignal::new(number(defaults.max_new_tokens));
    let min_length = RwSignal::new(number(defaults.min_length));
    let task_params = RwSignal::new(defaults.task_params.first().cloned());
    let result = RwSignal::new(None::<(GeneratedText, f64, usize)>);
    let pending = RwSignal::new(None::<u64>);
    let started = RwSignal::new(0.0f64);
    // The source's length in characters when it was sent (the field may change meanwhile).
    let sent_chars = RwSignal::new(0usize);
    let cancelled = RwSignal::new(false);

    // The answer to this component's latest request, with the seconds it took and the
    // source's length in characters.
    Effect::new(move |_| {
        let out = match ui.output.get() {
            Some((id, TaskOutput::Translation(t) | TaskOutput::Summarization(t)))
                if pending.get_untracked() == Some(id) =>
            {
                t
            }
            _ => return,
        };
        let elapsed = (now() - started.get_untracked()) / 1000.0;
        result.set(Some((out, elapsed, sent_chars.get_untracked())));
        pending.set(None);
    });
    // A run that ends without an output (cancelled, failed) is no longer pending; what it had
    // streamed stays on the page.
    Effect::new(move |_| {
        if ui.running.get().is_none()
            && let Some(id) = pending.get_untracked()
            && !matches!(ui.output.get_untracked(), Some((o, _)) if o == id)
        {
            pending.set(None);
            cancelled.set(true);
        }
    });

    let options = move || Text2TextOptions {
        num_beams: parse(&beams.get_untracked()),
        max_new_tokens: parse(&max_tokens.get_untracked()),
        min_length: if summarize {
            parse(&min_length.get_untracked())
        } else {
            None
        },
        task_params: task_params.get_untracked(),
        ..Text2TextOptions::default()
    };
    let run = move || {
        let text = source.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let chars = text.chars().count();
        let input = Text2TextInput {
            text,
            options: options(),
        };
        let input = if summarize {
            TaskInput::Summarization(input)
        } else {
            TaskInput::Translation(input)
        };
        if let Some(id) = ui.run_task(input) {
            result.set(None);
            cancelled.set(false);
            started.set(now());
            sent_chars.set(chars);
            pending.set(Some(id));
        }
    };
    let cancel = move |_| {
        if let Some(id) = pending.get_untracked() {
            ui.cancel(id);
        }
    };
    // A number field holding something other than a whole number ≥ 1 (≥ 0 for the minimum
    // length) blocks the run rather than being silently replaced by the model's default.
    let bad_number = move || {
        let beams = beams.get();
        let bad = |s: &str, min: usize| !s.trim().is_empty() && parse(s).is_none_or(|n| n < min);
        bad(&beams, 1)
            || parse(&beams).is_some_and(|b| b > MAX_BEAMS)
            || bad(&max_tokens.get(), 1)
            || (summarize && bad(&min_length.get(), 0))
    };
    let disabled = move || {
        !ui.ready() || ui.running.get().is_some() || source.get().trim().is_empty() || bad_number()
    };
    let (label, verb) = if summarize {
        ("Summarization", "Summarize")
    } else {
        ("Translation", "Translate")
    };
    let param_choices = defaults.task_params.clone();
    let languages = (!summarize).then(|| {
        let defaults = defaults.clone();
        view! { <Languages defaults=defaults task_params=task_params /> }
    });

    view! {
        <section class="panel text2text" aria-label=label>
            {languages}
            <label for="source">{if summarize { "Text to summarize" } else { "Text to translate" }}</label>
            // Each field also listens to `change`: one emptied by a script or by autofill
            // fires no `input`.
            <textarea
                id="source"
                data-testid="source"
                rows=if summarize { "12" } else { "4" }
                prop:value=move || source.get()
                on:input=move |ev| source.set(event_target_value(&ev))
                        on:change=move |ev| source.set(event_target_value(&ev))
                disabled=move || !ui.ready()
            ></textarea>
            <p class="muted" data-testid="source-length">
                {move || format!("{} characters", source.get().chars().count())}
            </p>
            {(examples.len() > 1).then(|| view! {
                <div class="examples" aria-label="Examples">
                    {examples.iter().cloned().map(|e| {
                        let short: String = e.chars().take(40).collect();
                        view! {
                            <button
                                class="chip"
                                title=e.clone()
                                on:click=move |_| source.set(e.clone())
                                disabled=move || !ui.ready()
                            >
                                {short}
                            </button>
                        }
                    }).collect_view()}
                </div>
            })}
            <div class="controls">
                {(!param_choices.is_empty()).then(|| view! {
                    <label>
                        "Task"
                        <select
                            data-testid="task-params"
                            on:change=move |ev| task_params.set(Some(event_target_value(&ev)))
                            disabled=move || !ui.ready()
                        >
                            {param_choices.iter().map(|k| view! {
                                <option value=k.clone()>{k.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                })}
                <label>
                    "Beams"
                    <input
                        type="number"
                        data-testid="num-beams"
                        min="1"
                        max=MAX_BEAMS.to_string()
                        placeholder="model's"
                        title="1 is greedy search; empty: the model's generation_config"
                        prop:value=move || beams.get()
                        on:input=move |ev| beams.set(event_target_value(&ev))
                        on:change=move |ev| beams.set(event_target_value(&ev))
                        disabled=move || !ui.ready()
                    />
                </label>
                {summarize.then(|| view! {
                    <label>
                        "Min length"
                        <input
                            type="number"
                            data-testid="min-length"
                            min="0"
                            placeholder="model's"
                            title="The shortest output in tokens, counted as transformers' min_length \
                                   (with the decoder's start token); empty: the model's"
                            prop:value=move || min_length.get()
                            on:input=move |ev| min_length.set(event_target_value(&ev))
                        on:change=move |ev| min_length.set(event_target_value(&ev))
                            disabled=move || !ui.ready()
                        />
                    </label>
                })}
                <label>
                    "Max new tokens"
                    <input
                        type="number"
                        data-testid="max-tokens"
                        min="1"
                        placeholder="model's"
                        title="The most tokens generated; empty: the model's generation_config"
                        prop:value=move || max_tokens.get()
                        on:input=move |ev| max_tokens.set(event_target_value(&ev))
                        on:change=move |ev| max_tokens.set(event_target_value(&ev))
                        disabled=move || !ui.ready()
                    />
                </label>
            </div>
            <div class="buttons">
                <button class="primary" data-testid="run" on:click=move |_| run() disabled=disabled>
                    {verb}
                </button>
                {move || pending.get().is_some().then(|| view! {
                    <button data-testid="cancel" on:click=cancel>"Cancel"</button>
                })}
            </div>
            {move || bad_number().then(|| view! {
                <p class="muted warning" data-testid="bad-number">
                    {format!("Beams: 1 to {MAX_BEAMS}; max new tokens: 1 or more; min length: 0 or more (or empty for the model's).")}
                </p>
            })}
            {move || (pending.get().is_some() || cancelled.get()).then(|| {
                let (text, tokens) = latest(&ui.partials.get());
                let seconds = (now() - started.get_untracked()) / 1000.0;
                view! {
                    <p class="generated partial" data-testid="partial" data-tokens=tokens.to_string() aria-live="polite">
                        {text}
                    </p>
                    {if cancelled.get() {
                        view! {
                            <p class="muted" data-testid="cancelled">
                                {format!("Stopped after {tokens} tokens")}
                            </p>
                        }.into_any()
                    } else {
                        view! {
                            <p class="muted" data-testid="streaming">
                                {format!("{tokens} tokens so far ({:.1} tok/s)", rate(tokens, seconds))}
                            </p>
                        }.into_any()
                    }}
                }
            })}
            {move || result.get().map(|(t, elapsed, chars)| {
                let ids = t.tokens.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                let backend = ui.backend.get().map(|(name, _)| name).unwrap_or_default();
                let tok_s = rate(t.generated_tokens, elapsed);
                let out_chars = t.text.chars().count();
                let ratio = t.input_tokens as f64 / t.generated_tokens.max(1) as f64;
                view! {
                    <p
                        class="generated"
                        data-testid="output"
                        data-tokens=ids
                        data-input-tokens=t.input_tokens.to_string()
                        data-generated-tokens=t.generated_tokens.to_string()
                        aria-live="polite"
                    >
                        {t.text.clone()}
                    </p>
                    <p
                        class="muted"
                        data-testid="stats"
                        data-elapsed-s=format!("{elapsed:.3}")
                        data-tok-s=format!("{tok_s:.2}")
                        data-backend=backend.clone()
                        data-compression=summarize.then(|| format!("{ratio:.4}"))
                    >
                        {format!(
                            "{} tokens in {elapsed:.2} s ({tok_s:.1} tok/s) on {backend}",
                            t.generated_tokens
                        )}
                        {summarize.then(|| format!(
                            "; {} input tokens → {}: {ratio:.1}× shorter ({chars} → {out_chars} characters)",
                            t.input_tokens, t.generated_tokens
                        ))}
                    </p>
                    {t.warnings.iter().map(|w| view! { <p class="muted warning">{w.clone()}</p> }).collect_view()}
                }
            })}
        </section>
    }
}

/// The language pair: `demo.json`'s, or the chosen T5 task key's (`translation_en_to_fr`).
#[component]
fn Languages(
    defaults: lantern_core::Text2TextDefaults,
    task_params: RwSignal<Option<String>>,
) -> impl IntoView {
    move || {
        let from_key = task_params.get().as_deref().and_then(pair_of_key);
        let (pair, why) = match from_key {
            Some(p) => (Some(p), "T5's task".to_owned()),
            None => (
                defaults
                    .source_language
                    .clone()
                    .zip(defaults.target_language.clone()),
                defaults.languages_from.clone().unwrap_or_default(),
            ),
        };
        match pair {
            Some((from, to)) => view! {
                <p class="languages" data-testid="languages" data-source=from.clone() data-target=to.clone()>
                    <strong>{format!("{} → {}", language_name(&from), language_name(&to))}</strong>
                    <span class="muted">{format!(" ({from} → {to}; from {why})")}</span>
                </p>
            }
            .into_any(),
            None if !defaults.card_languages.is_empty() => {
                let list = defaults.card_languages.join(", ");
                view! {
                    <p class="languages" data-testid="languages" data-card=list.clone()>
                        {format!("Languages on the model card: {list}")}
                    </p>
                }
                .into_any()
            }
            None => view! {
                <p class="languages muted" data-testid="languages">
                    "The model does not say which languages it translates between."
                </p>
            }
            .into_any(),
        }
    }
}

/// `("en", "de")` from `translation_en_to_de`.
fn pair_of_key(key: &str) -> Option<(String, String)> {
    let (from, to) = key.strip_prefix("translation_")?.split_once("_to_")?;
    Some((from.to_owned(), to.to_owned()))
}

/// The English name of a common ISO 639-1 code, or the code itself.
fn language_name(code: &str) -> String {
    let name = match code {
        "ar" => "Arabic",
        "cs" => "Czech",
        "da" => "Danish",
        "de" => "German",
        "el" => "Greek",
        "en" => "English",
        "es" => "Spanish",
        "et" => "Estonian",
        "fi" => "Finnish",
        "fr" => "French",
        "he" => "Hebrew",
        "hi" => "Hindi",
        "hu" => "Hungarian",
        "it" => "Italian",
        "ja" => "Japanese",
        "ko" => "Korean",
        "nl" => "Dutch",
        "no" => "Norwegian",
        "pl" => "Polish",
        "pt" => "Portuguese",
        "ro" => "Romanian",
        "ru" => "Russian",
        "sv" => "Swedish",
        "tr" => "Turkish",
        "uk" => "Ukrainian",
        "vi" => "Vietnamese",
        "zh" => "Chinese",
        other => other,
    };
    name.to_owned()
}

/// The best beam's text so far and its length in tokens.
fn latest(parts: &[Partial]) -> (String, usize) {
    parts
        .iter()
        .rev()
        .find_map(|p| match p {
            Partial::GeneratedText { text, tokens } => Some((text.clone(), *tokens)),
            _ => None,
        })
        .unwrap_or_default()
}

/// A whole number from a form field; `None` for empty or anything else.
fn parse(s: &str) -> Option<usize> {
    s.trim().parse().ok()
}

fn rate(tokens: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        tokens as f64 / seconds
    } else {
        0.0
    }
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_names_and_numbers() {
        assert_eq!(
            pair_of_key("translation_en_to_fr"),
            Some(("en".into(), "fr".into()))
        );
        assert_eq!(pair_of_key("summarization"), None);
        assert_eq!(language_name("de"), "German");
        assert_eq!(language_name("ROMANCE"), "ROMANCE");
        assert_eq!(parse(" 4 "), Some(4));
        assert_eq!(parse(""), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(rate(10, 2.0), 5.0);
        assert_eq!(rate(10, 0.0), 0.0);
    }
}
