//! The text-classification demo: a text (and optionally a second one, for NLI and rerankers),
//! Classify, and the labels as bars, best first.

use lantern_core::protocol::{ClassifyInput, Labels, TaskInput, TaskOutput, TextInput};
use leptos::prelude::*;

use crate::Ui;

#[component]
pub fn TextClassification() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let examples = ui.demo.get_untracked().examples;
    let text = RwSignal::new(examples.first().cloned().unwrap_or_default());
    let pair = RwSignal::new(String::new());
    let labels = RwSignal::new(None::<Labels>);
    let pending = RwSignal::new(None::<u64>);
    // The answer to this component's latest request. (A failed request leaves it unanswered:
    // `ui.running` ends and the error panel says why.)
    Effect::new(move |_| {
        if let Some((id, TaskOutput::TextClassification(l))) = ui.output.get()
            && pending.get_untracked() == Some(id)
        {
            labels.set(Some(l));
        }
    });
    let run = move || {
        let text_pair = Some(pair.get_untracked()).filter(|p| !p.trim().is_empty());
        let input = TextInput {
            text: text.get_untracked(),
            text_pair,
        };
        labels.set(None);
        let id = ui.run_task(TaskInput::TextClassification(ClassifyInput {
            inputs: vec![input],
            top_k: None,
        }));
        pending.set(id);
    };
    let disabled = move || !ui.ready() || ui.running.get().is_some();
    view! {
        <section class="panel classify" aria-label="Text classification">
            <label for="text">"Text"</label>
            <textarea
                id="text"
                data-testid="text"
                rows="4"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                disabled=move || !ui.ready()
            ></textarea>
            <details>
                <summary>"Second text (a pair: NLI hypothesis, a passage for a query)"</summary>
                <textarea
                    id="text-pair"
                    data-testid="text-pair"
                    rows="2"
                    prop:value=move || pair.get()
                    on:input=move |ev| pair.set(event_target_value(&ev))
                    disabled=move || !ui.ready()
                ></textarea>
            </details>
            {(examples.len() > 1).then(|| view! {
                <div class="examples" aria-label="Examples">
                    {examples.iter().cloned().map(|e| {
                        let short: String = e.chars().take(40).collect();
                        view! {
                            <button
                                class="chip"
                                title=e.clone()
                                on:click=move |_| text.set(e.clone())
                                disabled=move || !ui.ready()
                            >
                                {short}
                            </button>
                        }
                    }).collect_view()}
                </div>
            })}
            <button class="primary" data-testid="run" on:click=move |_| run() disabled=disabled>
                "Classify"
            </button>
            <LabelBars labels=labels />
        </section>
    }
}

#[component]
fn LabelBars(labels: RwSignal<Option<Labels>>) -> impl IntoView {
    move || {
        labels.get().map(|l| {
            let ranked = l.results.into_iter().next().unwrap_or_default();
            view! {
                <ol class="labels" data-testid="labels" aria-live="polite">
                    {ranked.into_iter().map(|s| {
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
                {l.warnings.into_iter().map(|w| view! { <p class="muted warning">{w}</p> }).collect_view()}
            }
        })
    }
}
